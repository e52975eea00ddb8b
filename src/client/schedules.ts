import { createHash } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { AutotunerConfig, CameraConfig } from '../config/schema.js';
import { GPU_TASK_QUEUE, scheduleId } from '../temporal/queues.js';

const PREFIX = 'autotune/';

export interface SyncChange {
  scheduleId: string;
  cameraId: string;
  change: 'created' | 'updated' | 'paused' | 'unpaused' | 'deleted' | 'unchanged' | 'failed';
  /** why, for 'failed' */
  error?: string;
}

// Never two tunings of a camera at once: skip a firing while the previous one runs. After an outage,
// at most the last hour's missed firing runs, not a burst.
const POLICIES = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour', pauseOnFailure: false } as const;

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
  // the policies too: a change of them in a later release reaches existing schedules
  return createHash('sha256').update(JSON.stringify([cameraId, s.cron, s.timezone ?? null, GPU_TASK_QUEUE, POLICIES, 'v1'])).digest('hex').slice(0, 16);
}

/**
 * Reconcile Temporal Schedules with the config: create missing, update changed, pause/unpause,
 * delete schedules of cameras that no longer have one. Idempotent. One camera the server refuses
 * (a bad cron or time zone) is reported as 'failed' and the others are still reconciled.
 */
export async function syncSchedules(client: Client, config: AutotunerConfig): Promise<SyncChange[]> {
  const changes: SyncChange[] = [];
  const wanted = new Map(config.cameras.filter((c) => c.schedule).map((c) => [scheduleId(c.id), c]));
  for (const [id, cam] of wanted) {
    try {
      await syncOne(client, id, cam, changes);
    } catch (err) {
      changes.push({ scheduleId: id, cameraId: cam.id, change: 'failed', error: `camera ${cam.id}: ${(err as Error).message}` });
    }
  }
  for await (const summary of client.schedule.list()) {
    if (summary.scheduleId.startsWith(PREFIX) && !wanted.has(summary.scheduleId)) {
      try {
        await client.schedule.getHandle(summary.scheduleId).delete();
      } catch (err) {
        // the list (visibility) can lag behind: a schedule deleted already is what we wanted
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
      changes.push({ scheduleId: summary.scheduleId, cameraId: summary.scheduleId.slice(PREFIX.length), change: 'deleted' });
    }
  }
  return changes;
}

/** Create, update, pause or unpause one camera's schedule; what it did goes into `changes`. */
async function syncOne(client: Client, id: string, cam: CameraConfig, changes: SyncChange[]): Promise<void> {
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
      policies: { ...POLICIES },
      state: { paused: s.paused, note: s.paused ? 'paused in config' : undefined },
    });
    changes.push({ scheduleId: id, cameraId: cam.id, change: 'created' });
    return;
  }
  const currentHash = desc.action.type === 'startWorkflow' ? (desc.action.memo as Record<string, unknown> | undefined)?.autotunerSpecHash : undefined;
  let changed = false;
  if (currentHash !== hash) {
    await handle.update((prev) => ({ ...prev, spec, action: desiredAction(cam.id, hash), policies: { ...prev.policies, ...POLICIES } }));
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
