/** The activity surface the workflow calls, by name. Type-only for workflows. */
import type { CameraConfig } from '../config/schema.js';
import type { CameraOverrides } from './overrides.js';
import type {
  AnnotateResult,
  CaptureResult,
  DeployResult,
  RunContext,
  SampleResult,
  TrainResult,
  ValidateResult,
} from './types.js';

export interface ActivityInterface {
  resolveCamera(cameraId: string, overrides: CameraOverrides): Promise<CameraConfig>;
  markRejected(cameraId: string, version: string, reason: string): Promise<void>;
  capture(ctx: RunContext): Promise<CaptureResult>;
  sample(ctx: RunContext, captured: CaptureResult): Promise<SampleResult>;
  annotate(ctx: RunContext, sampled: SampleResult): Promise<AnnotateResult>;
  train(ctx: RunContext, annotated: AnnotateResult): Promise<TrainResult>;
  validate(ctx: RunContext, trained: TrainResult, annotated: AnnotateResult): Promise<ValidateResult>;
  deploy(ctx: RunContext, validated: ValidateResult): Promise<DeployResult>;
}
