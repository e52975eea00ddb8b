/**
 * tuneCamera: capture → sample → annotate → train → validate → (approve) → deploy.
 * Deterministic workflow code: only @temporalio/workflow and type-only imports of the domain.
 */
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityInterface } from '../src/pipeline/activity-interface.js';
import type { CameraOverrides } from '../src/pipeline/overrides.js';
import type { RunContext } from '../src/pipeline/types.js';
import { CAMERA_MOVED_WARNING, STAGES, type Stage, type StageStatus, type TuneOutcome, type TuneProgress } from '../src/pipeline/progress.js';
import { SA_CAMERA, SA_CAMERA_MOVED, SA_GAIN, SA_OUTCOME, SA_STAGE } from '../src/temporal/search-attributes.js';
import { edgeTaskQueue, GPU_TASK_QUEUE } from '../src/temporal/queues.js';

export type TuneInput = {
  cameraId: string;
  /**
   * How fast a dead worker's long activity is noticed and retried elsewhere (default 180 s).
   * Short values make crash recovery quicker at the cost of more heartbeat traffic.
   */
  heartbeatTimeoutSeconds?: number;
} & CameraOverrides;

export interface ApprovalDecision {
  approve: boolean;
  by?: string;
  reason?: string;
}

export const progressQuery = defineQuery<TuneProgress>('progress');
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');

const NON_RETRYABLE_INPUT = ['SourceInvalid', 'EmptySource', 'ModelInvalid', 'DatasetInvalid', 'TrainerInputError', 'ConfigError'];

// Control activities run where the config lives (the gpu/central worker): cheap, retried a few times.
const control = proxyActivities<ActivityInterface>({
  taskQueue: GPU_TASK_QUEUE,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
});

/** `1 frame`, `2 frames`: stage summaries and reasons are read by people (status, the Web UI). */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export async function tuneCamera(input: TuneInput): Promise<TuneOutcome> {
  if (!input || typeof input.cameraId !== 'string' || input.cameraId === '') {
    throw ApplicationFailure.nonRetryable('tuneCamera needs {"cameraId": "<id from the config>"}', 'ConfigError');
  }
  const info = workflowInfo();
  const { cameraId, heartbeatTimeoutSeconds, ...overrides } = input;
  const heartbeatTimeout = `${heartbeatTimeoutSeconds ?? 180} seconds`;

  const stages: StageStatus[] = STAGES.map((stage) => ({ stage, state: 'pending' }));
  const progress: TuneProgress = { cameraId, stage: 'starting', stages, cameraMoved: false, awaitingApproval: false };
  let decision: ApprovalDecision | undefined;
  // A decision counts only while a candidate waits for it: one sent earlier (during the training,
  // say) must not approve or reject a model nobody has looked at yet. (Runs started before this
  // rule, whose histories have no marker for it, keep taking any decision.)
  const onlyWhileAwaiting = patched('approval-only-while-awaiting');
  setHandler(progressQuery, () => progress);
  setHandler(approvalSignal, (d) => {
    if (progress.awaitingApproval || !onlyWhileAwaiting) decision = d;
    else log.warn('approval signal ignored: no candidate waits for approval', { stage: progress.stage, approve: d.approve, by: d.by });
  });
  upsertSearchAttributes([
    { key: SA_CAMERA, value: cameraId },
    { key: SA_STAGE, value: 'starting' },
  ]);

  const stageOf = (s: (typeof STAGES)[number]) => stages.find((x) => x.stage === s)!;
  async function run<T>(stage: (typeof STAGES)[number], fn: () => Promise<T>, summarize: (r: T) => string): Promise<T> {
    const st = stageOf(stage);
    progress.stage = stage as Stage;
    st.state = 'running';
    st.startedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: SA_STAGE, value: stage }]);
    try {
      const result = await fn();
      st.state = 'done';
      st.summary = summarize(result);
      return result;
    } catch (err) {
      st.state = 'failed';
      upsertSearchAttributes([{ key: SA_OUTCOME, value: 'failed' }]);
      throw err;
    } finally {
      st.endedAt = new Date().toISOString();
    }
  }

  const camera = await control.resolveCamera(cameraId, overrides);
  const ctx: RunContext = { cameraId, workflowId: info.workflowId, runId: info.runId, camera };
  const edgeQueue = edgeTaskQueue(camera.site);

  // An unreachable camera is an edge outage: retried with backoff for as long as the camera allows.
  const edgeCapture = proxyActivities<ActivityInterface>({
    taskQueue: edgeQueue,
    scheduleToCloseTimeout: `${camera.capture.outageRetryHours} hours`,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout,
    retry: { initialInterval: '15 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
  });
  const edge = proxyActivities<ActivityInterface>({
    taskQueue: edgeQueue,
    startToCloseTimeout: '1 hour',
    heartbeatTimeout,
    retry: { initialInterval: '10 seconds', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
  });
  // Long GPU work heartbeats; a crashed worker's attempt is retried and resumes from its heartbeat/checkpoint.
  const gpu = proxyActivities<ActivityInterface>({
    taskQueue: GPU_TASK_QUEUE,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout,
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
  });

  const captured = await run('capture', () => edgeCapture.capture(ctx), (r) => `${r.frames} frames, ${r.seconds.toFixed(1)} s at ${r.fps} fps`);
  const sampled = await run('sample', () => edge.sample(ctx, captured), (r) =>
    `${r.selected} of ${r.decoded} frames (${r.train} train / ${r.val} val)${r.cameraMoved ? ', camera moved' : ''}${r.restlessRegions?.length ? ', a motion mask suggested' : ''}`,
  );
  // (a value in the outcome only: no command depends on it, so older histories replay as they ran)
  const restless = sampled.restlessRegions?.length ? { restlessRegions: sampled.restlessRegions } : {};
  if (sampled.cameraMoved) {
    progress.cameraMoved = true;
    upsertSearchAttributes([{ key: SA_CAMERA_MOVED, value: true }]);
    log.warn(CAMERA_MOVED_WARNING, { reason: sampled.cameraMovedReason });
  }
  const annotated = await run('annotate', () => gpu.annotate(ctx, sampled), (r) => `${count(r.labels, 'label')} on ${count(r.frames, 'frame')}`);
  // Nothing to learn from: the teacher saw none of the camera's classes in any sampled frame (an
  // empty scene: a night, a closed site), or the frames left no held-out time block to check a
  // model on, or none to train on (a scene so still that one frame stands for it). The run ends as
  // skipped, not failed: a later window may do. (Before, the trainer refused the dataset, or the
  // validation after a whole training, and the run failed; runs started before this rule, whose
  // histories have no marker for it, still do.)
  const classes = camera.classes.join(', ');
  const sampledFrames = count(annotated.frames, 'sampled frame');
  const skipReason =
    annotated.labels === 0
      ? `nothing to learn: the teacher found no ${classes} in the ${sampledFrames} (an empty scene); a window with them in view will train`
      : sampled.train === 0 || sampled.val === 0
        ? `too little to learn from: the ${sampledFrames} (${sampled.train} train, ${sampled.val} validation) leave no ${sampled.train === 0 ? 'frame to train on' : 'held-out frame to check a model on'} (a window too short or too still); a longer or busier window will train`
        : null;
  if (skipReason && patched('empty-scene-skips')) {
    for (const s of ['train', 'validate', 'approve', 'deploy'] as const) stageOf(s).state = 'skipped';
    const skipped: TuneOutcome = {
      state: 'skipped',
      cameraId,
      workflowId: info.workflowId,
      runId: info.runId,
      modelVersion: null,
      reason: skipReason,
      cameraMoved: sampled.cameraMoved,
      ...restless,
    };
    log.info('run skipped', { reason: skipReason });
    progress.stage = 'done';
    progress.outcome = 'skipped';
    upsertSearchAttributes([
      { key: SA_STAGE, value: 'done' },
      { key: SA_OUTCOME, value: 'skipped' },
    ]);
    return skipped;
  }
  const trained = await run('train', () => gpu.train(ctx, annotated), (r) => `${r.epochs} epochs`);
  const validated = await run('validate', () => gpu.validate(ctx, trained, annotated), (r) =>
    `${r.accepted ? 'accepted' : 'rejected'}: mAP@0.5 ${r.candidate.map50.toFixed(3)}, mAP@[.5:.95] ${r.candidate.map5095.toFixed(3)} (gate gain ${r.gain >= 0 ? '+' : ''}${r.gain.toFixed(3)})`,
  );
  upsertSearchAttributes([{ key: SA_GAIN, value: validated.gain }]);

  let accepted = validated.accepted;
  let reason = validated.reason;
  const approve = stageOf('approve');
  if (accepted && camera.gate.manualApproval) {
    progress.stage = 'approve';
    progress.awaitingApproval = true;
    approve.state = 'running';
    approve.startedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: SA_STAGE, value: 'approve' }]);
    const decided = await condition(() => decision !== undefined, `${camera.gate.approvalTimeoutMinutes} minutes`);
    progress.awaitingApproval = false;
    approve.endedAt = new Date().toISOString();
    approve.state = 'done';
    if (!decided) {
      accepted = false;
      reason = `no approval within ${camera.gate.approvalTimeoutMinutes} minutes`;
    } else if (!decision!.approve) {
      accepted = false;
      reason = `rejected by ${decision!.by ?? 'an operator'}${decision!.reason ? `: ${decision!.reason}` : ''}`;
    }
    approve.summary = accepted ? `approved by ${decision?.by ?? 'an operator'}` : reason;
  } else {
    approve.state = 'skipped';
  }

  const baseline = validated.deployed ?? { ...validated.pretrained, version: 'pretrained' };
  const outcome: TuneOutcome = {
    state: 'rejected',
    cameraId,
    workflowId: info.workflowId,
    runId: info.runId,
    modelVersion: validated.version,
    metrics: {
      candidate: { map50: validated.candidate.map50, map5095: validated.candidate.map5095, latencyMs: validated.candidate.latencyMs },
      baseline: { map50: baseline.map50, map5095: baseline.map5095, latencyMs: baseline.latencyMs, version: baseline.version },
      pretrained: { map50: validated.pretrained.map50, map5095: validated.pretrained.map5095 },
      gain: validated.gain,
    },
    reason,
    reportPath: validated.reportPath,
    cameraMoved: sampled.cameraMoved,
    ...restless,
  };

  if (!accepted) {
    stageOf('deploy').state = 'skipped';
    await control.markRejected(cameraId, validated.version, reason);
  } else {
    const deployed = await run('deploy', () => edge.deploy(ctx, validated), (r) => `${r.state} ${r.version}`);
    outcome.state = deployed.state;
    outcome.reason = deployed.state === 'deployed' ? reason : deployed.message;
  }
  progress.stage = 'done';
  progress.outcome = outcome.state;
  upsertSearchAttributes([
    { key: SA_STAGE, value: 'done' },
    { key: SA_OUTCOME, value: outcome.state },
  ]);
  return outcome;
}
