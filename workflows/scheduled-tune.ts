/**
 * What a per-camera schedule starts. Schedules suffix their workflow IDs with a timestamp, so the
 * one-tuning-per-camera guarantee comes from starting tuneCamera as a child with the fixed ID
 * `tune/<cameraId>`: if a manual run holds that ID, this run skips instead of overlapping it.
 */
import { ApplicationFailure, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { tuneWorkflowId, GPU_TASK_QUEUE } from '../src/temporal/queues.js';
import type { TuneOutcome } from '../src/pipeline/progress.js';
import { tuneCamera } from './tune-camera.js';

export type ScheduledTuneResult = { skipped: true; reason: string } | { skipped: false; outcome: TuneOutcome };

export async function scheduledTune(input: { cameraId: string }): Promise<ScheduledTuneResult> {
  if (!input?.cameraId) throw ApplicationFailure.nonRetryable('scheduledTune needs {"cameraId"}', 'ConfigError');
  try {
    const child = await startChild(tuneCamera, {
      workflowId: tuneWorkflowId(input.cameraId),
      taskQueue: GPU_TASK_QUEUE,
      args: [{ cameraId: input.cameraId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return { skipped: false, outcome: await child.result() };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { skipped: true, reason: `a tuning of camera ${input.cameraId} is already running` };
    }
    throw err;
  }
}
