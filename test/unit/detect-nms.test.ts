import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iou, nms, weightedBoxFusion } from '../../src/detect/nms.js';
import type { Detection } from '../../src/detect/types.js';

const d = (cls: number, score: number, box: [number, number, number, number]): Detection => ({ cls, score, box });

test('iou of identical, disjoint and half-overlapping boxes', () => {
  assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
  assert.ok(Math.abs(iou([0, 0, 10, 10], [5, 0, 15, 10]) - 50 / 150) < 1e-9);
});

test('nms keeps the best of overlapping boxes of one class', () => {
  const out = nms([d(0, 0.6, [1, 1, 11, 11]), d(0, 0.9, [0, 0, 10, 10]), d(0, 0.5, [50, 50, 60, 60])], 0.5);
  assert.deepEqual(out.map((x) => x.score), [0.9, 0.5]);
});

test('nms is class-aware: overlapping boxes of different classes both survive', () => {
  const out = nms([d(0, 0.9, [0, 0, 10, 10]), d(1, 0.8, [0, 0, 10, 10])], 0.5);
  assert.equal(out.length, 2);
});

test('nms threshold is strict and maxDetections caps the output', () => {
  // iou exactly 1/3 with threshold 1/3 -> kept
  assert.equal(nms([d(0, 0.9, [0, 0, 10, 10]), d(0, 0.8, [5, 0, 15, 10])], 1 / 3 + 1e-9).length, 2);
  assert.equal(nms([d(0, 0.9, [0, 0, 10, 10]), d(0, 0.8, [5, 0, 15, 10])], 0.3).length, 1);
  const many = Array.from({ length: 10 }, (_, i) => d(0, i / 10, [i * 20, 0, i * 20 + 10, 10]));
  assert.equal(nms(many, 0.5, 3).length, 3);
  assert.equal(nms([], 0.5).length, 0);
});

test('weighted box fusion averages agreeing boxes and keeps the best score', () => {
  const out = weightedBoxFusion([d(0, 0.8, [0, 0, 10, 10]), d(0, 0.8, [2, 0, 12, 10]), d(1, 0.5, [0, 0, 10, 10])], 0.5);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0]!.box, [1, 0, 11, 10]);
  assert.equal(out[0]!.score, 0.8);
  assert.equal(out[1]!.cls, 1);
});
