/** Task queue names (DESIGN.md: one gpu queue, one edge queue per site). Pure: safe in workflows. */
export const GPU_TASK_QUEUE = 'autotuner-gpu';
export const CONTROL_TASK_QUEUE = 'autotuner-control';
export function edgeTaskQueue(site: string): string {
  return `autotuner-edge-${site}`;
}
export function tuneWorkflowId(cameraId: string): string {
  return `tune/${cameraId}`;
}
export function scheduleId(cameraId: string): string {
  return `autotune/${cameraId}`;
}
