import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelRegistry, RegistryError } from '../../src/registry/registry.js';
import type { ArtifactRef } from '../../src/artifacts/ref.js';

const model = (n: number): ArtifactRef => ({ uri: `file:///m/${n}.onnx`, sha256: String(n).padStart(64, '0'), bytes: 1, kind: 'model' });
const input = (n: number, key?: string) => ({ model: model(n), dataset: null, teacher: 'centernet', trainer: 'builtin', trainerArgs: ['--epochs', '3'], metrics: { map50: n / 10 }, ...(key ? { idempotencyKey: key } : {}) });

test('versions are numbered, created idempotently, and carry lineage', async () => {
  const reg = new ModelRegistry(mkdtempSync(path.join(os.tmpdir(), 'reg-')));
  const v1 = await reg.createVersion('cam', input(1, 'run-1'));
  const again = await reg.createVersion('cam', input(1, 'run-1'));
  assert.equal(v1.version, 'v1');
  assert.equal(again.version, 'v1');
  assert.equal((await reg.list('cam')).length, 1);
  await reg.markDeployed('cam', 'v1');
  const v2 = await reg.createVersion('cam', input(2, 'run-2'));
  assert.equal(v2.version, 'v2');
  assert.equal(v2.lineage.parent, 'v1');
  assert.deepEqual(v2.lineage.trainerArgs, ['--epochs', '3']);
  assert.equal(v2.state, 'candidate');
});

test('exactly one deployed version; rollback returns to the previously deployed one', async () => {
  const reg = new ModelRegistry(mkdtempSync(path.join(os.tmpdir(), 'reg-')));
  for (let i = 1; i <= 3; i++) await reg.createVersion('cam', input(i));
  await reg.markDeployed('cam', 'v1');
  await reg.markDeployed('cam', 'v2');
  await reg.markDeployed('cam', 'v2'); // no-op
  let file = await reg.read('cam');
  assert.equal(file.deployed, 'v2');
  assert.deepEqual(file.versions.map((v) => v.state), ['candidate', 'deployed', 'candidate']);
  assert.equal((await reg.rollbackTarget('cam'))?.version, 'v1', 'v3 was never deployed: not a rollback target');
  await reg.rollbackTo('cam', 'v1', 'operator');
  file = await reg.read('cam');
  assert.deepEqual(file.versions.map((v) => v.state), ['deployed', 'rolled-back', 'candidate']);
  assert.equal(file.deployed, 'v1');
  await reg.setState('cam', 'v3', 'rejected', 'gate');
  assert.equal((await reg.get('cam', 'v3')).reason, 'gate');
  await assert.rejects(reg.markDeployed('cam', 'v9'), RegistryError);
});

test('a registry file that breaks the invariants is reported, not silently used', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reg-'));
  const reg = new ModelRegistry(dataDir);
  const v = await reg.createVersion('cam', input(1));
  await reg.createVersion('cam', input(2));
  const file = await reg.read('cam');
  file.versions.forEach((x) => (x.state = 'deployed'));
  file.deployed = v.version;
  mkdirSync(path.join(dataDir, 'registry'), { recursive: true });
  writeFileSync(reg.file('cam'), JSON.stringify(file));
  await assert.rejects(reg.read('cam'), /more than one deployed/);
  writeFileSync(reg.file('cam'), '{"schema":1,');
  await assert.rejects(reg.read('cam'), /not valid JSON/);
  assert.throws(() => reg.file('../etc'), RegistryError);
});
