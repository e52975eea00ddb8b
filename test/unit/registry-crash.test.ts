import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { linkSync, mkdtempSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelRegistry } from '../../src/registry/registry.js';
import type { ArtifactRef } from '../../src/artifacts/ref.js';

const REGISTRY_URL = pathToFileURL(path.resolve('src/registry/registry.ts')).href;
const model = (n: number): ArtifactRef => ({ uri: `file:///m/${n}.onnx`, sha256: String(n).padStart(64, '0'), bytes: 1, kind: 'model' });

/** A child process that writes to the registry in a loop (create + deploy), printing "ready" first. */
function writer(dataDir: string, prefix: string, count: number) {
  const code = `
    import { ModelRegistry } from ${JSON.stringify(REGISTRY_URL)};
    // these tests check that no update is lost, not how long a lock takes: on a loaded 2-core box a
    // writer can wait out the default 30 s behind the others (seen once), so it waits up to 100 s
    const reg = new ModelRegistry(${JSON.stringify(dataDir)}, { lockTimeoutMs: 100_000 });
    console.log('ready');
    for (let i = 0; i < ${count}; i++) {
      const v = await reg.createVersion('cam', { model: { uri: 'file:///m/' + i, sha256: 'x', bytes: 1, kind: 'model' }, dataset: null,
        teacher: 't', trainer: 'tr', trainerArgs: [], metrics: { i }, idempotencyKey: ${JSON.stringify(prefix)} + i });
      if (i % 2 === 0) await reg.markDeployed('cam', v.version);
    }
    console.log('done');
  `;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function waitFor(child: ReturnType<typeof writer>, word: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(word)) resolve();
    });
    child.on('exit', (c) => (out.includes(word) ? resolve() : reject(new Error(`writer exited ${c} before "${word}"`))));
  });
}

test('registry survives kill -9 of a writer at random moments', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reg-crash-'));
  const reg = new ModelRegistry(dataDir, { lockTimeoutMs: 10_000 });
  let killsDuringWrites = 0;
  for (let round = 0; round < 6; round++) {
    const child = writer(dataDir, `r${round}-`, 100_000);
    await waitFor(child, 'ready');
    await new Promise((r) => setTimeout(r, 30 + Math.random() * 250));
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    killsDuringWrites++;
    // The file is always a complete, valid registry with exactly one deployed version.
    const file = await reg.read('cam');
    if (file.versions.length > 0) {
      assert.equal(file.versions.filter((v) => v.state === 'deployed').length, 1);
      assert.ok(file.deployed);
    }
    const numbers = file.versions.map((v) => Number(v.version.slice(1)));
    assert.deepEqual(numbers, numbers.map((_, i) => i + 1), 'versions are v1..vN without gaps or duplicates');
    // The dead writer's lock (if any) is recovered: a new write goes through promptly.
    const t0 = Date.now();
    const v = await reg.createVersion('cam', { model: model(round), dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {}, idempotencyKey: `parent-${round}` });
    await reg.markDeployed('cam', v.version);
    assert.ok(Date.now() - t0 < 5000, 'stale lock recovered quickly');
  }
  assert.equal(killsDuringWrites, 6);
  const final = await reg.read('cam');
  assert.ok(final.versions.length > 6, 'the writers did write');
  assert.equal(final.versions.filter((v) => v.state === 'deployed').length, 1);
});

test('concurrent writers in two processes never lose an update', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reg-conc-'));
  const a = writer(dataDir, 'a', 25);
  const b = writer(dataDir, 'b', 25);
  await Promise.all([waitFor(a, 'done'), waitFor(b, 'done')]);
  const file = await new ModelRegistry(dataDir).read('cam');
  assert.equal(file.versions.length, 50);
  assert.equal(new Set(file.versions.map((v) => v.version)).size, 50);
  assert.equal(file.versions.filter((v) => v.state === 'deployed').length, 1);
  assert.deepEqual(readdirSync(path.join(dataDir, 'registry')).filter((f) => f.endsWith('.lock')), []);
});

test('a stale lock left by a dead process is broken', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reg-stale-'));
  const reg = new ModelRegistry(dataDir, { lockTimeoutMs: 3000 });
  await reg.read('cam');
  const file = reg.file('cam');
  await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(file), { recursive: true }));
  // pid 2^22+1 is above Linux's pid_max default range in practice: not alive
  writeFileSync(`${file}.lock`, `4194305 ${Date.now()} dead`);
  const v = await reg.createVersion('cam', { model: model(1), dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {} });
  assert.equal(v.version, 'v1');
});

test("locks: our own pid that we do not hold is a dead predecessor's (restarted container); another host's live-looking pid waits for the age limit", async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reg-pid-'));
  const reg = new ModelRegistry(dataDir, { lockTimeoutMs: 2000, staleLockMs: 60_000 });
  const file = reg.file('cam');
  await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(file), { recursive: true }));
  // left by a SIGKILLed worker whose successor got the same pid: alive by kill(pid, 0), but not a holder
  writeFileSync(`${file}.lock`, `${process.pid} ${Date.now()} 0000-dead ${os.hostname()}`);
  assert.equal((await reg.createVersion('cam', { model: model(1), dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {} })).version, 'v1');
  // a fresh lock of a worker in another container: its pid means nothing here, so only its age counts
  writeFileSync(`${file}.lock`, `1 ${Date.now()} 0000-live other-host`);
  await assert.rejects(reg.createVersion('cam', { model: model(2), dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {} }), /timed out waiting for registry lock/);
  writeFileSync(`${file}.lock`, `1 ${Date.now() - 120_000} 0000-old other-host`);
  assert.equal((await reg.createVersion('cam', { model: model(2), dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {} })).version, 'v2');
});

test('a breaker that died while breaking a stale lock does not block the registry', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reg-breaker-'));
  const reg = new ModelRegistry(dataDir, { lockTimeoutMs: 3000 });
  const file = reg.file('cam');
  await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(file), { recursive: true }));
  writeFileSync(`${file}.lock`, `4194305 ${Date.now()} dead ${os.hostname()}`);
  // a dead process's breaker lock, and a live one's that has hung for longer than breaking takes
  writeFileSync(`${file}.lock.break`, `4194306 ${Date.now()} dead ${os.hostname()}`);
  assert.equal((await reg.createVersion('cam', { model: model(1), dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {} })).version, 'v1');
  writeFileSync(`${file}.lock`, `4194305 ${Date.now()} dead ${os.hostname()}`);
  writeFileSync(`${file}.lock.break`, `1 ${Date.now() - 10_000} hung other-host`);
  assert.equal((await reg.createVersion('cam', { model: model(2), dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {} })).version, 'v2');
  assert.deepEqual(readdirSync(path.dirname(file)).filter((f) => f.includes('.lock')), []);
});

test('three writers breaking stale locks of holders that die at once never lose an update', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'reg-race-'));
  const reg = new ModelRegistry(dataDir);
  const lockFile = `${reg.file('cam')}.lock`;
  await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(lockFile), { recursive: true }));
  const kids = ['a', 'b', 'c'].map((p) => writer(dataDir, p, 40));
  const done = Promise.all(kids.map((k) => waitFor(k, 'done')));
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  // A holder that takes the lock whenever it is free and dies at once (a dead pid), over and over:
  // every one of its locks is broken by writers racing each other. (Before the breaker lock, a
  // writer could move aside the fresh lock another had just taken, and two then held it.) It stops
  // after 200 locks: spinning for the free lock, it wins it over and over (400 locks in 10 s here),
  // and once starved a writer past its 100 s wait on a loaded 2-core CI box.
  let planted = 0;
  const tmp = `${lockFile}.dying`;
  while (!finished && planted < 200) {
    writeFileSync(tmp, `4194305 ${Date.now()} dying ${os.hostname()}`);
    let took = false;
    try {
      linkSync(tmp, lockFile);
      took = true;
      planted++;
    } catch {
      // held: try again soon
    }
    unlinkSync(tmp);
    await new Promise((r) => (took ? setTimeout(r, 10 + Math.random() * 10) : setImmediate(r)));
  }
  await done;
  assert.ok(planted > 20, `stale locks planted: ${planted}`);
  const file = await reg.read('cam');
  for (const p of ['a', 'b', 'c']) assert.equal(file.versions.filter((v) => v.idempotencyKey?.startsWith(p)).length, 40, `writer ${p}'s versions`);
  assert.deepEqual(file.versions.map((v) => v.version), file.versions.map((_, i) => `v${i + 1}`));
  assert.equal(file.versions.filter((v) => v.state === 'deployed').length, 1);
});
