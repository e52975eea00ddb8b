import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFlipped, detectScaled, planScaleTiles } from '../../src/annotate/tta.js';
import { configSchema } from '../../src/config/schema.js';
import type { Detection, Detector, RgbFrame } from '../../src/detect/types.js';

/**
 * A "detector" that finds white blobs: it reports the bounding box of the white pixels of each
 * image it is given, in that image's pixels, and records the sizes it saw. Whatever the TTA does
 * to the frame (tiles, padding, mirroring), the boxes it hands back must land on the white
 * square's pixels in the frame.
 */
class WhiteBoxDetector implements Detector {
  readonly classNames = ['thing'];
  seen: Array<[number, number]> = [];
  async detect(frames: readonly RgbFrame[]): Promise<Detection[][]> {
    return frames.map((f) => {
      this.seen.push([f.width, f.height]);
      let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
      for (let y = 0; y < f.height; y++)
        for (let x = 0; x < f.width; x++)
          if (f.data[(y * f.width + x) * 3] === 255) {
            x1 = Math.min(x1, x);
            y1 = Math.min(y1, y);
            x2 = Math.max(x2, x + 1);
            y2 = Math.max(y2, y + 1);
          }
      return x2 < 0 ? [] : [{ cls: 0, score: 0.9, box: [x1, y1, x2, y2] }];
    });
  }
  async close(): Promise<void> {}
}

function frameWithSquare(w: number, h: number, sq: [number, number, number, number]): RgbFrame {
  const data = new Uint8Array(w * h * 3).fill(30);
  for (let y = sq[1]; y < sq[3]; y++) for (let x = sq[0]; x < sq[2]; x++) data.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, data };
}

test('scale tiles cover the frame, overlap by a quarter tile or more, and show it `scale` times larger', () => {
  for (const [w, h, s] of [[768, 576, 1.5], [768, 576, 2], [1920, 1080, 3], [100, 60, 1.2]] as const) {
    const tiles = planScaleTiles(w, h, s);
    const tw = Math.round(w / s);
    const th = Math.round(h / s);
    for (const t of tiles) {
      assert.deepEqual([t[2] - t[0], t[3] - t[1]], [tw, th]);
      assert.ok(t[0] >= 0 && t[1] >= 0 && t[2] <= w && t[3] <= h, `tile ${t} inside ${w}x${h}`);
    }
    // every pixel row/column is covered, and neighbouring tiles overlap by >= tile/4
    const xs = [...new Set(tiles.map((t) => t[0]))].sort((a, b) => a - b);
    assert.equal(xs[0], 0);
    assert.equal(xs[xs.length - 1]! + tw, w);
    for (let i = 1; i < xs.length; i++) assert.ok(xs[i - 1]! + tw - xs[i]! >= tw / 4 - 1, `x overlap at ${w}x${h} scale ${s}`);
  }
});

test('zoom-in TTA: boxes from the tiles land back on the object; objects cut by a tile edge are dropped', async () => {
  const sq: [number, number, number, number] = [500, 300, 540, 380];
  const frame = frameWithSquare(768, 576, sq);
  const det = new WhiteBoxDetector();
  const dets = await detectScaled(det, frame, 1.5);
  assert.ok(det.seen.length >= 4 && det.seen.every(([w, h]) => w === 512 && h === 384), `tiles of 512x384: ${JSON.stringify(det.seen)}`);
  assert.ok(dets.length >= 1, 'seen whole in at least one tile');
  for (const d of dets) assert.deepEqual(d.box, sq);
});

test('zoom-out TTA: the frame is padded so objects look smaller, and boxes come back in frame pixels', async () => {
  const sq: [number, number, number, number] = [10, 20, 200, 560];
  const frame = frameWithSquare(768, 576, sq);
  const det = new WhiteBoxDetector();
  const dets = await detectScaled(det, frame, 0.5);
  assert.deepEqual(det.seen, [[1536, 1152]]);
  assert.deepEqual(dets.map((d) => d.box), [sq]);
  assert.deepEqual(await detectScaled(det, frame, 1), [], 'scale 1 is the full-frame pass: nothing extra');
});

test('flip TTA mirrors boxes back', async () => {
  const sq: [number, number, number, number] = [10, 20, 60, 90];
  const dets = await detectFlipped(new WhiteBoxDetector(), frameWithSquare(200, 100, sq));
  assert.deepEqual(dets.map((d) => d.box), [sq]);
});

test('teacher.ttaScales: validated, none by default', () => {
  const cam = (teacher: unknown) => configSchema.safeParse({ cameras: [{ id: 'c', source: 'x.mp4', teacher }] });
  const ok = cam({ ttaScales: [1.5, 0.75] });
  assert.ok(ok.success);
  assert.deepEqual(ok.data!.cameras[0]!.teacher.ttaScales, [1.5, 0.75]);
  assert.deepEqual(cam({}).data!.cameras[0]!.teacher.ttaScales, []);
  const one = cam({ ttaScales: [1] });
  assert.ok(!one.success && /scale 1 is the full-frame pass/.test(one.error.message));
  assert.ok(!cam({ ttaScales: [8] }).success);
});
