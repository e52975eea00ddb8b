import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { DirectoryArtifactStore } from '../artifacts/store.js';
import type { CameraConfig } from '../config/schema.js';
import type { CaptureResult, SampleResult } from '../pipeline/types.js';
import type { SampleManifest } from './manifest.js';
import { CLIP_EXTENSION } from '../video/record.js';
import type { WarmLease } from '../video/warm-decoder.js';
import { prewarmSampleDecode, sampleClip } from './sample.js';

export interface SampleStepOptions {
  camera: CameraConfig;
  captured: CaptureResult;
  store: DirectoryArtifactStore;
  dataDir: string;
  runKey?: string;
  onProgress?: (p: { decoded: number; t: number }) => void;
  signal?: AbortSignal;
}

export function cameraStateDir(dataDir: string, cameraId: string): string {
  return path.join(dataDir, 'cameras', cameraId);
}

/** How long a decoder warmed during a capture waits for the sample step that follows. */
const WARM_KEEP_MS = 60_000;

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

/** The sample step (same code for the activity and the CLI): sample the stored clip into a 'frames' artifact. */
export async function sampleCapture(opts: SampleStepOptions): Promise<SampleResult & { manifest: SampleManifest }> {
  const clip = await opts.store.localPath(opts.captured.clip);
  const outDir = await opts.store.tempDir(`sample-${opts.camera.id}`);
  try {
    const { manifest, written, stateSaved } = await sampleClip({
      clip,
      cameraId: opts.camera.id,
      source: opts.captured.source,
      sample: opts.camera.sample,
      fps: opts.camera.capture.fps,
      width: opts.camera.capture.width,
      clipFps: opts.captured.fps,
      clipWidth: opts.captured.width,
      // seconds sets the coverage slots; fall back to frames/fps if a capture could not time its window
      expectedSeconds: opts.captured.seconds > 0 ? opts.captured.seconds : opts.captured.frames / (opts.captured.fps || 10),
      outDir,
      cameraStateDir: cameraStateDir(opts.dataDir, opts.camera.id),
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
      manifest,
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
