/** The `progress` query's answer. Pure types: imported by workflows. */

/** The workflow's warning when the camera moved (the outcome carries it too, as `cameraMoved`). */
export const CAMERA_MOVED_WARNING = 'camera moved: the scene changed wholesale; the run trains on the new scene';
export const STAGES = ['capture', 'sample', 'annotate', 'train', 'validate', 'approve', 'deploy'] as const;
export type Stage = (typeof STAGES)[number] | 'starting' | 'done';

export interface StageStatus {
  stage: (typeof STAGES)[number];
  state: 'pending' | 'running' | 'done' | 'skipped' | 'failed';
  startedAt?: string;
  endedAt?: string;
  /** a one-line summary of what the stage produced */
  summary?: string;
}

export interface TuneProgress {
  cameraId: string;
  stage: Stage;
  stages: StageStatus[];
  cameraMoved: boolean;
  awaitingApproval: boolean;
  outcome?: TuneOutcome['state'];
}

export interface TuneOutcome {
  /**
   * `skipped`: nothing to learn from this window (the teacher found none of the camera's classes in
   * any sampled frame: an empty scene): no model was trained, so there are no metrics or report.
   */
  state: 'deployed' | 'rejected' | 'rolled-back' | 'skipped';
  cameraId: string;
  workflowId: string;
  runId: string;
  modelVersion: string | null;
  /** absent when skipped */
  metrics?: {
    candidate: { map50: number; map5095: number; latencyMs: number };
    baseline: { map50: number; map5095: number; latencyMs: number; version: string };
    /**
     * The student before any tuning, on the same validation frames: where a deployed model is the
     * baseline, how far this camera's models have come. (Absent from outcomes of older runs.)
     */
    pretrained?: { map50: number; map5095: number };
    gain: number;
  };
  reason: string;
  /** the validation report (absent when skipped) */
  reportPath?: string;
  cameraMoved: boolean;
  /**
   * Regions that changed in most frames of this window and the previous run's with nothing moving
   * there (an on-screen clock?): candidates for the camera's sample.motionMask (SampleResult).
   * Absent when none.
   */
  restlessRegions?: Array<[number, number, number, number]>;
}
