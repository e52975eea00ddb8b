import type { DirectoryArtifactStore } from '../artifacts/store.js';
import type { CameraConfig } from '../config/schema.js';
import type { CaptureResult, SampleResult } from '../pipeline/types.js';
import type { CaptureProgress } from '../video/record.js';
import type { SampleManifest } from './manifest.js';
import { captureSamplingAhead } from './sample-ahead.js';
import { sampleCapture, type CameraStateUse } from './sample-step.js';

export interface CaptureAndSampleOptions {
  camera: CameraConfig;
  store: DirectoryArtifactStore;
  dataDir: string;
  workDir: string;
  runKey?: string;
  /** see SampleStepOptions.cameraState (default `update`, as the activities) */
  cameraState?: CameraStateUse;
  onCapture?: (p: CaptureProgress) => void;
  onSample?: (p: { decoded: number; t: number }) => void;
  signal?: AbortSignal;
}

/** Capture then sample, without Temporal: the CLI and the bench run exactly the activities' code. */
export async function captureAndSample(
  opts: CaptureAndSampleOptions,
): Promise<{ capture: CaptureResult; sample: SampleResult; manifest: SampleManifest; timings: { captureSec: number; sampleSec: number } }> {
  const t0 = performance.now();
  // a local file is sampled while its clip is recorded; the sample step below then takes that sample
  const capture = await captureSamplingAhead({
    camera: opts.camera,
    store: opts.store,
    workDir: opts.workDir,
    dataDir: opts.dataDir,
    runKey: opts.runKey,
    cameraState: opts.cameraState,
    onProgress: opts.onCapture,
    onSample: opts.onSample,
    signal: opts.signal,
  });
  const t1 = performance.now();
  const { manifest, ...sample } = await sampleCapture({
    camera: opts.camera,
    captured: capture,
    store: opts.store,
    dataDir: opts.dataDir,
    runKey: opts.runKey,
    cameraState: opts.cameraState,
    onProgress: opts.onSample,
    signal: opts.signal,
  });
  return { capture, sample, manifest, timings: { captureSec: (t1 - t0) / 1000, sampleSec: (performance.now() - t1) / 1000 } };
}
