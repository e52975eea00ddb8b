import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { listSchedules, syncSchedules } from '../../src/client/schedules.js';
import { formatProgressLine, liveStatus, startTune } from '../../src/client/tune.js';
import { parseConfig } from '../../src/config/load.js';
import { GPU_TASK_QUEUE } from '../../src/temporal/queues.js';
import { workflowBundle } from '../../src/worker/run.js';
import { startTemporal, VTEST } from './env.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startTemporal();
});
after(async () => {
  await env?.teardown();
});

const cam = (id: string, schedule?: Record<string, unknown>) => ({ id, source: VTEST, ...(schedule ? { schedule } : {}) });

test('schedule sync reconciles create → unchanged → update → pause → delete', async () => {
  const v1 = parseConfig({ cameras: [cam('a', { cron: '0 3 * * *' }), cam('b', { cron: '30 1 * * 1', paused: true }), cam('c')] });
  const first = await syncSchedules(env.client, v1);
  assert.deepEqual(first.map((c) => [c.scheduleId, c.change]), [['autotune/a', 'created'], ['autotune/b', 'created']]);
  const again = await syncSchedules(env.client, v1);
  assert.deepEqual(again.map((c) => c.change), ['unchanged', 'unchanged'], 'sync twice changes nothing');

  const rows = await listSchedules(env.client);
  assert.deepEqual(rows.map((r) => [r.cameraId, r.paused]), [['a', false], ['b', true]]);

  const v2 = parseConfig({ cameras: [cam('a', { cron: '0 4 * * *', paused: true }), cam('c')] });
  const second = await syncSchedules(env.client, v2);
  assert.deepEqual(
    second.map((c) => [c.scheduleId, c.change]),
    [['autotune/a', 'updated'], ['autotune/a', 'paused'], ['autotune/b', 'deleted']],
  );
  const desc = await env.client.schedule.getHandle('autotune/a').describe();
  assert.equal(desc.state.paused, true);
  assert.equal(desc.policies.overlap, 'SKIP');
  assert.deepEqual((await syncSchedules(env.client, v2)).map((c) => c.change), ['unchanged']);
  // a cron the server refuses fails that camera only: the others are still created, updated, deleted
  const v3 = parseConfig({ cameras: [cam('a', { cron: '61 3 * * *' }), cam('e', { cron: '0 2 * * *' })] });
  const third = await syncSchedules(env.client, v3);
  assert.deepEqual(third.map((c) => [c.scheduleId, c.change]), [['autotune/a', 'failed'], ['autotune/e', 'created']]);
  assert.match(third[0]!.error ?? '', /^camera a: /);
  assert.deepEqual((await listSchedules(env.client)).map((r) => r.cameraId), ['a', 'e'], 'a keeps its last good schedule');
  await syncSchedules(env.client, parseConfig({ cameras: [cam('c')] }));
  assert.deepEqual(await listSchedules(env.client), []);
});

test('a scheduled run never overlaps a running tuning of the same camera', async () => {
  // Only workflows are served: the manual tuning stays on its first activity, i.e. "running".
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: GPU_TASK_QUEUE,
    workflowBundle: await workflowBundle(),
  });
  await worker.runUntil(async () => {
    const manual = await startTune(env.client, 'd');
    const scheduled = await env.client.workflow.execute('scheduledTune', {
      taskQueue: GPU_TASK_QUEUE,
      workflowId: 'autotune/d/run-test',
      args: [{ cameraId: 'd' }],
    });
    assert.deepEqual(scheduled, { skipped: true, reason: 'a tuning of camera d is already running' });
    await manual.handle.terminate('test done');
  });
});

test('the status of a run no worker serves answers (without its progress) instead of waiting for a worker', { timeout: 30_000 }, async () => {
  // no worker at all: the workflow's first task waits, and so would a query to it
  const started = await startTune(env.client, 'unserved');
  try {
    const s = await liveStatus(env.client, 'unserved');
    assert.equal(s.status, 'RUNNING');
    assert.equal(s.progress, undefined);
    assert.equal(formatProgressLine(s), '[0/7] RUNNING');
  } finally {
    await started.handle.terminate('test done');
  }
});
