import { createHash } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { AutotunerConfig, CameraConfig } from '../config/schema.js';
import { GPU_TASK_QUEUE, scheduleId } from '../temporal/queues.js';

const PREFIX = 'autotune/';

export interface SyncChange {
  scheduleId: string;
  cameraId: string;
  change: 'created' | 'updated' | 'paused' | 'unpaused' | 'deleted' | 'unchanged';
}

type ScheduleSpec = NonNullable<CameraConfig['schedule']>;

function desiredAction(cameraId: string, specHash: string): ScheduleOptionsAction {
  return {
    type: 'startWorkflow',
    workflowType: 'scheduledTune',
    args: [{ cameraId }],
    taskQueue: GPU_TASK_QUEUE,
    workflowId: `autotune/${cameraId}/run`,
    // The hash of what the config asked for: cron expressions are compiled into calendars by the
    // server, so comparing this hash is how `sync` knows whether anything changed.
    memo: { autotunerSpecHash: specHash },
  };
}

function specHash(cameraId: string, s: ScheduleSpec): string {
  return createHash('sha256').update(JSON.stringify([cameraId, s.cron, s.timezone ?? null, GPU_TASK_QUEUE, 'v1'])).digest('hex').slice(0, 16);
}

/**
 * Reconcile Temporal Schedules with the config: create missing, update changed, pause/unpause,
 * delete schedules of cameras that no longer have one. Idempotent.
 */
export async function syncSchedules(client: Client, config: AutotunerConfig): Promise<SyncChange[]> {
  const changes: SyncChange[] = [];
  const wanted = new Map(config.cameras.filter((c) => c.schedule).map((c) => [scheduleId(c.id), c]));
  for (const [id, cam] of wanted) {
    const s = cam.schedule!;
    const hash = specHash(cam.id, s);
    const spec = { cronExpressions: [s.cron], timezone: s.timezone };
    const handle = client.schedule.getHandle(id);
    let desc;
    try {
      desc = await handle.describe();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    if (!desc) {
      await client.schedule.create({
        scheduleId: id,
        spec,
        action: desiredAction(cam.id, hash),
        // Never two tunings of a camera at once: skip a firing while the previous one runs.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour', pauseOnFailure: false },
        state: { paused: s.paused, note: s.paused ? 'paused in config' : undefined },
      });
      changes.push({ scheduleId: id, cameraId: cam.id, change: 'created' });
      continue;
    }
    const currentHash = desc.action.type === 'startWorkflow' ? (desc.action.memo as Record<string, unknown> | undefined)?.autotunerSpecHash : undefined;
    let changed = false;
    if (currentHash !== hash) {
      await handle.update((prev) => ({ ...prev, spec, action: desiredAction(cam.id, hash) }));
      changes.push({ scheduleId: id, cameraId: cam.id, change: 'updated' });
      changed = true;
    }
    if (desc.state.paused !== s.paused) {
      if (s.paused) await handle.pause('paused in config');
      else await handle.unpause('unpaused in config');
      changes.push({ scheduleId: id, cameraId: cam.id, change: s.paused ? 'paused' : 'unpaused' });
      changed = true;
    }
    if (!changed) changes.push({ scheduleId: id, cameraId: cam.id, change: 'unchanged' });
  }
  for await (const summary of client.schedule.list()) {
    if (summary.scheduleId.startsWith(PREFIX) && !wanted.has(summary.scheduleId)) {
      await client.schedule.getHandle(summary.scheduleId).delete();
      changes.push({ scheduleId: summary.scheduleId, cameraId: summary.scheduleId.slice(PREFIX.length), change: 'deleted' });
    }
  }
  return changes;
}

export interface ScheduleRow {
  scheduleId: string;
  cameraId: string;
  paused: boolean;
  note?: string;
  nextRuns: string[];
  recentRuns: number;
}

export async function listSchedules(client: Client): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(PREFIX)) continue;
    rows.push({
      scheduleId: s.scheduleId,
      cameraId: s.scheduleId.slice(PREFIX.length),
      paused: s.state.paused,
      note: s.state.note,
      nextRuns: (s.info.nextActionTimes ?? []).slice(0, 3).map((d) => d.toISOString()),
      recentRuns: s.info.recentActions.length,
    });
  }
  return rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export function scheduleHandle(client: Client, cameraId: string) {
  return client.schedule.getHandle(scheduleId(cameraId));
}
