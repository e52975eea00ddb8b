import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { newestChange, type DirectoryArtifactStore } from '../artifacts/store.js';
import type { CameraConfig } from '../config/schema.js';
import type { CaptureResult } from '../pipeline/types.js';
import type { ParsedHeader } from './ffmpeg.js';
import { recordSource, type CaptureProgress, type RecordAttempt } from './record.js';

export interface CaptureStepOptions {
  camera: CameraConfig;
  store: DirectoryArtifactStore;
  /** persistent per-run directory for segments (see captureWorkDir): what makes a retry resume */
  workDir: string;
  segmentSeconds?: number;
  /** keep the segments after storing the clip (tests) */
  keepWorkDir?: boolean;
  onProgress?: (p: CaptureProgress) => void;
  /** the recording ffmpeg has been spawned (see RecordOptions.onRecording) */
  onRecording?: (attempt: RecordAttempt) => void;
  /** the source's header, read before the window is recorded (see RecordOptions.onSourceHeader) */
  onSourceHeader?: (header: ParsedHeader, attempt: RecordAttempt) => void;
  signal?: AbortSignal;
}

/** `<dataDir>/capture/<workflowId>-<runId>`, made filesystem-safe. */
export function captureWorkDir(dataDir: string, key: { workflowId: string; runId: string }): string {
  const safe = (s: string): string => s.replace(/[^a-zA-Z0-9_.-]/g, '_');
  return path.join(dataDir, 'capture', `${safe(key.workflowId)}-${safe(key.runId)}`);
}

/**
 * Remove capture work directories (`<dataDir>/capture/*`: a run's recorded segments, kept so that a
 * retried capture resumes) that nothing has written to for `maxAgeMs`. A capture retried past its
 * outage window (`capture.outageRetryHours`, its schedule-to-close timeout) or a cancelled run
 * leaves its directory behind, and on an edge disk those pile up: segments are up to 30 s of video
 * each. The caller picks `maxAgeMs` longer than any camera's window, so a directory a retry may
 * still resume is never taken. Returns the removed paths.
 */
export async function sweepCaptureDirs(dataDir: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const root = path.join(dataDir, 'capture');
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const dir = path.join(root, name);
    if ((await newestChange(dir)) > now - maxAgeMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * The capture step (same code for the activity and the CLI): record the camera's window into
 * a clip and store it as an 'other' artifact. `frames`/`fps` in the result describe the clip as
 * recorded (native rate); the sample step resamples to capture.fps when it decodes.
 */
export async function captureCamera(opts: CaptureStepOptions): Promise<CaptureResult> {
  const { camera } = opts;
  const clip = await recordSource({
    source: camera.source,
    seconds: camera.capture.seconds,
    frames: camera.capture.frames,
    fps: camera.capture.fps,
    rtspTransport: camera.capture.rtspTransport,
    workDir: opts.workDir,
    segmentSeconds: opts.segmentSeconds,
    onProgress: opts.onProgress,
    onRecording: opts.onRecording,
    onSourceHeader: opts.onSourceHeader,
    signal: opts.signal,
  });
  // the clip is rebuilt from the segments on every attempt: the store may take it (a rename)
  const ref = await opts.store.putFile(clip.path, 'other', { move: !opts.keepWorkDir });
  if (!opts.keepWorkDir) await rm(opts.workDir, { recursive: true, force: true });
  return {
    clip: ref,
    frames: clip.frames,
    seconds: clip.seconds,
    width: clip.width,
    height: clip.height,
    // only where there is a turn: the results of cameras without one stay as they were
    ...(clip.rotation ? { rotation: clip.rotation } : {}),
    ...(clip.interlaced ? { interlaced: clip.interlaced } : {}),
    fps: clip.fps,
    ...(clip.footageSeconds !== undefined ? { footageSeconds: clip.footageSeconds } : {}),
    source: clip.source,
  };
}
