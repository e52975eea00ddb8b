import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOnnxDetector } from '../../src/detect/onnx-detector.js';
import { ModelLayoutError, selectDecoder } from '../../src/detect/decoders/index.js';
import type { Detection, RgbFrame } from '../../src/detect/types.js';
import { modelPath } from '../fixtures/detector-models.js';

const S = 64;
const blank = (w = S, h = S, v = 0): RgbFrame => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });

function near(actual: Detection[], expected: { cls: number; box: number[]; score?: number }[]): void {
  assert.equal(actual.length, expected.length, `got ${JSON.stringify(actual)}`);
  expected.forEach((e, i) => {
    const a = actual[i]!;
    assert.equal(a.cls, e.cls, `cls of #${i}`);
    a.box.forEach((v, k) => assert.ok(Math.abs(v - e.box[k]!) < 1e-3, `box #${i}: ${a.box} vs ${e.box}`));
    if (e.score !== undefined) assert.ok(Math.abs(a.score - e.score) < 1e-4, `score #${i}: ${a.score} vs ${e.score}`);
  });
}

const PERSON = [8, 16, 24, 48];
const CAR = [32, 32, 60, 40];

test('e2e [1,K,6] decodes boxes in input pixels, drops low scores', async () => {
  const det = await createOnnxDetector({ model: modelPath('e2e'), classNames: ['person', 'car'], resize: 'stretch' });
  try {
    assert.equal(det.layout, 'e2e');
    const [dets] = await det.detect([blank()]);
    near(dets!, [{ cls: 0, box: PERSON, score: 0.9 }, { cls: 1, box: CAR, score: 0.6 }]);
  } finally {
    await det.close();
  }
});

test('yolov8 [1,4+nc,N] decodes cx,cy,w,h with class-aware NMS', async () => {
  const det = await createOnnxDetector({ model: modelPath('yolov8'), classNames: ['person', 'car'] });
  try {
    assert.equal(det.layout, 'yolo');
    assert.match(det.describe, /yolov8/);
    const [dets] = await det.detect([blank()]);
    near(dets!, [
      { cls: 0, box: PERSON, score: 0.9 },
      { cls: 1, box: [9, 16, 25, 48], score: 0.75 },
      { cls: 1, box: CAR, score: 0.7 },
    ]);
  } finally {
    await det.close();
  }
});

test('yolov5 [1,N,5+nc] multiplies objectness and class score', async () => {
  const det = await createOnnxDetector({ model: modelPath('yolov5'), classNames: ['person', 'car'] });
  try {
    assert.match(det.describe, /yolov5/);
    const [dets] = await det.detect([blank()]);
    near(dets!, [{ cls: 0, box: PERSON, score: 0.9 }, { cls: 1, box: CAR, score: 0.6 }]);
  } finally {
    await det.close();
  }
});

test('ssd boxes + scores with a background column', async () => {
  const det = await createOnnxDetector({ model: modelPath('ssd'), classNames: ['person', 'car'] });
  try {
    assert.equal(det.layout, 'ssd');
    const [dets] = await det.detect([blank()]);
    near(dets!, [{ cls: 0, box: PERSON, score: 0.9 }, { cls: 1, box: CAR, score: 0.6 }]);
  } finally {
    await det.close();
  }
});

test('detr logits + normalized cxcywh boxes, no-object query dropped', async () => {
  const det = await createOnnxDetector({ model: modelPath('detr'), classNames: ['person', 'car'], scoreFloor: 0.3 });
  try {
    assert.equal(det.layout, 'detr');
    const [dets] = await det.detect([blank()]);
    const p0 = Math.exp(6) / (Math.exp(6) + Math.exp(-2) + 1);
    const p1 = Math.exp(4) / (Math.exp(-2) + Math.exp(4) + 1);
    near(dets!, [{ cls: 0, box: PERSON, score: p0 }, { cls: 1, box: CAR, score: p1 }]);
  } finally {
    await det.close();
  }
});

test('boxes map back to the original frame through the letterbox', async () => {
  // 128x64 frame letterboxed into 64x64: scale 0.5, 16 px padding top and bottom.
  const det = await createOnnxDetector({ model: modelPath('e2e'), classNames: ['person', 'car'], resize: 'letterbox' });
  try {
    const [dets] = await det.detect([blank(128, 64)]);
    // input box 8,16,24,48 -> ((x-0)/0.5, (y-16)/0.5)
    near(dets!, [{ cls: 0, box: [16, 0, 48, 64] }, { cls: 1, box: [64, 32, 120, 48] }]);
  } finally {
    await det.close();
  }
});

test('batching keeps frames in order (dynamic batch)', async () => {
  const det = await createOnnxDetector({ model: modelPath('e2e_mean'), classNames: ['person'], batchSize: 2, scoreFloor: 0, normalize: { scale: 1 } });
  try {
    assert.equal(det.batchSize, 2);
    const res = await det.detect([blank(S, S, 51), blank(S, S, 102), blank(S, S, 204)]);
    assert.deepEqual(res.map((r) => Math.round(r[0]!.score * 100)), [20, 40, 80]);
  } finally {
    await det.close();
  }
});

test('recycled input tensors carry each new frame, with one frame prepared while another runs', async () => {
  for (const workerThread of [true, false]) {
    const det = await createOnnxDetector({ model: modelPath('e2e_mean'), classNames: ['person'], scoreFloor: 0, normalize: { scale: 1 }, workerThread });
    try {
      // the annotate loop's overlap: frame k+1 is prepared while frame k runs, arrays come back for reuse
      const values = [51, 102, 51, 204, 153, 102];
      const scores: number[] = [];
      let next = det.prepare([blank(S, S, values[0])]);
      for (let k = 0; k < values.length; k++) {
        const cur = next;
        const running = det.runPrepared(cur);
        if (k + 1 < values.length) next = det.prepare([blank(S, S, values[k + 1])]);
        const [dets] = det.decodeBatch(await running, cur.transforms);
        scores.push(Math.round(dets![0]!.score * 100));
      }
      assert.deepEqual(scores, [20, 40, 20, 80, 60, 40], `workerThread=${workerThread}`);
    } finally {
      await det.close();
    }
  }
});

test('a model with outputs fitting no decoder fails with the shapes named', async () => {
  await assert.rejects(
    createOnnxDetector({ model: modelPath('bad'), classNames: ['person'] }),
    (err: Error) => err instanceof ModelLayoutError && /weird \[1,7,3,2\]/.test(err.message),
  );
  // a declared layout that does not match is an error too, not a silent misdecode
  await assert.rejects(
    createOnnxDetector({ model: modelPath('yolov8'), classNames: ['person', 'car'], layout: 'e2e' }),
    (err: Error) => err instanceof ModelLayoutError && /output0 \[1,6,5\]/.test(err.message),
  );
});

test('layout detection from shapes', () => {
  const o = (name: string, dims: number[], fill = 0.5) => ({ name, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill) });
  assert.equal(selectDecoder([o('d', [1, 100, 6])], 'auto').layout, 'e2e');
  assert.match(selectDecoder([o('o', [1, 84, 8400])], 'auto').describe, /yolov8/);
  assert.match(selectDecoder([o('o', [1, 25200, 85])], 'auto').describe, /yolov5/);
  assert.match(selectDecoder([o('o', [1, 8400, 6])], 'auto', 1).describe, /yolov5/);
  assert.equal(selectDecoder([o('b', [1, 100, 4]), o('s', [1, 100, 91])], 'auto').layout, 'ssd');
  assert.equal(selectDecoder([o('b', [1, 100, 4]), o('s', [1, 100, 92], -3)], 'auto').layout, 'detr');
  assert.throws(() => selectDecoder([o('x', [1, 3])], 'auto'), /x \[1,3\]/);
});
