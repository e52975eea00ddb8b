/**
 * Inputs and outputs of the six pipeline activities. Everything here travels through Temporal
 * history, so it stays small: frames, datasets and models are ArtifactRefs.
 * Workflows import this file type-only.
 */
import type { ArtifactRef } from '../artifacts/ref.js';
import type { CameraConfig } from '../config/schema.js';

/** What every stage knows about the run. */
export interface RunContext {
  cameraId: string;
  /** Temporal workflow id + run id: used to key per-run scratch space and idempotency */
  workflowId: string;
  runId: string;
  /** the resolved camera config (config file + workflow overrides), frozen at the start of the run */
  camera: CameraConfig;
}

export interface CaptureResult {
  /** the recorded window (a video file, stream-copied or re-encoded), kind 'other' */
  clip: ArtifactRef;
  frames: number;
  seconds: number;
  /** as shown (after `rotation`) */
  width: number;
  height: number;
  /**
   * Clockwise degrees the clip's pixels must be turned to be shown upright (the source's display
   * matrix, as phone videos carry); absent for none. The sample step applies it: a stream copy
   * into the clip's Matroska keeps the matrix on ffmpeg 7 but not on 5.1.
   */
  rotation?: 90 | 180 | 270;
  /**
   * The source is interlaced (its header says so), this field first: the sample step
   * deinterlaces it unless the camera's capture.deinterlace is "never". Absent for progressive video.
   */
  interlaced?: 'tff' | 'bff';
  /** the clip's own frame rate (a file's nominal rate where gaps pull its average down) */
  fps: number;
  /**
   * Seconds of video in the window, where that is well under `seconds`: a file with gaps (an
   * NVR's export of motion-triggered recording). The sample step then samples the video there is,
   * gaps left out. Absent otherwise.
   */
  footageSeconds?: number;
  /** source with credentials redacted */
  source: string;
}

export interface SampleResult {
  /** directory: images/<name>.jpg + manifest.json (see src/sampling/manifest.ts) */
  frames: ArtifactRef;
  decoded: number;
  selected: number;
  train: number;
  val: number;
  emptyKept: number;
  cameraMoved: boolean;
  /** why the sampler thinks the camera moved (empty when it did not) */
  cameraMovedReason?: string;
  /**
   * Regions that changed in most frames of this run and the previous one with nothing moving
   * there (an on-screen clock?): candidates for the camera's sample.motionMask. Absent when none.
   * In the activity's result, so the Web UI shows it with the run.
   */
  restlessRegions?: Array<[number, number, number, number]>;
}

export interface AnnotateResult {
  /** YOLO-layout dataset directory (DESIGN.md) */
  dataset: ArtifactRef;
  frames: number;
  labels: number;
  /** label counts per class name */
  perClass: Record<string, number>;
  teacher: string;
  suppressedStatic: number;
  seconds: number;
}

export interface TrainResult {
  model: ArtifactRef;
  checkpoint: ArtifactRef;
  epochs: number;
  metrics: Record<string, number>;
  trainer: string;
  trainerArgs: string[];
  /** the pre-trained student exported at the student's imgsz before fine-tuning: the gate's baseline when nothing is deployed */
  pretrained?: ArtifactRef;
}

export interface ModelMetrics {
  map50: number;
  map5095: number;
  perClass: Record<string, { ap50: number; ap5095: number }>;
  latencyMs: number;
  /** number of validation frames the metrics were computed on */
  frames?: number;
}

export interface ValidateResult {
  /** the version created in the registry for the candidate (state candidate/rejected) */
  version: string;
  candidate: ModelMetrics;
  deployed: (ModelMetrics & { version: string }) | null;
  pretrained: ModelMetrics;
  /** against human ground truth, when configured */
  groundTruth?: { candidate: ModelMetrics; pretrained: ModelMetrics };
  accepted: boolean;
  reason: string;
  /** absolute mAP@0.5 gain of the candidate over the deployed (or pre-trained) model */
  gain: number;
  report: ArtifactRef;
  /** local path/URL of the HTML report for humans */
  reportPath: string;
}

export interface DeployResult {
  version: string;
  state: 'deployed' | 'rolled-back';
  modelPath: string;
  previousVersion: string | null;
  message: string;
}
