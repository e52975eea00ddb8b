import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { SampleConfig } from '../../src/config/schema.js';
import { sampleClip } from '../../src/sampling/sample.js';
import { cutDemo, splicedDemo, tempDir } from '../fixtures/clips.js';

const fx = await tempDir('moved');
test.after(() => fx.cleanup());
const [early, late, spliced, otherView] = await Promise.all([
  cutDemo(fx.dir, 'early.avi', { start: 0, seconds: 8 }),
  cutDemo(fx.dir, 'late.avi', { start: 50, seconds: 8 }),
  splicedDemo(fx.dir, 'spliced.avi', { seconds: 7 }),
  // another part of the scene, mirrored: what a bumped/re-aimed camera sees
  cutDemo(fx.dir, 'other.avi', { start: 20, seconds: 8, vf: 'crop=iw/2:ih/2:0:ih/2,scale=384:288,hflip' }),
]);
const sample: SampleConfig = { budget: 20, emptyShare: 0.1, dedupeThreshold: 2, valShare: 0.25, blockSeconds: 10 };
let n = 0;
const run = (clip: string, seconds: number, stateDir?: string, runKey?: string) =>
  sampleClip({ clip, cameraId: 'c', source: clip, sample, fps: 10, expectedSeconds: seconds, outDir: path.join(fx.dir, `o${n++}`), cameraStateDir: stateDir, runKey });

test('the camera moving within the window is detected; people walking are not a move', async () => {
  const still = (await run(early, 8)).manifest;
  assert.equal(still.cameraMoved, false, still.cameraMovedReason);
  assert.equal(still.cameraMovedReason, '');
  const moved = (await run(spliced, 14)).manifest;
  assert.equal(moved.cameraMoved, true);
  assert.match(moved.cameraMovedReason, /t=|t≈/);
});

test('compared with the previous run: same view passes, another view is flagged; retries agree', async () => {
  const state = path.join(fx.dir, 'state', 'c');
  const first = (await run(early, 8, state, 'run1')).manifest;
  assert.equal(first.cameraMoved, false);
  assert.equal(first.stats.previousCorrelation, null);
  await stat(path.join(state, 'background.png'));
  const second = (await run(late, 8, state, 'run2')).manifest;
  assert.equal(second.cameraMoved, false, second.cameraMovedReason);
  assert.ok((second.stats.previousCorrelation ?? 0) > 0.8, `correlation ${second.stats.previousCorrelation}`);
  const third = (await run(otherView, 8, state, 'run3')).manifest;
  assert.equal(third.cameraMoved, true);
  assert.match(third.cameraMovedReason, /previous run/);
  // a retried sample of the same run compares with the same earlier background
  const retry = (await run(otherView, 8, state, 'run3')).manifest;
  assert.equal(retry.cameraMoved, true);
  assert.equal(retry.stats.previousCorrelation, third.stats.previousCorrelation);
});
