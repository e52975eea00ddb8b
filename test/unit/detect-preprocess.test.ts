import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeTransform, cropFrame, flipHorizontal, preprocessInto, toInput, toOriginal, type PreprocessSpec } from '../../src/detect/preprocess.js';
import type { RgbFrame } from '../../src/detect/types.js';

function frameWithRect(w: number, h: number, r: [number, number, number, number]): RgbFrame {
  const data = new Uint8Array(w * h * 3);
  for (let y = r[1]; y < r[3]; y++) for (let x = r[0]; x < r[2]; x++) data.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, data };
}

/** Bounding box of the bright pixels (channel 0 > 0.5) of an NCHW tensor. */
function brightBox(t: Float32Array, W: number, H: number): [number, number, number, number] {
  let x1 = W, y1 = H, x2 = 0, y2 = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (t[y * W + x]! > 0.5) {
        x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x + 1); y2 = Math.max(y2, y + 1);
      }
  return [x1, y1, x2, y2];
}

const spec = (resize: 'letterbox' | 'stretch'): PreprocessSpec => ({ width: 320, height: 320, resize, scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], padValue: 114 });

for (const resize of ['letterbox', 'stretch'] as const) {
  test(`${resize}: a box found in the input lands on the right pixels of the original`, () => {
    const rect: [number, number, number, number] = [400, 120, 480, 360]; // a 'person' in a 768x576 frame
    const frame = frameWithRect(768, 576, rect);
    const out = new Float32Array(3 * 320 * 320);
    const t = preprocessInto(frame, spec(resize), out);
    const back = toOriginal(brightBox(out, 320, 320), t);
    back.forEach((v, k) => assert.ok(Math.abs(v - rect[k]!) <= 3, `${resize}: ${back} vs ${rect}`));
    const fwd = toInput(rect, t);
    toOriginal(fwd, t).forEach((v, k) => assert.ok(Math.abs(v - rect[k]!) < 1e-9));
  });
}

test('letterbox centres the frame and pads with the pad value', () => {
  const t = computeTransform(768, 576, { width: 320, height: 320, resize: 'letterbox' });
  assert.equal(t.sx, 320 / 768);
  assert.equal(t.dx, 0);
  assert.equal(t.dy, 40);
  const out = new Float32Array(3 * 320 * 320);
  preprocessInto(frameWithRect(768, 576, [0, 0, 0, 0]), spec('letterbox'), out);
  assert.ok(Math.abs(out[0]! - 114 / 255) < 1e-6); // top padding row
  assert.equal(out[160 * 320 + 160], 0); // image area (black frame)
});

test('toOriginal clips to the frame', () => {
  const t = computeTransform(100, 50, { width: 100, height: 100, resize: 'letterbox' });
  assert.deepEqual(toOriginal([-10, 0, 120, 100], t), [0, 0, 100, 50]);
});

test('flip and crop', () => {
  const f = frameWithRect(10, 4, [0, 0, 2, 4]);
  const flipped = flipHorizontal(f);
  assert.equal(flipped.data[(0 * 10 + 9) * 3], 255);
  assert.equal(flipped.data[0], 0);
  const c = cropFrame(f, 1, 1, 3, 2);
  assert.equal(c.width, 3);
  assert.equal(c.height, 2);
  assert.deepEqual([...c.data.filter((_, i) => i % 3 === 0)], [255, 0, 0, 255, 0, 0]);
});
