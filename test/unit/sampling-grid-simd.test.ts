import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { scoreActivity } from '../../src/sampling/activity.js';
import { BackgroundModel } from '../../src/sampling/background.js';
import { foregroundCells, gridKernels, LUMA_FULL, lumaToFullRange } from '../../src/sampling/grid-simd.js';
// the generator of the committed .wasm (plain JS, run by node: no types)
// @ts-expect-error -- an .mjs script without declarations
import { buildWasm, WASM_PATH } from '../../scripts/build-grid-wasm.mjs';

let seed = 12345;
const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;

/** Run `fn` with the SIMD kernels off (the plain JS versions). */
function withoutSimd<T>(fn: () => T): T {
  process.env.AUTOTUNER_GRID_SIMD = '0';
  try {
    return fn();
  } finally {
    delete process.env.AUTOTUNER_GRID_SIMD;
  }
}

test('the committed grid-simd.wasm is what scripts/build-grid-wasm.mjs builds from its source', async () => {
  const built = (await buildWasm()) as Buffer;
  const committed = await readFile(WASM_PATH as string);
  assert.ok(committed.equals(built), 'run node scripts/build-grid-wasm.mjs and commit the result');
  assert.ok(gridKernels(), 'the SIMD kernels load on this Node');
});

test('SIMD luma range stretch equals the LUMA_FULL table for every value and any length', () => {
  for (const n of [1, 15, 16, 17, 256, 6912, 6913]) {
    const data = new Uint8Array(n).map((_, i) => (i < 256 ? i : rand()));
    const want = data.map((v) => LUMA_FULL[v]!);
    const got = new Uint8Array(data);
    lumaToFullRange(got);
    assert.deepEqual(got, want, `length ${n}`);
  }
  // the table is the rounded BT.601 stretch, clamped
  assert.equal(LUMA_FULL[16], 0);
  assert.equal(LUMA_FULL[235], 255);
  assert.equal(LUMA_FULL[126], 128);
});

test('SIMD background median equals the JS model: every ring size, grid size, count, odd and even', () => {
  for (const size of [1, 2, 3, 5, 9, 15, 16, 17]) {
    for (const cells of [1, 15, 16, 17, 300]) {
      for (const interval of [1, 3]) {
        const simd = new BackgroundModel(cells, interval, size);
        const js = withoutSimd(() => new BackgroundModel(cells, interval, size));
        const taken: Uint8Array[] = [];
        for (let k = 0; k < 3 * size + 5; k++) {
          // values near each other too, so ties are common
          const g = new Uint8Array(cells).map(() => (k % 2 ? rand() : 100 + (rand() & 7)));
          const a = simd.push(g);
          const b = js.push(g);
          assert.equal(a, b);
          if (!a) continue;
          taken.push(g);
          const what = `size ${size}, ${cells} cells, interval ${interval}, sample ${taken.length}`;
          assert.deepEqual(simd.background, js.background, what);
          // and both are the value at index count >> 1 of each cell's sorted last `size` samples
          const last = taken.slice(-size);
          const cell = (cells * 7) % cells;
          const sorted = last.map((t) => t[cell]!).sort((x, y) => x - y);
          assert.equal(simd.background[cell], sorted[last.length >> 1], what);
          assert.equal(simd.warm, js.warm);
          assert.equal(simd.samples, js.samples);
        }
        assert.deepEqual(simd.reference, js.reference);
      }
    }
  }
});

test('a reseeded background starts again from that grid alone, SIMD and JS alike, its reference kept', () => {
  for (const size of [3, 15, 17]) {
    const cells = 300;
    const simd = new BackgroundModel(cells, 2, size);
    const js = withoutSimd(() => new BackgroundModel(cells, 2, size));
    for (let k = 0; k < 2 * size; k++) {
      const g = new Uint8Array(cells).map(() => rand());
      simd.push(g);
      js.push(g);
    }
    const reference = simd.reference;
    // the picture changes light: the next samples are of the new one only
    const seed = new Uint8Array(cells).map(() => 200 + (rand() & 15));
    simd.reseed(seed);
    js.reseed(seed);
    assert.deepEqual(simd.background, seed);
    assert.deepEqual(js.background, seed);
    assert.equal(simd.samples, 1);
    assert.equal(simd.warm, false);
    assert.equal(simd.reference, reference, 'the window start stays the reference');
    const taken = [seed];
    for (let k = 0; k < 7; k++) {
      const g = new Uint8Array(cells).map(() => 200 + (rand() & 15));
      const a = simd.push(g);
      assert.equal(js.push(g), a);
      // the next sample comes `interval` frames after the seed
      assert.equal(a, k % 2 === 1, `frame ${k} after the seed`);
      if (!a) continue;
      taken.push(g);
      assert.deepEqual(simd.background, js.background);
      const sorted = taken.slice(-size).map((t) => t[5]!).sort((x, y) => x - y);
      assert.equal(simd.background[5], sorted[Math.min(size, taken.length) >> 1]);
    }
  }
});

test('SIMD foreground cells equal the plain threshold test, in order, for any length and threshold', () => {
  for (const n of [1, 15, 16, 17, 100, 6912, 6913]) {
    for (const threshold of [0, 1, 25, 254, 255]) {
      const grid = new Uint8Array(n).map(() => rand());
      const bg = new Uint8Array(n).map((_, i) => (i % 3 ? grid[i]! : rand()));
      const a = new Int32Array(n);
      const b = new Int32Array(n);
      const count = foregroundCells(grid, bg, threshold, a);
      const want = withoutSimd(() => foregroundCells(grid, bg, threshold, b));
      assert.equal(count, want, `n ${n}, threshold ${threshold}`);
      assert.deepEqual(a.subarray(0, count), b.subarray(0, want), `n ${n}, threshold ${threshold}`);
    }
  }
});

test('activity scores and boxes are the same with and without the SIMD kernels', () => {
  for (let t = 0; t < 200; t++) {
    const w = 3 + (rand() % 90);
    const h = 2 + (rand() % 70);
    const bg = new Uint8Array(w * h).map(() => 90 + (rand() & 15));
    const data = new Uint8Array(bg);
    for (let b = rand() % 6; b > 0; b--) {
      const x0 = rand() % w, y0 = rand() % h, bw = 1 + (rand() % 9), bh = 1 + (rand() % 9);
      for (let y = y0; y < Math.min(h, y0 + bh); y++) for (let x = x0; x < Math.min(w, x0 + bw); x++) data[y * w + x] = rand() < 128 ? 220 : 5;
    }
    const grid = { width: w, height: h, step: 8, data };
    const simd = scoreActivity(grid, bg, w * 8, h * 8);
    const js = withoutSimd(() => scoreActivity(grid, bg, w * 8, h * 8));
    assert.deepEqual(simd, js, `grid ${t} (${w}x${h})`);
  }
});
