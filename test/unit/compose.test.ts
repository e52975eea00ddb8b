import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { GPU_TASK_QUEUE, edgeTaskQueue } from '../../src/temporal/queues.js';

// No Docker engine here: check the file's structure and its consistency with the code instead.
const compose = YAML.parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; depends_on?: unknown; build?: string; image?: string }>;
};

test('compose has Temporal on PostgreSQL, the Web UI, a gpu and an edge worker', () => {
  const s = compose.services;
  for (const name of ['postgresql', 'temporal', 'temporal-ui', 'worker-gpu', 'worker-edge']) assert.ok(s[name], `service ${name}`);
  assert.equal(s.temporal!.environment!.DB, 'postgres12');
  assert.equal(s.temporal!.environment!.POSTGRES_SEEDS, 'postgresql');
  assert.equal(s['temporal-ui']!.environment!.TEMPORAL_ADDRESS, 'temporal:7233');
  // Where the compose plugin exists, let it validate the file too.
  let hasCompose = true;
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
  } catch {
    hasCompose = false;
  }
  if (hasCompose) execFileSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet']);
});

test('workers run our CLI with roles whose queues the code serves, against the compose server', () => {
  const gpu = compose.services['worker-gpu']!;
  const edge = compose.services['worker-edge']!;
  assert.deepEqual(gpu.command, ['node', 'bin/autotuner.js', 'worker', '--role', 'gpu']);
  assert.deepEqual(edge.command!.slice(0, 5), ['node', 'bin/autotuner.js', 'worker', '--role', 'edge']);
  for (const w of [gpu, edge]) {
    assert.equal(w.environment!.TEMPORAL_ADDRESS, 'temporal:7233', 'TEMPORAL_ADDRESS is the variable the code reads');
    assert.ok(w.environment!.AUTOTUNER_CONFIG, 'AUTOTUNER_CONFIG is the variable the code reads');
    assert.equal(w.build, '.');
  }
  // The comments name the queues: keep them in step with the code.
  const text = readFileSync('docker-compose.yml', 'utf8');
  assert.ok(text.includes(GPU_TASK_QUEUE));
  assert.ok(text.includes(edgeTaskQueue(edge.command![6] ?? 'default')));
});
