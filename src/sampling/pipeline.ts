import type { DirectoryArtifactStore } from '../artifacts/store.js';
import type { CameraConfig } from '../config/schema.js';
import type { CaptureResult, SampleResult } from '../pipeline/types.js';
import { captureCamera } from '../video/capture-step.js';
import type { CaptureProgress } from '../video/record.js';
import type { SampleManifest } from './manifest.js';
import { sampleCapture, withWarmSampleDecoder } from './sample-step.js';

export interface CaptureAndSampleOptions {
  camera: CameraConfig;
  store: DirectoryArtifactStore;
  dataDir: string;
  workDir: string;
  runKey?: string;
  onCapture?: (p: CaptureProgress) => void;
  onSample?: (p: { decoded: number; t: number }) => void;
  signal?: AbortSignal;
}

/** Capture then sample, without Temporal: the CLI and the bench run exactly the activities' code. */
export async function captureAndSample(
  opts: CaptureAndSampleOptions,
): Promise<{ capture: CaptureResult; sample: SampleResult; manifest: SampleManifest; timings: { captureSec: number; sampleSec: number } }> {
  const t0 = performance.now();
  const capture = await withWarmSampleDecoder(opts.camera, (recording) =>
    captureCamera({ camera: opts.camera, store: opts.store, workDir: opts.workDir, onProgress: opts.onCapture, onRecording: recording, signal: opts.signal }),
  );
  const t1 = performance.now();
  const { manifest, ...sample } = await sampleCapture({
    camera: opts.camera,
    captured: capture,
    store: opts.store,
    dataDir: opts.dataDir,
    runKey: opts.runKey,
    onProgress: opts.onSample,
    signal: opts.signal,
  });
  return { capture, sample, manifest, timings: { captureSec: (t1 - t0) / 1000, sampleSec: (performance.now() - t1) / 1000 } };
}
