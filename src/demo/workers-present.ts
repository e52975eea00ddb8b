import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

// CommonJS package: named ESM imports of its namespaces do not resolve.
const { temporal } = proto;

/** Does any worker poll this task queue right now? */
export async function hasPollers(client: Client, namespace: string, taskQueue: string): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (res.pollers ?? []).length > 0;
}
