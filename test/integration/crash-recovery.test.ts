import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LoadedConfig } from '../../src/config/load.js';
import { startTune } from '../../src/client/tune.js';
import type { TuneOutcome } from '../../src/pipeline/progress.js';
import { makeProject, startTemporal, TINY } from './env.js';

let env: TestWorkflowEnvironment;
let project: LoadedConfig;
const children: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['bin/autotuner.js', 'worker', '--config', project.path, '--shutdown-grace', '1 second'], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

before(async () => {
  env = await startTemporal();
  project = await makeProject();
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await env?.teardown();
});

test('a worker killed with SIGKILL mid-training is replaced and the same workflow finishes, resuming from the checkpoint', async () => {
  const worker1 = startWorkerProcess();
  const started = await startTune(env.client, 'itest', { ...TINY, student: { ...TINY.student, epochs: 4 }, heartbeatTimeoutSeconds: 8 } as never);
  const ckpt = path.join(project.dir, 'data', 'work', 'itest', started.runId, 'train', 'last.pt');
  // The epoch-1 checkpoint is on disk: the trainer is mid-run. Kill the worker without warning.
  const deadline = Date.now() + 8 * 60_000;
  while (!existsSync(ckpt)) {
    assert.ok(Date.now() < deadline, 'training never wrote its first checkpoint');
    assert.equal(worker1.exitCode, null, 'worker 1 died on its own');
    await new Promise((r) => setTimeout(r, 200));
  }
  worker1.kill('SIGKILL');
  await new Promise((r) => worker1.once('exit', r));

  startWorkerProcess();
  const outcome = (await started.handle.result()) as TuneOutcome;
  assert.equal(outcome.workflowId, 'tune/itest');
  assert.equal((await started.handle.describe()).runId, started.runId, 'the same run finished');

  const history = await started.handle.fetchHistory();
  const trainAttempts = (history.events ?? [])
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  assert.ok(Math.max(...trainAttempts) >= 2, 'an activity was retried after the kill');
  const results = (history.events ?? [])
    .map((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data)
    .filter((d): d is Uint8Array => d instanceof Uint8Array)
    .map((d) => JSON.parse(Buffer.from(d).toString('utf8')) as { metrics?: Record<string, number> } | null);
  const result = results.find((r) => r?.metrics && 'resumedFromEpoch' in r.metrics);
  assert.ok(result?.metrics, 'the train result records where it resumed');
  assert.ok(result.metrics.resumedFromEpoch! >= 1, `resumed from epoch ${result.metrics.resumedFromEpoch}`);
  // the checkpoints served the resume; once the results are stored, the run's scratch is gone
  assert.ok(!existsSync(path.join(project.dir, 'data', 'work', 'itest', started.runId)), 'the run left its scratch behind');
});
