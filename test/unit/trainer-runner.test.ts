import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtinTrainerExtraArgs, PARENT_WATCHDOG, runTrainer, TrainerError, type TrainerEvent } from '../../src/trainer/run-trainer.js';
import { spawn } from 'node:child_process';
import { studentSchema } from '../../src/config/schema.js';

// A stand-in for an *external* trainer (the contract allows any command): it lets these tests
// drive each branch of the runner — events, bad input, crashes, cancellation — deterministically.
const FAKE = `
const args = process.argv.slice(2);
const get = (k) => args[args.indexOf(k) + 1];
const mode = process.env.FAKE_MODE;
const log = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const fs = require('node:fs');
fs.writeFileSync(get('--out') + '/argv.json', JSON.stringify(args));
log({ event: 'start', epochs: Number(get('--epochs')) });
if (mode === 'bad-input') { log({ event: 'error', message: 'dataset has no labels', retryable: false }); process.exit(2); }
if (mode === 'crash') { process.stderr.write('Segmentation fault\\n'); process.exit(139); }
if (mode === 'hang') { const { spawn } = require('node:child_process'); const c = spawn('sleep', ['60'], { stdio: 'ignore' }); fs.writeFileSync(get('--out') + '/grandchild.pid', String(c.pid)); setInterval(() => {}, 1000); return; }
for (let e = 1; e <= Number(get('--epochs')); e++) log({ event: 'epoch', epoch: e, loss: 1 / e });
process.stdout.write('not json noise\\n');
log({ event: 'done', onnx: get('--out') + '/model.onnx', metrics: { valLoss: 0.5 } });
`;

async function setup() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trainer-'));
  const script = path.join(dir, 'fake.cjs');
  await writeFile(script, `(function(){${FAKE}})();`);
  return { dir, command: [process.execPath, script] };
}

const base = (dir: string, command: string[]) => ({ command, data: '/data', init: '/w.pt', out: dir, epochs: 3, imgsz: 256, device: 'cpu' as const, resume: true });

test('streams contract events and returns the done event', async () => {
  const { dir, command } = await setup();
  const events: TrainerEvent[] = [];
  const done = await runTrainer({ ...base(dir, command), extraArgs: ['--batch', '4'], onEvent: (e) => events.push(e) });
  assert.equal(done.onnx, `${dir}/model.onnx`);
  assert.deepEqual(events.map((e) => e.event), ['start', 'epoch', 'epoch', 'epoch', 'done']);
  const argv = JSON.parse(await readFile(path.join(dir, 'argv.json'), 'utf8'));
  assert.deepEqual(argv, ['--data', '/data', '--init', '/w.pt', '--out', dir, '--epochs', '3', '--imgsz', '256', '--device', 'cpu', '--resume', '--batch', '4']);
});

test('bad input is a non-retryable error carrying the trainer message', async () => {
  const { dir, command } = await setup();
  process.env.FAKE_MODE = 'bad-input';
  try {
    await assert.rejects(runTrainer(base(dir, command)), (e: Error) => e instanceof TrainerError && !e.retryable && /no labels/.test(e.message));
  } finally {
    delete process.env.FAKE_MODE;
  }
});

test('a crash is retryable and reports the stderr tail', async () => {
  const { dir, command } = await setup();
  await assert.rejects(
    runTrainer({ ...base(dir, command), env: { ...process.env, FAKE_MODE: 'crash' } }),
    (e: Error) => e instanceof TrainerError && e.retryable && /code 139/.test(e.message) && /Segmentation fault/.test(e.message),
  );
});

/** Gone or a zombie waiting for its reaper, within `withinMs`: either way it no longer runs. */
async function assertNotRunning(pid: number, withinMs = 300): Promise<void> {
  const stateOf = async () => (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => 'x) gone')).split(') ')[1]?.[0];
  const end = Date.now() + withinMs;
  let state: string | undefined;
  do {
    await new Promise((r) => setTimeout(r, 100));
    state = await stateOf();
  } while (state !== 'g' && state !== 'Z' && Date.now() < end);
  assert.ok(state === 'g' || state === 'Z', `grandchild still running (state ${state})`);
}

test('cancellation kills the whole process group (grandchildren too)', async () => {
  const { dir, command } = await setup();
  const ac = new AbortController();
  const p = runTrainer({ ...base(dir, command), env: { ...process.env, FAKE_MODE: 'hang' }, signal: ac.signal, killGraceMs: 500 });
  const pidFile = path.join(dir, 'grandchild.pid');
  while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 50));
  const grandchild = Number(await readFile(pidFile, 'utf8'));
  ac.abort();
  await assert.rejects(p, /cancelled/);
  await assertNotRunning(grandchild);
});

test('a trainer that writes nothing for stallMs is stopped (its whole group) with a retryable error', async () => {
  const { dir, command } = await setup();
  await assert.rejects(
    runTrainer({ ...base(dir, command), env: { ...process.env, FAKE_MODE: 'hang' }, stallMs: 600, killGraceMs: 300 }),
    (e: Error) => e instanceof TrainerError && e.retryable && /wrote nothing for .* min and was stopped/.test(e.message),
  );
  await assertNotRunning(Number(await readFile(path.join(dir, 'grandchild.pid'), 'utf8')));
});

test('a cancellation that came before the start starts nothing', async () => {
  const { dir, command } = await setup();
  await assert.rejects(
    runTrainer({ ...base(dir, command), env: { ...process.env, FAKE_MODE: 'hang' }, signal: AbortSignal.abort() }),
    (e: Error) => e instanceof TrainerError && e.retryable && /cancelled/.test(e.message),
  );
  assert.ok(!existsSync(path.join(dir, 'grandchild.pid')), 'the trainer was started anyway');
});

test('a missing trainer executable is a clear non-retryable error', async () => {
  const { dir } = await setup();
  await assert.rejects(runTrainer(base(dir, ['/no/such/trainer'])), (e: Error) => e instanceof TrainerError && !e.retryable && /cannot start trainer/.test(e.message));
});

test('student config maps to the built-in trainer flags (deterministic and CUDA graphs only when asked)', () => {
  const student = studentSchema.parse({});
  assert.deepEqual(builtinTrainerExtraArgs(student), ['--batch', '8', '--lr', '0.0002', '--amp', 'auto']);
  const det = studentSchema.parse({ amp: 'fp16', deterministic: true, batch: 16 });
  assert.deepEqual(builtinTrainerExtraArgs(det), ['--batch', '16', '--lr', '0.0002', '--amp', 'fp16', '--deterministic']);
  assert.deepEqual(builtinTrainerExtraArgs(studentSchema.parse({ seed: 3 })).slice(-2), ['--seed', '3']);
  // CUDA graphs (experimental) only when asked
  assert.equal(studentSchema.parse({}).cudaGraphs, false);
  assert.deepEqual(builtinTrainerExtraArgs(studentSchema.parse({ cudaGraphs: true })).slice(-2), ['--cuda-graphs', 'on']);
  assert.throws(() => studentSchema.parse({ cudaGraphs: 'on' }));
  assert.throws(() => studentSchema.parse({ seed: -1 }));
});

test('a custom trainer under the parent watchdog: events and exit code pass through, and it stops when its launcher dies', async () => {
  const { dir, command } = await setup();
  const wrapped = [process.execPath, PARENT_WATCHDOG, String(process.pid), ...command];
  const done = await runTrainer({ ...base(dir, wrapped), onEvent: () => undefined });
  assert.equal(done.event, 'done');
  await assert.rejects(runTrainer(base(dir, [process.execPath, PARENT_WATCHDOG, String(process.pid), '/nonexistent/trainer'])), (e: Error) => e instanceof TrainerError && !e.retryable && /cannot start trainer/.test(e.message));

  // A launcher (the worker) that starts the wrapped trainer as the worker does, then dies by SIGKILL.
  const hang = path.join(dir, 'hang');
  await mkdir(hang, { recursive: true });
  const launcher = spawn(process.execPath, ['-e', `
    const { spawn } = require('node:child_process');
    spawn(process.execPath, [${JSON.stringify(PARENT_WATCHDOG)}, String(process.pid), ...${JSON.stringify(command)}, '--out', ${JSON.stringify(hang)}],
      { detached: true, stdio: 'ignore', env: { ...process.env, FAKE_MODE: 'hang' } });
    setInterval(() => {}, 1000);`], { stdio: 'ignore' });
  const pidFile = path.join(hang, 'grandchild.pid');
  while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 50));
  const grandchild = Number(await readFile(pidFile, 'utf8'));
  launcher.kill('SIGKILL');
  // the watchdog notices within a second and stops the whole group (a loaded machine gets 10 s)
  await assertNotRunning(grandchild, 10_000);
});
