import childProcess, { type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeFrames, frameBytesOf, type DecodedFrame } from '../../src/video/decode.js';
import { locateFfmpeg } from '../../src/video/ffmpeg.js';
import { GridSampler, lumaToGrey } from '../../src/sampling/grid.js';
import { cutDemo, tempDir } from '../fixtures/clips.js';

/** A frame as index, wholeness and a digest of its bytes and grid: what two decodes must agree on. */
function frameKey(f: DecodedFrame): string {
  const h = createHash('sha256');
  for (const p of f.parts) h.update(p);
  if (f.grid) h.update(f.grid.luma);
  return `${f.index}:${f.whole}:${h.digest('hex').slice(0, 16)}`;
}

/** Run a decode through a plain pipe (channel = false) or the socket channel. */
async function decodeVia<T>(channel: boolean, run: () => Promise<T>): Promise<T> {
  if (!channel) process.env.AUTOTUNER_PIPE_CHANNEL = '0';
  try {
    return await run();
  } finally {
    delete process.env.AUTOTUNER_PIPE_CHANNEL;
  }
}

test('decodeFrames backpressure: a slow async consumer gets every frame in order, few frames pending', async () => {
  const { dir, cleanup } = await tempDir('decode-bp');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 6 });
    const all = await decodeFrames({ source: clip }, () => {});
    // both ways frames come in: the socket channel (frame buffers from a pool) and a plain pipe
    for (const channel of [true, false]) {
      const what = channel ? 'socket channel' : 'pipe';
      // pipe: count the bytes decodeFrames reads from ffmpeg's stdout (spawn wrapped for this decode only)
      let piped = 0;
      const realSpawn = childProcess.spawn;
      (childProcess as { spawn: unknown }).spawn = (...args: unknown[]): ChildProcess => {
        const child = (realSpawn as (...a: unknown[]) => ChildProcess)(...args);
        child.stdout?.on('data', (c: Buffer) => (piped += c.length));
        return child;
      };
      syncBuiltinESMExports();
      if (!channel) process.env.AUTOTUNER_PIPE_CHANNEL = '0';
      const seen: number[] = [];
      const buffers = new Set<ArrayBufferLike>();
      let started = 0;
      let finished = 0;
      let maxPending = 0;
      let maxHeldFrames = 0;
      let s;
      try {
        s = await decodeFrames({ source: clip }, async (f) => {
          started++;
          maxPending = Math.max(maxPending, started - finished);
          for (const p of f.parts) buffers.add(p.buffer);
          // frames read from the pipe but not yet consumed (this one included)
          const frameBytes = f.width * f.height * 3;
          maxHeldFrames = Math.max(maxHeldFrames, piped / frameBytes - f.index);
          await sleep(3);
          seen.push(f.index);
          finished++;
        });
      } finally {
        (childProcess as { spawn: unknown }).spawn = realSpawn;
        syncBuiltinESMExports();
        delete process.env.AUTOTUNER_PIPE_CHANNEL;
      }
      assert.equal(s.frames, all.frames, what);
      assert.ok(all.frames >= 50);
      // the last promise settled before decodeFrames resolved
      assert.equal(seen.length, all.frames, what);
      assert.deepEqual(seen, Array.from({ length: all.frames }, (_, i) => i), what);
      // one frame handed over at a time: the next waits for the previous promise
      assert.equal(maxPending, 1, what);
      if (channel) {
        // each frame arrives whole in one buffer, and the reads stop while the consumer works: the
        // same few buffers go round (a read-ahead of N frames would need N of them at once)
        assert.equal(piped, 0, 'nothing came through a pipe');
        assert.ok(buffers.size <= 3, `a few frame buffers reused, saw ${buffers.size} for ${all.frames} frames`);
      } else {
        // the pipe is paused while the consumer works: at most ~2 frames (plus a chunk) held, not the whole clip
        assert.ok(maxHeldFrames <= 2.5, `at most ~2 frames read ahead, saw ${maxHeldFrames.toFixed(2)}`);
      }
    }
  } finally {
    await cleanup();
  }
});

test('decodeFrames: the socket channel and the pipe give the same bytes (whole frames and grid mode)', async () => {
  const { dir, cleanup } = await tempDir('decode-channel');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 4 });
    const digest = (channel: boolean, grid?: { step: number; every: number }): Promise<string[]> =>
      decodeVia(channel, async () => {
        const out: string[] = [];
        await decodeFrames({ source: clip, pixelFormat: 'yuv420p', grid }, (f) => {
          // through the channel a frame lands whole in one buffer
          if (channel && f.whole) assert.equal(f.parts.length, 1);
          out.push(frameKey(f));
        });
        return out;
      });
    for (const grid of [undefined, { step: 8, every: 3 }]) {
      const viaChannel = await digest(true, grid);
      assert.ok(viaChannel.length >= 30);
      assert.deepEqual(viaChannel, await digest(false, grid), grid ? 'grid mode' : 'whole frames');
    }
  } finally {
    await cleanup();
  }
});

test('decodeFrames swap: a kept channel buffer is never refilled, the replacement is, the pipe copies', async () => {
  const { dir, cleanup } = await tempDir('decode-swap');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 3 });
    const digestOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    for (const grid of [undefined, { step: 8, every: 2 }]) {
      const what = grid ? 'grid mode' : 'whole frames';
      // the frames' pixels by index, through the pipe (which copies: nothing to swap there)
      const expected = new Map<number, string>();
      await decodeVia(false, () =>
        decodeFrames({ source: clip, pixelFormat: 'yuv420p', grid }, (f) => {
          if (!f.whole) return;
          assert.equal(f.swap(new Uint8Array(frameBytesOf(f.format, f.width, f.height))), null);
          const h = createHash('sha256');
          for (const p of f.parts) h.update(p);
          expected.set(f.index, h.digest('hex'));
        }),
      );
      const kept: Array<{ index: number; digest: string; buf: Uint8Array }> = [];
      const replacements = new Set<Uint8Array>();
      let refilled = 0;
      await decodeVia(true, () =>
        decodeFrames({ source: clip, pixelFormat: 'yuv420p', grid }, async (f) => {
          if (!f.whole) return;
          const bytes = frameBytesOf(f.format, f.width, f.height);
          if (replacements.has(f.parts[0]!)) refilled++;
          assert.equal(f.swap(new Uint8Array(bytes - 1)), null, 'a wrong-sized replacement is refused');
          // keep every other frame; the others go back to the pool as usual
          if (f.index % 2 === 0) {
            const replacement = new Uint8Array(bytes);
            const own = f.swap(replacement);
            assert.ok(own && own === f.parts[0], `${what}: frame ${f.index} handed over`);
            assert.equal(f.swap(new Uint8Array(bytes)), null, 'a frame is swapped once');
            replacements.add(replacement);
            kept.push({ index: f.index, digest: digestOf(own), buf: own });
          }
          // a later turn of the event loop: the decoder reads on while we hold the kept buffers
          await sleep(1);
        }),
      );
      assert.ok(kept.length >= 10, what);
      for (const k of kept) {
        assert.equal(digestOf(k.buf), k.digest, `${what}: kept frame ${k.index} unchanged after every later read`);
        assert.equal(k.digest, expected.get(k.index), `${what}: kept frame ${k.index} has the pipe's bytes`);
      }
      assert.ok(refilled > 0, `${what}: the replacement buffers were filled with later frames`);
    }
  } finally {
    await cleanup();
  }
});

test('decodeFrames backpressure: a rejected promise fails the decode with that error', async () => {
  const { dir, cleanup } = await tempDir('decode-bp-err');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 3 });
    // whole frames, and grid mode (two pipes)
    for (const grid of [undefined, { step: 8, every: 2 }]) {
      let calls = 0;
      const boom = new Error('consumer failed');
      await assert.rejects(
        decodeFrames({ source: clip, grid, pixelFormat: 'yuv420p' }, async (f) => {
          calls++;
          await sleep(1);
          if (f.index === 3) throw boom;
        }),
        (e) => e === boom,
      );
      assert.equal(calls, 4, grid ? 'grid mode' : 'whole frames'); // no frame after the failing one is handed over
    }
  } finally {
    await cleanup();
  }
});

test('decodeFrames yuv420p: half the bytes, Y plane is grey, toRgb matches ffmpeg rgb24', async () => {
  const { dir, cleanup } = await tempDir('decode-yuv');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 2 });
    const rgb: Uint8Array[] = [];
    await decodeFrames({ source: clip, maxFrames: 5 }, (f) => {
      rgb.push(f.toRgb().data);
    });
    const conv: Uint8Array[] = [];
    const grey: Uint8Array[] = [];
    const greyFromRgb: Uint8Array[] = [];
    let sampler: GridSampler | null = null;
    let rgbSampler: GridSampler | null = null;
    const reuse = { buf: null as Uint8Array | null };
    await decodeFrames({ source: clip, maxFrames: 5, pixelFormat: 'yuv420p' }, (f) => {
      assert.equal(f.format, 'yuv420p');
      assert.equal(f.parts.reduce((a, p) => a + p.length, 0), frameBytesOf('yuv420p', f.width, f.height));
      assert.equal(frameBytesOf('yuv420p', f.width, f.height) * 2, frameBytesOf('rgb24', f.width, f.height));
      sampler ??= new GridSampler(f.width, f.height, 96, 1);
      rgbSampler ??= new GridSampler(f.width, f.height, 96, 3);
      grey.push(sampler.sample(f.parts).data);
      reuse.buf ??= new Uint8Array(f.width * f.height * 3);
      const data = f.toRgb(reuse.buf).data;
      assert.equal(data, reuse.buf);
      conv.push(data.slice());
      greyFromRgb.push(rgbSampler.sample([rgb[f.index]!]).data);
    });
    assert.equal(conv.length, 5);
    for (let i = 0; i < 5; i++) {
      let d = 0;
      for (let j = 0; j < conv[i]!.length; j++) d += Math.abs(conv[i]![j]! - rgb[i]![j]!);
      assert.ok(d / conv[i]!.length < 3, `frame ${i}: mean |yuv→rgb − ffmpeg rgb24| = ${(d / conv[i]!.length).toFixed(2)}`);
      // luma grid ≈ (R+2G+B)/4 grid, on the same full-range scale
      let g = 0;
      for (let j = 0; j < grey[i]!.length; j++) g += Math.abs(grey[i]![j]! - greyFromRgb[i]![j]!);
      assert.ok(g / grey[i]!.length < 8, `frame ${i}: mean |luma − rgb grey| = ${(g / grey[i]!.length).toFixed(2)}`);
    }
  } finally {
    await cleanup();
  }
});

test('decodeFrames grid mode: every frame\'s grid, every k-th frame whole, in order, under backpressure', async () => {
  const { dir, cleanup } = await tempDir('decode-grid');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 4 });
    const plain = await decodeFrames({ source: clip, pixelFormat: 'yuv420p' }, () => {});
    let sampler: GridSampler | null = null;
    const seen: number[] = [];
    let wholes = 0;
    let grids = 0;
    const s = await decodeFrames({ source: clip, pixelFormat: 'yuv420p', grid: { step: 4, every: 3 } }, async (f) => {
      seen.push(f.index);
      assert.ok(f.grid, `frame ${f.index} has its grid`);
      assert.equal(f.grid.luma.length, f.grid.width * f.grid.height);
      // 384x288 in cells of 4 pixels
      assert.deepEqual([f.grid.width, f.grid.height, f.grid.step], [96, 72, 4]);
      grids++;
      assert.equal(f.whole, f.index % 3 === 0, `frame ${f.index}`);
      if (f.whole) {
        wholes++;
        assert.equal(f.parts.reduce((a, p) => a + p.length, 0), frameBytesOf('yuv420p', f.width, f.height));
        // the grid holds the luma at each cell's centre pixel: what GridSampler reads from the whole frame
        sampler ??= new GridSampler(f.width, f.height, 96, 1);
        const fromWhole = sampler.sample(f.parts).data;
        const fromGrid = lumaToGrey(f.grid).data;
        assert.deepEqual([...fromGrid], [...fromWhole], `frame ${f.index}: grid differs from the whole frame's cells`);
      } else {
        assert.equal(f.parts.length, 0);
        assert.throws(() => f.toRgb(), /grid alone/);
      }
      if (f.index % 7 === 0) await sleep(2);
    });
    assert.deepEqual(seen, Array.from({ length: plain.frames }, (_, i) => i));
    assert.equal(s.frames, plain.frames);
    assert.equal(grids, plain.frames);
    assert.equal(wholes, Math.ceil(plain.frames / 3));
    assert.deepEqual([s.width, s.height, s.fps], [plain.width, plain.height, plain.fps]);
    // with the fps and scale filters and a frame window
    let last = -1;
    const w = await decodeFrames({ source: clip, fps: 5, width: 160, maxFrames: 12, pixelFormat: 'yuv420p', grid: { step: 2, every: 4 } }, (f) => {
      last = f.index;
      assert.deepEqual([f.width, f.height, f.grid!.width, f.grid!.height], [160, 120, 80, 60]);
    });
    assert.deepEqual([w.frames, last, w.fps], [12, 11, 5]);
  } finally {
    await cleanup();
  }
});

test('decodeFrames: frames written before ffmpeg has printed its header are kept, not waited on (no deadlock)', async () => {
  const { dir, cleanup } = await tempDir('decode-late-header');
  const saved = process.env.FFMPEG_PATH;
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 3 });
    const real = await locateFfmpeg({ refresh: true });
    const expected: string[] = [];
    const grid = { step: 8, every: 2 };
    await decodeFrames({ source: clip, pixelFormat: 'yuv420p', grid }, (f) => void expected.push(frameKey(f)));
    // An ffmpeg that prints its header only after it has written every frame (megabytes: far more
    // than a socket or pipe buffer holds). A reader that waits for the header before it reads
    // anything never sees the header.
    const wrapper = path.join(dir, 'ffmpeg-late-header');
    await writeFile(
      wrapper,
      `#!/bin/sh\nif [ "$1" = "-version" ]; then exec "${real.path}" "$@"; fi\n"${real.path}" "$@" 2>"${dir}/stderr.txt"\ncode=$?\ncat "${dir}/stderr.txt" >&2\nexit $code\n`,
    );
    await chmod(wrapper, 0o755);
    process.env.FFMPEG_PATH = wrapper;
    assert.equal((await locateFfmpeg({ refresh: true })).path, wrapper);
    for (const channel of [true, false]) {
      const got: string[] = [];
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error('decode stalled: frames before the header were not read')), 30_000);
      try {
        await decodeVia(channel, () => decodeFrames({ source: clip, pixelFormat: 'yuv420p', grid, signal: ac.signal }, (f) => void got.push(frameKey(f))));
      } finally {
        clearTimeout(timer);
      }
      assert.deepEqual(got, expected, channel ? 'socket channel' : 'pipe');
    }
  } finally {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
    await locateFfmpeg({ refresh: true });
    await cleanup();
  }
});
