import type { Client, WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';

// CommonJS package: named ESM imports of its namespaces do not resolve.
const { temporal } = proto;

/** An idle worker long-polls for up to a minute, so a live one has polled within ~70 s. */
const LIVE_POLLER_WINDOW_MS = 70_000;

/** Does a worker that looks alive poll this task queue? (The server remembers dead pollers for minutes.) */
export async function hasPollers(client: Client, namespace: string, taskQueue: string): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  return (res.pollers ?? []).some((p) => {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    return now - seconds * 1000 < LIVE_POLLER_WINDOW_MS;
  });
}

/**
 * True once a worker has processed the workflow's first task. A poller that merely looked alive
 * (it died a moment ago) never gets there, and the caller can start its own workers.
 */
export async function workflowPickedUp(handle: WorkflowHandle, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING' || (d.historyLength ?? 0) > 3) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
