import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { TuneOutcome, TuneProgress } from '../pipeline/progress.js';
import type { CameraOverrides } from '../pipeline/overrides.js';
import { GPU_TASK_QUEUE, tuneWorkflowId } from '../temporal/queues.js';
import { SA_CAMERA } from '../temporal/search-attributes.js';

export class TuneAlreadyRunningError extends Error {
  override name = 'TuneAlreadyRunningError';
}

/** A tuning that ended in failure, said in one line by its root cause (see failureSummary). */
export class TuneFailedError extends Error {
  override name = 'TuneFailedError';
}

/**
 * A failed run's cause in one line: which activity failed and the root cause's first line, e.g.
 * "train failed: trainer: dataset … has no labels at all". The SDK's own words ("Workflow execution
 * failed", "Activity task failed") are wrappers that name neither.
 */
export function failureSummary(err: unknown): string {
  let activity: string | undefined;
  let last: Error | undefined;
  for (let e = err as (Error & { cause?: unknown; activityType?: string }) | undefined; e instanceof Error; e = e.cause as typeof e) {
    if (e.name === 'ActivityFailure' && e.activityType) activity = e.activityType;
    last = e;
  }
  const message = (last?.message || String(err)).split('\n')[0]!;
  return activity ? `${activity} failed: ${message}` : message;
}

export interface StartedTune {
  handle: WorkflowHandle;
  workflowId: string;
  runId: string;
  attached: boolean;
}

/**
 * Start `tuneCamera` with ID tune/<cameraId>. A second start while one runs is refused
 * (TuneAlreadyRunningError) unless `attach`, which returns the running one.
 */
export async function startTune(client: Client, cameraId: string, overrides: CameraOverrides = {}, attach = false, retried = false): Promise<StartedTune> {
  const workflowId = tuneWorkflowId(cameraId);
  try {
    const handle = await client.workflow.start('tuneCamera', {
      taskQueue: GPU_TASK_QUEUE,
      workflowId,
      args: [{ cameraId, ...overrides }],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [{ key: SA_CAMERA, value: cameraId }],
    });
    return { handle, workflowId, runId: handle.firstExecutionRunId, attached: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const running = client.workflow.getHandle(workflowId);
    const desc = await running.describe();
    // it ended between our start and the describe: start again rather than attach to a finished run
    if (desc.status.name !== 'RUNNING' && !retried) return startTune(client, cameraId, overrides, attach, true);
    if (!attach) {
      throw new TuneAlreadyRunningError(
        `a tuning of camera "${cameraId}" is already running (workflow ${workflowId}, run ${desc.runId}, started ${desc.startTime.toISOString()}). ` +
          `Use "autotuner tune ${cameraId} --wait" to follow it or "autotuner status ${cameraId}" to see where it is.`,
      );
    }
    return { handle: running, workflowId, runId: desc.runId, attached: true };
  }
}

export interface LiveStatus {
  workflowId: string;
  runId: string;
  status: string;
  progress?: TuneProgress;
  /** heartbeat details of the activities running now (epoch, frames done, ...) */
  activities: { type: string; attempt: number; details?: unknown; lastFailure?: string }[];
}

/** How long a status waits for the workflow's worker to answer its query. */
const QUERY_WAIT_MS = 5000;

export async function liveStatus(client: Client, cameraId: string): Promise<LiveStatus> {
  const handle = client.workflow.getHandle(tuneWorkflowId(cameraId));
  const desc = await handle.describe();
  let progress: TuneProgress | undefined;
  try {
    // with no worker to answer, a query waits for one: a status must not hang on it (the call's
    // deadline ends it on the server's side too, where a timer here would leave it running)
    progress = await client.withDeadline(Date.now() + QUERY_WAIT_MS, () => handle.query<TuneProgress>('progress'));
  } catch {
    // no worker to answer (e.g. all stopped): the rest of the status is still useful
  }
  const pending = desc.raw.pendingActivities ?? [];
  const { defaultPayloadConverter } = await import('@temporalio/common');
  const activities = pending.map((a) => {
    let details: unknown;
    const payloads = a.heartbeatDetails?.payloads;
    if (payloads && payloads.length > 0) {
      try {
        details = defaultPayloadConverter.fromPayload(payloads[0]!);
      } catch {
        details = undefined;
      }
    }
    return {
      type: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      details,
      lastFailure: a.lastFailure?.message ?? undefined,
    };
  });
  return { workflowId: desc.workflowId, runId: desc.runId, status: desc.status.name, progress, activities };
}

/** A running activity's heartbeat details in words ('' when they say nothing we know how to show). */
export function formatActivityDetails(details: unknown): string {
  if (!details || typeof details !== 'object') return '';
  const d = details as Record<string, unknown>;
  if (d.event === 'progress' && typeof d.epoch === 'number' && typeof d.step === 'number') {
    return `epoch ${d.epoch}/${d.epochs ?? '?'} ${d.phase === 'val' ? 'validation' : 'step'} ${d.step}/${d.steps ?? '?'}`;
  }
  if (typeof d.epoch === 'number') return `epoch ${d.epoch}/${d.epochs ?? '?'}${typeof d.loss === 'number' ? ` loss ${d.loss.toFixed(4)}` : ''}`;
  if (typeof d.done === 'number') return `${d.done}/${d.total ?? '?'}`;
  if (typeof d.framesSoFar === 'number') return `${d.framesSoFar} frames recorded`;
  if (typeof d.decoded === 'number') return `${d.decoded} frames scored`;
  return '';
}

export function formatProgressLine(s: LiveStatus): string {
  const p = s.progress;
  const stage = p?.stage ?? s.status;
  const act = s.activities[0];
  const words = formatActivityDetails(act?.details);
  const detail = words ? ` ${words}` : '';
  const retry = act && act.attempt > 1 ? ` (attempt ${act.attempt}${act.lastFailure ? `: ${act.lastFailure.split('\n')[0]}` : ''})` : '';
  const done = p?.stages.filter((x) => x.state === 'done').length ?? 0;
  return `[${done}/${p?.stages.length ?? 7}] ${stage}${detail}${retry}`;
}

/** Wait for the result, calling onProgress every interval with a progress line. */
export async function waitForTune(
  client: Client,
  cameraId: string,
  handle: WorkflowHandle,
  onProgress?: (line: string, status: LiveStatus) => void,
  intervalMs = 2000,
): Promise<TuneOutcome> {
  const result = (handle.result() as Promise<TuneOutcome>).catch((err: unknown) => {
    throw new TuneFailedError(`${tuneWorkflowId(cameraId)} failed: ${failureSummary(err)}`, { cause: err });
  });
  let finished = false;
  void result.finally(() => (finished = true)).catch(() => undefined);
  let last = '';
  while (!finished) {
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
    if (finished || !onProgress) continue;
    try {
      const s = await liveStatus(client, cameraId);
      const line = formatProgressLine(s);
      if (line !== last) onProgress(line, s);
      last = line;
    } catch {
      /* transient */
    }
  }
  return result;
}
