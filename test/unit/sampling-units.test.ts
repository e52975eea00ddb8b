import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreActivity } from '../../src/sampling/activity.js';
import { BackgroundModel, medianOf } from '../../src/sampling/background.js';
import { correlation } from '../../src/sampling/camera-moved.js';
import { GridSampler, meanAbsDiff } from '../../src/sampling/grid.js';
import { evenPick, selectFinal, slotOf } from '../../src/sampling/select.js';
import { makeBlockSplit } from '../../src/sampling/split.js';

test('grid sampling reads pixels across arbitrary chunk boundaries', () => {
  const w = 40, h = 30;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 31) % 256;
  const s = new GridSampler(w, h, 10);
  const whole = s.sample([rgb]).data;
  // split into odd-sized parts so many pixels straddle two parts
  const parts: Uint8Array[] = [];
  for (let o = 0; o < rgb.length; o += 7) parts.push(rgb.subarray(o, Math.min(rgb.length, o + 7)));
  assert.deepEqual(s.sample(parts).data, whole);
  assert.equal(s.step, 4);
  assert.equal(whole.length, 10 * 7);
});

test('incremental background median equals the batch median of the last samples', () => {
  let x = 7;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff) >> 16) & 255;
  const cells = 300;
  const m = new BackgroundModel(cells, 1, 9, 3);
  const grids: Uint8Array[] = [];
  for (let k = 0; k < 40; k++) {
    const g = new Uint8Array(cells).map(rnd);
    grids.push(g);
    m.push(g);
    const last = grids.slice(-9);
    if (last.length % 2 === 1) assert.deepEqual(m.background, medianOf(last, cells), `after ${k + 1} samples`);
  }
  assert.ok(m.warm);
});

test('activity: a moving blob gives a score and a box in frame pixels; an unchanged frame gives none', () => {
  const gw = 32, gh = 24, step = 4;
  const bg = new Uint8Array(gw * gh).fill(100);
  const frame = new Uint8Array(bg);
  for (let y = 5; y < 12; y++) for (let x = 10; x < 14; x++) frame[y * gw + x] = 200;
  const a = scoreActivity({ width: gw, height: gh, step, data: frame }, bg, gw * step, gh * step);
  assert.equal(a.motion.length, 1);
  assert.deepEqual(a.motion[0], [40, 20, 56, 48]);
  assert.ok(Math.abs(a.score - 28 / (gw * gh)) < 1e-9);
  const still = scoreActivity({ width: gw, height: gh, step, data: bg }, bg, 128, 96);
  assert.deepEqual(still, { score: 0, motion: [] });
  // isolated single-cell noise is not motion
  const noisy = new Uint8Array(bg);
  noisy[3] = 250;
  noisy[300] = 0;
  assert.equal(scoreActivity({ width: gw, height: gh, step, data: noisy }, bg, 128, 96).motion.length, 0);
});

/** Activity by the definition, plainly: threshold, 3x3 dilation, 4-connected components of the dilated mask, boxes around each component's foreground. */
function referenceActivity(data: Uint8Array, bg: Uint8Array, w: number, h: number, thr: number, minBlob: number): { score: number; boxes: string[] } {
  const fg = Array.from(data, (v, i) => Math.abs(v - bg[i]!) > thr);
  if (fg.filter(Boolean).length < minBlob) return { score: 0, boxes: [] };
  const at = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < w && y < h && fg[y * w + x]!;
  const dil = fg.map((_, i) => {
    const x = i % w, y = Math.floor(i / w);
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (at(x + dx, y + dy)) return true;
    return false;
  });
  const comp = new Array<number>(w * h).fill(-1);
  const boxes: string[] = [];
  let moving = 0;
  for (let s = 0; s < w * h; s++) {
    if (!dil[s] || comp[s]! >= 0) continue;
    const cells = [s];
    comp[s] = s;
    for (let k = 0; k < cells.length; k++) {
      const i = cells[k]!, x = i % w, y = Math.floor(i / w);
      for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]] as const) {
        const j = ny * w + nx;
        if (nx >= 0 && ny >= 0 && nx < w && ny < h && dil[j] && comp[j]! < 0) { comp[j] = s; cells.push(j); }
      }
    }
    const own = cells.filter((i) => fg[i]);
    if (own.length < minBlob) continue;
    moving += own.length;
    const xs = own.map((i) => i % w), ys = own.map((i) => Math.floor(i / w));
    boxes.push([Math.min(...xs), Math.min(...ys), Math.max(...xs) + 1, Math.max(...ys) + 1].join(','));
  }
  return { score: moving / (w * h), boxes: boxes.sort() };
}

test('activity equals the plain definition on random grids (blobs, noise, edges)', () => {
  let seed = 99;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let t = 0; t < 400; t++) {
    const w = 3 + Math.floor(rand() * 60), h = 2 + Math.floor(rand() * 45);
    const bg = new Uint8Array(w * h).fill(100);
    const data = new Uint8Array(bg);
    for (let b = Math.floor(rand() * 6); b > 0; b--) {
      const x0 = Math.floor(rand() * w), y0 = Math.floor(rand() * h), bw = 1 + Math.floor(rand() * 8), bh = 1 + Math.floor(rand() * 8);
      for (let y = y0; y < Math.min(h, y0 + bh); y++) for (let x = x0; x < Math.min(w, x0 + bw); x++) if (rand() < 0.8) data[y * w + x] = rand() < 0.5 ? 200 : 10;
    }
    for (let i = 0; i < w * h; i++) if (rand() < 0.01) data[i] = 180;
    const minBlob = Math.max(3, Math.round(w * h * 0.0004));
    const want = referenceActivity(data, bg, w, h, 25, minBlob);
    const got = scoreActivity({ width: w, height: h, step: 1, data }, bg, w, h);
    assert.equal(got.score, want.score, `grid ${t} (${w}x${h})`);
    assert.deepEqual(got.motion.map((b) => b.join(',')).sort(), want.boxes, `grid ${t} (${w}x${h})`);
  }
});

test('time-block split: whole blocks, evenly spread, deterministic, guard bands at train/val borders', () => {
  const s = makeBlockSplit(80, 10, 0.25);
  assert.equal(s.blocks, 8);
  assert.deepEqual(s.valBlocks, [1, 5]);
  const again = makeBlockSplit(80, 10, 0.25);
  for (let t = 0; t < 80; t += 0.1) {
    const v = s.splitOf(t);
    assert.equal(v, again.splitOf(t));
    const block = Math.floor(t / 10);
    if (v) assert.equal(v, s.valBlocks.includes(block) ? 'val' : 'train', `t=${t}`);
  }
  assert.equal(s.splitOf(10.2), null); // just inside a val block after a train block
  assert.equal(s.splitOf(9.95), null);
  assert.equal(s.splitOf(25), 'train');
  // a window shorter than blockSeconds still gets validation blocks
  const short = makeBlockSplit(6, 10, 0.25);
  assert.equal(short.blocks, 4);
  assert.equal(short.valBlocks.length, 1);
});

test('coverage: slots cover the window, final selection honours budget and empty share', () => {
  assert.equal(slotOf(0, 10, 100), 0);
  assert.equal(slotOf(99, 10, 100), 9);
  assert.equal(slotOf(150, 10, 100), 9); // frames past the expected end land in the last slot
  assert.deepEqual(evenPick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [1, 5, 8]);
  const mk = (index: number, empty: boolean) => ({ index, t: index / 10, score: empty ? 0 : 0.1, empty });
  const moving = Array.from({ length: 30 }, (_, i) => mk(i * 3, false));
  const empty = Array.from({ length: 6 }, (_, i) => mk(i * 3 + 1, true));
  const sel = selectFinal(moving, empty, 20, 0.1);
  assert.equal(sel.length, 20);
  assert.equal(sel.filter((c) => c.empty).length, 2);
  assert.deepEqual(sel.map((c) => c.index), [...sel.map((c) => c.index)].sort((a, b) => a - b));
  // too few moving frames: empties fill the budget
  const few = selectFinal(moving.slice(0, 3), empty, 8, 0.1);
  assert.equal(few.length, 8);
  assert.equal(few.filter((c) => c.empty).length, 5);
});

test('duplicate measure and background correlation', () => {
  const a = new Uint8Array(100).map((_, i) => i);
  assert.equal(meanAbsDiff(a, a), 0);
  assert.equal(meanAbsDiff(a, a.map((v) => v + 2)), 2);
  assert.ok(correlation(a, a.map((v) => v * 2 + 10)) > 0.999); // brightness/contrast change
  assert.ok(correlation(a, a.map((_, i) => 99 - i)) < -0.999); // different layout
});
