import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findStatic, temporalConsistency } from '../../src/annotate/temporal.js';
import { applyThresholds, classMap, mapClasses, thresholds } from '../../src/annotate/labels.js';
import { planCrops } from '../../src/annotate/crops.js';
import type { Detection } from '../../src/detect/types.js';

const d = (x: number, score = 0.5, cls = 0): Detection => ({ cls, score, box: [x, 100, x + 40, 200] });

test('temporal: an isolated detection is down-weighted, a persistent one gains', () => {
  const frames = [
    { t: 0, dets: [d(100), d(500)] },
    { t: 0.5, dets: [d(104)] },
    { t: 1.0, dets: [d(108)] },
  ];
  const out = temporalConsistency(frames);
  assert.ok(out[0]![0]!.score > 0.5, 'walking person seen in both neighbours gains');
  assert.ok(Math.abs(out[0]![1]!.score - 0.3) < 1e-9, 'flicker at x=500 is down-weighted');
  assert.ok(out[0]![0]!.score <= 1);
});

test('temporal: frames outside the window do not count, lone frames stay unchanged', () => {
  const out = temporalConsistency([{ t: 0, dets: [d(100)] }, { t: 10, dets: [d(100)] }]);
  assert.equal(out[0]![0]!.score, 0.5);
  assert.equal(out[1]![0]!.score, 0.5);
});

test('temporal: the match is class-aware', () => {
  const out = temporalConsistency([{ t: 0, dets: [d(100, 0.5, 0)] }, { t: 1, dets: [d(100, 0.5, 1)] }]);
  assert.ok(out[0]![0]!.score < 0.5);
});

test('static: a box at the same place in most frames is flagged, a moving one is not', () => {
  const frames = Array.from({ length: 8 }, (_, i) => ({ t: i * 3, dets: [d(300), d(20 + i * 60)] }));
  frames[2]!.dets = [d(20 + 2 * 60)]; // the poster is missed once: still static
  const flags = findStatic(frames);
  assert.deepEqual(flags[0], [true, false]);
  assert.deepEqual(flags[2], [false]);
  assert.deepEqual(flags[7], [true, false]);
});

test('static: too few frames flags nothing', () => {
  const frames = Array.from({ length: 3 }, (_, i) => ({ t: i, dets: [d(300)] }));
  assert.deepEqual(findStatic(frames), [[false], [false], [false]]);
});

test('labels: allow-list by teacher class name and per-class thresholds', () => {
  const teacher = ['person', 'bicycle', 'car'];
  const map = classMap(teacher, { classes: ['car', 'person'] });
  const mapped = mapClasses([d(0, 0.5, 0), d(0, 0.5, 1), d(0, 0.35, 2)], map);
  assert.deepEqual(mapped.map((x) => x.cls), [1, 0]);
  const th = thresholds({ classes: ['car', 'person'], minScore: 0.3, classScores: { person: 0.6 } });
  assert.deepEqual(th, [0.3, 0.6]);
  assert.deepEqual(applyThresholds(mapped, th).map((x) => x.cls), [0]);
  assert.throws(() => classMap(teacher, { classes: ['forklift'] }), /"forklift".*not classes of the teacher/);
});

test('crops: small motion regions get square zoom crops inside the frame, big ones none', () => {
  const crops = planCrops([[700, 500, 730, 560], [0, 0, 500, 500]], 768, 576);
  assert.equal(crops.length, 1);
  const [c] = crops;
  assert.equal(c![2] - c![0], 120);
  assert.equal(c![3] - c![1], 120);
  assert.ok(c![2] <= 768 && c![3] <= 576 && c![0] >= 0 && c![1] >= 0);
  assert.ok(c![0] <= 700 && c![2] >= 730);
});
