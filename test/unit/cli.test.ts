import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inferencePlan } from '../../src/detect/providers.js';
import { cutDemo, ffmpeg, interlacedClip, nightDemo } from '../fixtures/clips.js';
import sharp from 'sharp';

const run = promisify(execFile);
const BIN = path.resolve('bin/autotuner.js');

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('the CLI starts and lists every command', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const r = await cli(['--help'], dir);
  assert.equal(r.code, 0, r.stderr);
  for (const c of ['server', 'worker', 'tune', 'status', 'schedule', 'demo', 'doctor', 'capture', 'detect', 'models', 'edge', 'bench']) {
    assert.match(r.stdout, new RegExp(`\\n  ${c}\\b`), `command ${c} listed`);
  }
});

test('help loads no command code: no Temporal SDK, onnxruntime, sharp or config schema', async () => {
  // A resolve hook that refuses the heavy packages: --help must not need them (it used to load them
  // all, 0.9 s and 160 MB before printing a line). Running a command still loads what it uses.
  const hook = `export async function resolve(s, c, next) { if (/^(@temporalio\\/|onnxruntime-node|sharp|zod)/.test(s)) throw new Error('loaded for help: ' + s); return next(s, c); }`;
  const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  for (const args of [['--help'], ['capture', '--help'], ['bench', 'capture', '--help'], ['schedule', '--help']]) {
    const r = await run(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, BIN, ...args], { cwd: dir, timeout: 60_000 }).then(
      (x) => ({ code: 0, ...x }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: autotuner/);
  }
  // the hook itself works: a command that needs the config schema is refused under it
  const r = await run(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, BIN, 'models', 'list', 'x'], { cwd: dir, timeout: 60_000 }).then(
    () => ({ stderr: '' }),
    (e: { stderr: string }) => e,
  );
  assert.match(r.stderr, /loaded for help: (zod|yaml)/);
});

test('a numeric option with a bad value is refused at once, naming the option and what it takes', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const cases: Array<[string[], RegExp]> = [
    [['bench', 'capture', '--iterations', 'abc'], /--iterations <n>' argument 'abc' is invalid\. expected a whole number of 1 or more/],
    [['bench', 'capture', '--iterations', '0'], /--iterations <n>' argument '0' is invalid/],
    [['bench', 'capture', '--iterations', '2.5'], /--iterations <n>' argument '2\.5' is invalid/],
    [['capture', '--frames', '-3'], /--frames <n>' argument '-3' is invalid/],
    [['worker', '--edge-concurrency', '0'], /--edge-concurrency <n>' argument '0' is invalid\. expected a whole number of 1 or more/],
    [['capture', '--seconds', 'soon'], /--seconds <s>' argument 'soon' is invalid\. expected a number above 0/],
    [['detect', 'x.mp4', '--min-score', '2'], /--min-score <s>' argument '2' is invalid\. expected a number from 0 to 1/],
    [['edge', 'serve', '--port', '70000'], /--port <port>' argument '70000' is invalid\. expected a port number from 0 to 65535/],
    [['bench', 'train', '--batch', ''], /--batch <n>' argument '' is invalid/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args, dir);
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /NaN|toFixed|TypeError/, args.join(' '));
  }
});

test('tune --set is checked against the config before anything connects to Temporal', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  // a port nothing listens on: a check made after connecting would fail on the connection instead
  const env = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
  const bad = await cli(['tune', 'demo', '--set', '{"sample":{"budget":0}}'], dir, env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--set: invalid overrides for camera demo: sample\.budget: /);
  assert.doesNotMatch(bad.stderr, /Temporal server/);
  const unknown = await cli(['tune', 'demo', '--set', '{"epochs":3}'], dir, env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /--set: unknown override\(s\) epochs: tuneCamera accepts cameraId plus source, classes, capture, sample, teacher, student, gate/);
  // a valid one gets as far as the connection
  const good = await cli(['tune', 'demo', '--set', '{"student":{"epochs":3}}'], dir, env);
  assert.equal(good.code, 1);
  assert.match(good.stderr, /cannot reach the Temporal server at 127\.0\.0\.1:1/);
});

test('capture says when it deinterlaced a camera, and when noise raised its motion threshold', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-capture-'));
  const dvr = await interlacedClip(dir, 'dvr.mp4', { seconds: 2 });
  const night = await nightDemo(dir, 'night.mp4', { seconds: 4, still: true });
  const day = await cutDemo(dir, 'day.avi', { start: 20, seconds: 4, width: 384 });
  const lines = async (source: string): Promise<string> => {
    const r = await cli(['capture', '--source', source], dir);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  assert.match(await lines(dvr), /^captured 50 frames, 2\.\d s, 384x288 @ 25 fps, deinterlaced \(top field first\)$/m);
  assert.match(await lines(night), /^noise +1\d\.\d grey levels \(a night picture\?\): motion counted above \d\d, not 25$/m);
  const plain = await lines(day);
  assert.match(plain, /^captured 40 frames, 4\.0 s, 384x288 @ 10 fps$/m);
  assert.doesNotMatch(plain, /^noise/m);
});

test('capture samples a camera from the command line and copies the frames to --out, replacing an earlier capture there', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-capture-'));
  const clip = await cutDemo(dir, 'walk.avi', { start: 20, seconds: 6, width: 384 });
  const out = path.join(dir, 'out');
  const run = async (frames: number): Promise<{ sample: { selected: number; decoded: number }; out: string; framesDir: string }> => {
    const r = await cli(['capture', '--source', clip, '--frames', String(frames), '--out', out, '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { sample: { selected: number; decoded: number }; out: string; framesDir: string };
  };
  const first = await run(60);
  assert.equal(first.sample.decoded, 60);
  assert.equal(first.out, out);
  const manifest = async (): Promise<{ frames: Array<{ name: string; empty: boolean }> }> => JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as { frames: Array<{ name: string; empty: boolean }> };
  const images = async (): Promise<string[]> => (await readdir(path.join(out, 'images'))).sort();
  assert.equal((await images()).length, first.sample.selected);
  assert.deepEqual(await images(), (await manifest()).frames.map((f) => `${f.name}.jpg`).sort());
  // the picture to set a motion mask by: a kept frame, at its size, with the motion drawn over it
  const preview = await sharp(path.join(out, 'motion.jpg')).metadata();
  assert.deepEqual([preview.format, preview.width, preview.height], ['jpeg', 384, 288]);
  const firstKept = (await manifest()).frames.find((f) => f.empty) ?? (await manifest()).frames[0]!;
  const plain = await sharp(path.join(out, 'images', `${firstKept.name}.jpg`)).raw().toBuffer();
  const drawn = await sharp(path.join(out, 'motion.jpg')).raw().toBuffer();
  assert.equal(drawn.length, plain.length);
  assert.ok(drawn.some((v, i) => Math.abs(v - plain[i]!) > 40), 'boxes and lines drawn over the frame');
  // a shorter capture into the same --out: only its frames are there, none left from the first
  const second = await run(10);
  assert.equal(second.sample.decoded, 10);
  assert.ok(second.sample.selected < first.sample.selected);
  assert.deepEqual(await images(), (await manifest()).frames.map((f) => `${f.name}.jpg`).sort());
  // a trial of another source leaves the configured camera's background state alone: its next
  // tuning compares with its own previous run, not with this scene
  await assert.rejects(readdir(path.join(dir, '.autotuner', 'cameras', 'demo')), { code: 'ENOENT' });
  // --out naming a file is refused before anything is captured
  const file = path.join(dir, 'walk.avi');
  const bad = await cli(['capture', '--source', clip, '--frames', '10', '--out', file], dir);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--out .*walk\.avi is a file: give a directory/);
  assert.doesNotMatch(bad.stderr, /capture: \d+ frames/);
});

test('Ctrl-C stops a capture, its ffmpegs and everything it was writing', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-sigint-'));
  const clip = await cutDemo(dir, 'walk.avi', { start: 20, seconds: 6, width: 384 });
  // 10 minutes: long enough that the interrupt lands while it is captured and sampled
  const long = path.join(dir, 'long.avi');
  await ffmpeg(['-stream_loop', '99', '-i', clip, '-c', 'copy', long]);
  const child = spawn(process.execPath, [BIN, 'capture', '--source', long], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const started = new Promise<void>((resolve) => child.stderr.on('data', (s: string) => ((stderr += s), /capture: \d+ frames|sample: \d+ frames/.test(stderr) && resolve())));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await started;
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /autotuner: capture interrupted \(Ctrl-C\)/);
  // no segments, no scratch frames, no ffmpeg still reading the video
  assert.deepEqual(await readdir(path.join(dir, '.autotuner', 'capture')).catch(() => []), []);
  assert.deepEqual(await readdir(path.join(dir, '.autotuner', 'artifacts', 'tmp')).catch(() => []), []);
  if (process.platform === 'linux') {
    const reading: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (cmd.includes(long) && !/^\d+ \(.*\) Z /.test(stat)) reading.push(pid);
    }
    assert.deepEqual(reading, []);
  }
});

test('--version prints the package version', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const { version } = JSON.parse(await readFile(path.resolve('package.json'), 'utf8')) as { version: string };
  const r = await cli(['--version'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), version);
});

test('a bad config file is refused with the field and the fix, exit code 1', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const file = path.join(dir, 'bad.json');
  await writeFile(file, JSON.stringify({ cameras: [{ id: 'cam 1', source: 'x' }] }));
  const r = await cli(['--config', file, 'models', 'list', 'cam'], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cameras\.0\.id/);
  assert.match(r.stderr, /Fix the field/);
});

test('commands that need Temporal say where they looked and how to start one', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const r = await cli(['status', 'demo'], dir, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach the Temporal server at 127\.0\.0\.1:1.*autotuner server/s);
});

test('tune --set with broken JSON says which option and how it should look', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const r = await cli(['tune', 'demo', '--set', '{student: 3}'], dir, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--set is not valid JSON .*e\.g\. --set '\{"student"/);
});

test('doctor checks the install and reports JSON', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const r = await cli(['doctor', '--json'], dir, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const byName = Object.fromEntries(report.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]));
  for (const name of ['ffmpeg', 'python venv', 'torch', 'temporal CLI', 'onnxruntime-node', 'jpeg codec', 'yuv→rgb', 'jpeg from yuv', 'teacher weights', 'demo video']) {
    assert.equal(byName[name], true, `${name} ok`);
  }
  assert.equal(byName['temporal server'], false, 'no server at the address');
  const plan = report.checks.find((c: { name: string }) => c.name === 'teacher plan') as { detail: string };
  assert.match(plan.detail, new RegExp(`^${inferencePlan('cpu').sessions} session\\(s\\), op threads [0-9+]+ \\(${os.availableParallelism()} cores`));
  // the config's camera (the demo video), opened as its capture opens it
  const camera = report.checks.find((c: { name: string }) => c.name === 'camera demo') as { ok: boolean; detail: string };
  assert.equal(camera.ok, true);
  assert.match(camera.detail, /vtest\.avi: msmpeg4v3 768x576 @ 10 fps, 79\.5 s$/);
  assert.equal(report.ok, true, 'an absent server is a warning, not a failure');
  assert.equal(r.code, 0);
});

test('detect writes every detection as CSV frame,class,x1,y1,x2,y2,score in original-frame pixels', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const out = path.join(dir, 'det.csv');
  const r = await cli(['detect', '--camera', 'demo', '--model', 'teacher', '--frames', '3', '--out', out], dir);
  assert.equal(r.code, 0, r.stderr);
  const { readFile } = await import('node:fs/promises');
  const [header, ...rows] = (await readFile(out, 'utf8')).trim().split('\n');
  assert.equal(header, 'frame,class,x1,y1,x2,y2,score');
  const parsed = rows.map((l) => l.split(','));
  assert.deepEqual([...new Set(parsed.map((p) => Number(p[0])))], [1, 2, 3], 'frames numbered from 1 in decode order');
  const people = parsed.filter((p) => p[1] === 'person');
  assert.ok(people.length >= 6, `the teacher sees the pedestrians (${people.length} boxes)`);
  for (const p of people) {
    const [x1, y1, x2, y2, score] = p.slice(2).map(Number) as [number, number, number, number, number];
    assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 768 && y2 <= 576 && x2 > x1 && y2 > y1, `box inside the 768x576 frame: ${p.join(',')}`);
    assert.ok(score >= 0.25 && score <= 1);
  }
});
