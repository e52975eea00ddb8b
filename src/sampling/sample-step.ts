import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { DirectoryArtifactStore } from '../artifacts/store.js';
import type { CameraConfig } from '../config/schema.js';
import type { CaptureResult, SampleResult } from '../pipeline/types.js';
import type { SampleManifest } from './manifest.js';
import { deinterlaceFor } from '../video/ffmpeg.js';
import { CLIP_EXTENSION } from '../video/record.js';
import type { WarmLease } from '../video/warm-decoder.js';
import { prewarmSampleDecode, sampleClip, type SampleClipOptions } from './sample.js';

/**
 * What a sample does with the camera's background state (`<dataDir>/cameras/<id>`, the camera-moved
 * check across runs): `update` compares with the previous run's background and leaves its own for
 * the next run (the activities); `compare` only compares (a trial capture of the camera from the
 * command line); `ignore` neither (a trial of another source with a camera's settings).
 */
export type CameraStateUse = 'update' | 'compare' | 'ignore';

export interface SampleStepOptions {
  camera: CameraConfig;
  captured: CaptureResult;
  store: DirectoryArtifactStore;
  dataDir: string;
  runKey?: string;
  /** default `update` */
  cameraState?: CameraStateUse;
  onProgress?: (p: { decoded: number; t: number }) => void;
  signal?: AbortSignal;
}

export function cameraStateDir(dataDir: string, cameraId: string): string {
  return path.join(dataDir, 'cameras', cameraId);
}

/** How long a decoder warmed during a capture waits for the sample step that follows. */
export const WARM_KEEP_MS = 60_000;

/**
 * Run a capture while the sample step's ffmpeg starts alongside it (src/video/warm-decoder.ts):
 * the sample step that follows on this worker takes it, started, instead of waiting for an
 * ffmpeg to load. `capture` calls `recording` once its own ffmpeg is spawned, so the capture's
 * start comes first. The decoder is kept a minute after a capture that succeeds, stopped after
 * one that fails.
 */
export async function withWarmSampleDecoder<T>(camera: CameraConfig, capture: (recording: () => void) => Promise<T>): Promise<T> {
  const warm: { lease: Promise<WarmLease | null> | null } = { lease: null };
  const recording = (): void => {
    warm.lease ??= prewarmSampleDecode({ fps: camera.capture.fps, width: camera.capture.width, clipExt: CLIP_EXTENSION }).catch(() => null);
  };
  let ok = false;
  try {
    const result = await capture(recording);
    ok = true;
    return result;
  } finally {
    (await warm.lease)?.release(ok ? WARM_KEEP_MS : 0);
  }
}

/** What the sample step returns: the activity's result plus the manifest (the CLI prints it). */
export type SampleStepResult = SampleResult & { manifest: SampleManifest };

/**
 * Samples this worker took while their clip was being recorded (sample-ahead.ts), waiting for
 * their sample step. Small (refs and counts); an entry nobody takes expires.
 */
const sampledAhead = new Map<string, { result: SampleStepResult; expires: number }>();
const AHEAD_KEEP_MS = 10 * 60_000;
const AHEAD_MAX = 8;
let aheadKept = 0;
let aheadTaken = 0;

/**
 * Everything a sample of a capture depends on: the run (its background state), the clip, the
 * camera's capture and sample settings, and the window as recorded. A sample taken ahead is the
 * step's only where all of them are equal.
 */
export function sampleKey(camera: CameraConfig, captured: CaptureResult, runKey: string | undefined, cameraState: CameraStateUse = 'update'): string {
  const c = camera.capture;
  return JSON.stringify([runKey ?? '', cameraState, captured.clip.sha256, camera.id, camera.sample, c.fps ?? null, c.width ?? null, c.deinterlace, captured.interlaced ?? null, captured.seconds, captured.fps, captured.width, captured.source]);
}

/** Keep a sample taken ahead for the sample step of `key` (sampleKey). */
export function keepSampledAhead(key: string, result: SampleStepResult): void {
  const now = Date.now();
  for (const [k, e] of sampledAhead) if (e.expires < now) sampledAhead.delete(k);
  while (sampledAhead.size >= AHEAD_MAX) sampledAhead.delete(sampledAhead.keys().next().value!);
  sampledAhead.set(key, { result, expires: now + AHEAD_KEEP_MS });
  aheadKept++;
}

/** Samples kept ahead, taken by their step, and still waiting (tests, bench). */
export function sampledAheadStats(): { kept: number; taken: number; waiting: number } {
  return { kept: aheadKept, taken: aheadTaken, waiting: sampledAhead.size };
}

async function takeSampledAhead(opts: SampleStepOptions): Promise<SampleStepResult | null> {
  const key = sampleKey(opts.camera, opts.captured, opts.runKey, opts.cameraState);
  const entry = sampledAhead.get(key);
  if (!entry) return null;
  sampledAhead.delete(key);
  if (entry.expires < Date.now()) return null;
  // still in the store (nothing removed it meanwhile): else the clip is sampled again
  if (!(await opts.store.localPath(entry.result.frames).then(() => true, () => false))) return null;
  aheadTaken++;
  return entry.result;
}

/**
 * The sample step (same code for the activity and the CLI): sample the stored clip into a 'frames'
 * artifact. Where this worker already sampled the clip's window while it was recorded
 * (sample-ahead.ts) with the same settings, that result is the step's.
 */
export async function sampleCapture(opts: SampleStepOptions): Promise<SampleStepResult> {
  const ahead = await takeSampledAhead(opts);
  if (ahead) return ahead;
  const { captured, ...rest } = opts;
  return sampleToStore({
    ...rest,
    clip: await opts.store.localPath(captured.clip),
    source: captured.source,
    clipFps: captured.fps,
    clipWidth: captured.width,
    rotate: captured.rotation ?? 0,
    deinterlace: deinterlaceFor(opts.camera.capture.deinterlace, captured.interlaced),
    // a file with gaps: its video is sampled, the gaps left out (the capture checked it is whole)
    ...(captured.footageSeconds !== undefined ? { skipGaps: true, checkTruncation: false } : {}),
    // seconds sets the coverage slots; fall back to frames/fps if a capture could not time its window
    expectedSeconds: captured.footageSeconds ?? (captured.seconds > 0 ? captured.seconds : captured.frames / (captured.fps || 10)),
  });
}

/** sampleClip into the store's scratch, then the frames directory into the store. */
export async function sampleToStore(
  opts: Omit<SampleStepOptions, 'captured'> &
    Pick<SampleClipOptions, 'clip' | 'clipFps' | 'clipWidth' | 'rotate' | 'deinterlace' | 'skipGaps' | 'expectedSeconds' | 'maxSeconds' | 'checkTruncation' | 'alwaysGrid'> & { source: string },
): Promise<SampleStepResult> {
  const outDir = await opts.store.tempDir(`sample-${opts.camera.id}`);
  try {
    const { manifest, written, stateSaved } = await sampleClip({
      clip: opts.clip,
      cameraId: opts.camera.id,
      source: opts.source,
      sample: opts.camera.sample,
      fps: opts.camera.capture.fps,
      width: opts.camera.capture.width,
      clipFps: opts.clipFps,
      clipWidth: opts.clipWidth,
      rotate: opts.rotate,
      deinterlace: opts.deinterlace,
      skipGaps: opts.skipGaps,
      expectedSeconds: opts.expectedSeconds,
      maxSeconds: opts.maxSeconds,
      checkTruncation: opts.checkTruncation,
      alwaysGrid: opts.alwaysGrid,
      outDir,
      cameraStateDir: opts.cameraState === 'ignore' ? undefined : cameraStateDir(opts.dataDir, opts.camera.id),
      saveState: (opts.cameraState ?? 'update') === 'update',
      runKey: opts.runKey,
      overlapStateSave: true,
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
    // outDir is the store's own scratch (same filesystem): renamed into place, not copied
    // the camera's background state is saved meanwhile; the step is done when both are
    const [stored, saved] = await Promise.allSettled([opts.store.putDir(outDir, 'frames', { move: true, known: written }), stateSaved]);
    if (stored.status === 'rejected') throw stored.reason;
    if (saved.status === 'rejected') throw saved.reason;
    const frames = stored.value;
    const s = manifest.stats;
    return {
      frames,
      decoded: s.decoded,
      selected: s.selected,
      train: s.train,
      val: s.val,
      emptyKept: s.emptyKept,
      cameraMoved: manifest.cameraMoved,
      ...(manifest.cameraMoved ? { cameraMovedReason: manifest.cameraMovedReason } : {}),
      ...(s.restlessRegions?.length ? { restlessRegions: s.restlessRegions } : {}),
      manifest,
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
