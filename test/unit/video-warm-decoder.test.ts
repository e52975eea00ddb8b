import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeFrames, prewarmDecode, type DecodedFrame, type DecodeOptions } from '../../src/video/decode.js';
import { SourceInvalidError } from '../../src/video/errors.js';
import { locateFfmpeg } from '../../src/video/ffmpeg.js';
import { warmDecoderStats } from '../../src/video/warm-decoder.js';
import { cameraSchema } from '../../src/config/schema.js';
import { withWarmSampleDecoder } from '../../src/sampling/sample-step.js';
import { cutDemo, garbage, tempDir } from '../fixtures/clips.js';

const repo = path.resolve(import.meta.dirname, '../..');

function frameKey(f: DecodedFrame): string {
  const h = createHash('sha256');
  for (const p of f.parts) h.update(p);
  if (f.grid) h.update(f.grid.luma);
  return `${f.index}:${f.whole}:${h.digest('hex').slice(0, 16)}`;
}

async function decodeKeys(opts: DecodeOptions): Promise<string[]> {
  const keys: string[] = [];
  await decodeFrames(opts, (f) => void keys.push(frameKey(f)));
  return keys;
}

/** pids of live processes whose command line mentions `needle` (a waiting decoder names its link directory) */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z /.test(stat)) continue; // exited, not yet reaped
      if ((await readFile(`/proc/${name}/cmdline`, 'utf8')).includes(needle)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** warm decoders' link directories in `tmp` (tsx keeps its cache there too) */
async function linkDirs(tmp: string): Promise<string[]> {
  return (await readdir(tmp)).filter((n) => n.startsWith('autotuner-warm-'));
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) assert.fail(`still not: ${what}`);
    await sleep(50);
  }
}

/**
 * Run `body` in a fresh fixture directory, with the temp directory (where warm decoders keep their
 * input links) set to a fresh one inside it; both are removed afterwards.
 */
async function inFixture(label: string, body: (dir: string, tmp: string) => Promise<void>): Promise<void> {
  const fx = await tempDir(label);
  const tmp = path.join(fx.dir, 'tmp');
  await mkdir(tmp);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    await body(fx.dir, tmp);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await fx.cleanup();
  }
}

const linux = process.platform === 'linux';

test('a warm decoder gives the same frames as a cold decode, and only a decode with the same arguments takes it', async () => {
  await inFixture('wd-frames', async (dir, tmp) => {
    const clip = await cutDemo(dir, 'c.mkv', { seconds: 4 });
    const opts: DecodeOptions = { source: clip, fps: 10, pixelFormat: 'yuv420p', checkTruncation: true, grid: { step: 8, every: 3 } };
    const cold = await decodeKeys(opts);
    assert.equal(cold.length, 40);
    const before = warmDecoderStats();
    // step and stride are placeholders: they live in the filter graph, given when the decoder is taken
    const lease = await prewarmDecode({ ...opts, source: '/placeholder.mkv', grid: { step: 4, every: 2 } });
    assert.equal(warmDecoderStats().waiting, before.waiting + 1);
    assert.equal(warmDecoderStats().warmed, before.warmed + 1);
    // other output arguments (rgb24) or another container: started cold, the warm one left waiting
    await decodeFrames({ ...opts, pixelFormat: 'rgb24' }, () => {});
    const avi = await cutDemo(dir, 'c.avi', { seconds: 1 });
    await decodeFrames({ ...opts, source: avi }, () => {});
    assert.equal(warmDecoderStats().taken, before.taken);
    lease.release(60_000);
    const warm = await decodeKeys(opts);
    assert.equal(warmDecoderStats().taken, before.taken + 1);
    assert.equal(warmDecoderStats().waiting, before.waiting);
    assert.deepEqual(warm, cold);
    // the input link and its directory are gone with the decode
    assert.deepEqual(await linkDirs(tmp), []);
  });
});

test('a warm decoder no decode takes is stopped: at once after a failed step, after its keep time otherwise', async () => {
  await inFixture('wd-stop', async (_dir, tmp) => {
    const opts: DecodeOptions = { source: '/placeholder.mkv', pixelFormat: 'yuv420p', grid: { step: 8, every: 3 } };
    const before = warmDecoderStats();
    const failed = await prewarmDecode(opts);
    if (linux) assert.equal((await processesMentioning(tmp)).length, 1, 'a waiting ffmpeg');
    failed.release(0);
    assert.equal(warmDecoderStats().waiting, before.waiting);
    if (linux) await waitFor('the ffmpeg stopped', async () => (await processesMentioning(tmp)).length === 0);
    const unused = await prewarmDecode(opts);
    unused.release(200);
    assert.equal(warmDecoderStats().waiting, before.waiting + 1);
    await waitFor('the unused decoder stopped after its keep time', () => warmDecoderStats().waiting === before.waiting);
    if (linux) await waitFor('its ffmpeg gone', async () => (await processesMentioning(tmp)).length === 0);
    assert.deepEqual(await linkDirs(tmp), []);
  });
});

test('a warm decode of a broken file fails like a cold one, naming the file and not its link', async () => {
  await inFixture('wd-bad', async (dir) => {
    const bad = await garbage(path.join(dir, 'bad.mkv'));
    const opts: DecodeOptions = { source: bad, pixelFormat: 'yuv420p', grid: { step: 8, every: 3 } };
    const before = warmDecoderStats();
    (await prewarmDecode({ ...opts, source: '/placeholder.mkv' })).release(60_000);
    await assert.rejects(decodeFrames(opts, () => {}), (e: Error) => {
      assert.ok(e instanceof SourceInvalidError, `${e.name}: ${e.message}`);
      assert.ok(e.message.includes(bad), e.message);
      assert.ok(!e.message.includes('autotuner-warm-'), e.message);
      return true;
    });
    assert.equal(warmDecoderStats().taken, before.taken + 1);
  });
});

test('a process that exits with a decoder waiting is not held by it and leaves no ffmpeg or link behind', { skip: !linux && 'reads /proc' }, async () => {
  await inFixture('wd-exit', async (_dir, tmp) => {
    const script =
      `import { prewarmDecode } from './src/video/decode.ts';` +
      `await prewarmDecode({ source: '/placeholder.mkv', pixelFormat: 'yuv420p', grid: { step: 8, every: 3 } });` +
      `console.log('warmed');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0);
    assert.match(out, /warmed/);
    await waitFor('no ffmpeg left waiting', async () => (await processesMentioning(tmp)).length === 0);
    assert.deepEqual(await linkDirs(tmp), []);
  });
});

test('a capture warms the sample decoder once its recording starts, and a failed capture stops it at once', async () => {
  await inFixture('wd-capture', async (_dir, tmp) => {
    const camera = cameraSchema.parse({ id: 'w', source: '/nowhere.avi' });
    const before = warmDecoderStats();
    await assert.rejects(
      withWarmSampleDecoder(camera, async (recording) => {
        recording();
        recording(); // once per capture, however often the recorder reports it
        await sleep(100);
        throw new Error('camera gone');
      }),
      /camera gone/,
    );
    assert.equal(warmDecoderStats().warmed, before.warmed + 1);
    assert.equal(warmDecoderStats().waiting, before.waiting, 'stopped with the failed capture');
    if (linux) await waitFor('its ffmpeg gone', async () => (await processesMentioning(tmp)).length === 0);
    // a capture that never started recording (a resumed, finished file) warms nothing
    assert.equal(await withWarmSampleDecoder(camera, async () => 'done'), 'done');
    assert.equal(warmDecoderStats().warmed, before.warmed + 1);
  });
});

test('an ffmpeg that refuses how a warm decoder reads its graph gets the decode again, cold', async () => {
  const saved = process.env.FFMPEG_PATH;
  try {
    await inFixture('wd-refused', async (dir) => {
      const clip = await cutDemo(dir, 'c.mkv', { seconds: 2 });
      const opts: DecodeOptions = { source: clip, pixelFormat: 'yuv420p', grid: { step: 8, every: 2 } };
      const expected = await decodeKeys(opts);
      const real = await locateFfmpeg({ refresh: true });
      // refuses the graph-from-a-file option only once the graph has come (the worst moment: a
      // refusal before that ends the waiting decoder, and nothing takes it)
      const wrapper = path.join(dir, 'ffmpeg-refusing');
      await writeFile(
        wrapper,
        `#!/bin/sh\nfor a in "$@"; do case "$a" in -filter_complex_script|-/filter_complex) cat >/dev/null; echo "Unrecognized option '$a'." >&2; echo "Error splitting the argument list: Option not found" >&2; exit 1;; esac; done\nexec "${real.path}" "$@"\n`,
      );
      await chmod(wrapper, 0o755);
      process.env.FFMPEG_PATH = wrapper;
      assert.equal((await locateFfmpeg({ refresh: true })).path, wrapper);
      const before = warmDecoderStats();
      (await prewarmDecode({ ...opts, source: '/placeholder.mkv' })).release(60_000);
      assert.deepEqual(await decodeKeys(opts), expected);
      assert.equal(warmDecoderStats().taken, before.taken + 1, 'the warm decoder was taken, refused, and the decode ran cold');
    });
  } finally {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
    await locateFfmpeg({ refresh: true });
  }
});

test('where no link directory can be made (temp dir missing), nothing is warmed and the decode starts cold', async () => {
  await inFixture('wd-notmp', async (dir) => {
    const clip = await cutDemo(dir, 'c.mkv', { seconds: 1 });
    const opts: DecodeOptions = { source: clip, pixelFormat: 'yuv420p', grid: { step: 8, every: 2 } };
    const before = warmDecoderStats();
    process.env.TMPDIR = path.join(dir, 'does-not-exist');
    const lease = await prewarmDecode({ ...opts, source: '/placeholder.mkv' });
    lease.release(60_000);
    assert.deepEqual(warmDecoderStats(), before);
    assert.equal((await decodeKeys(opts)).length, 10);
  });
});
