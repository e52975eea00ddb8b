/**
 * A camera at night: its sensor's noise must not read as motion, and people walking through the
 * noise must still be found, with as many boxes as by day.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { SampleConfig } from '../../src/config/schema.js';
import type { SampleManifest } from '../../src/sampling/manifest.js';
import { BASE_DIFF_THRESHOLD, motionThreshold, noiseSigma } from '../../src/sampling/noise.js';
import { sampleClip } from '../../src/sampling/sample.js';
import { cutDemo, nightDemo, splicedDemo, tempDir } from '../fixtures/clips.js';

const fx = await tempDir('noise');
test.after(() => fx.cleanup());
// the same 12 s of the demo scene: by day, at night, and at night with nobody there
const [day, night, nightStill] = await Promise.all([
  cutDemo(fx.dir, 'day.avi', { start: 20, seconds: 12 }),
  nightDemo(fx.dir, 'night.mp4', { start: 20, seconds: 12 }),
  nightDemo(fx.dir, 'night-still.mp4', { start: 20, seconds: 12, still: true }),
]);
const cfg: SampleConfig = { budget: 30, emptyShare: 0.1, dedupeThreshold: 2, valShare: 0.25, blockSeconds: 10, candidatesPerSlot: 2, motionMask: [] };
let n = 0;
const sample = async (clip: string): Promise<SampleManifest> =>
  (await sampleClip({ clip, cameraId: 'c', source: clip, sample: cfg, fps: 10, expectedSeconds: 12, outDir: path.join(fx.dir, `out-${n++}`) })).manifest;
const boxesPerMovingFrame = (m: SampleManifest): number => {
  const moving = m.frames.filter((f) => !f.empty);
  return moving.reduce((s, f) => s + f.motion.length, 0) / Math.max(1, moving.length);
};

test('noise is measured against the background, whatever moves in a minority of the cells', () => {
  // a deterministic generator: Gaussian noise of σ 10 around a flat background
  let seed = 7;
  const uniform = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  const gauss = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const cells = 96 * 72;
  const background = new Uint8Array(cells).fill(100);
  const noisy = background.map(() => Math.max(0, Math.min(255, Math.round(100 + 10 * gauss()))));
  const sigma = noiseSigma(noisy, background);
  assert.ok(sigma > 8.5 && sigma < 11.5, `estimated σ ${sigma}`);
  // a tenth of the frame covered by something bright (a crowd by a static camera's standards):
  // the estimate moves by about an eighth
  const busy = noisy.map((v, i) => (i % 10 === 0 ? 250 : v));
  assert.ok(noiseSigma(busy, background) < sigma * 1.25, `with a tenth moving: ${noiseSigma(busy, background)}`);
  assert.equal(noiseSigma(background, background), 0);
  // the day threshold stays until the noise needs more; the rise is capped
  assert.equal(motionThreshold(0), BASE_DIFF_THRESHOLD);
  assert.equal(motionThreshold(3), BASE_DIFF_THRESHOLD);
  assert.equal(motionThreshold(10), 40);
  assert.equal(motionThreshold(19), 76);
  assert.equal(motionThreshold(40), 96);
});

test('a still scene at night is sampled as still, and people walking at night are found as by day', async () => {
  const [d, nt, ns] = [await sample(day), await sample(night), await sample(nightStill)];
  // by day: the fixed threshold, as before
  assert.ok(d.stats.noiseSigma! < 4, `day noise ${d.stats.noiseSigma}`);
  assert.equal(d.stats.motionThreshold, BASE_DIFF_THRESHOLD);
  // at night the noise is measured and the threshold follows it
  assert.ok(ns.stats.noiseSigma! > 10, `night noise ${ns.stats.noiseSigma}`);
  assert.ok(ns.stats.motionThreshold! >= 45, `night threshold ${ns.stats.motionThreshold}`);
  // nobody there: (almost) every frame empty. Against the day's threshold every frame had a dozen
  // boxes of noise, as many as when people walk through
  assert.ok(ns.stats.emptyFrameShare > 0.9, `still night: ${ns.stats.emptyFrameShare} of frames empty`);
  assert.ok(ns.frames.filter((f) => !f.empty).length <= 3, `still night: ${ns.frames.filter((f) => !f.empty).length} kept frames with motion`);
  // people at night: found in (almost) every frame, with about as many boxes as by day, not a
  // dozen of noise around them
  assert.ok(nt.stats.emptyFrameShare < 0.1, `night walk: ${nt.stats.emptyFrameShare} of frames empty`);
  assert.ok(nt.frames.filter((f) => !f.empty).length >= 0.8 * nt.frames.length);
  const [dayBoxes, nightBoxes] = [boxesPerMovingFrame(d), boxesPerMovingFrame(nt)];
  assert.ok(nightBoxes <= dayBoxes * 1.5 + 1, `boxes a frame: night ${nightBoxes.toFixed(2)}, day ${dayBoxes.toFixed(2)}`);
  // and the activity of a still night scene is far below that of a walk at night
  assert.ok(ns.stats.meanScore < nt.stats.meanScore / 5, `mean activity: still ${ns.stats.meanScore}, walk ${nt.stats.meanScore}`);
});

test('a camera moved at night is still seen to change wholesale at once, not only once its background has', async () => {
  // 7 s of the scene, then 7 s of another view of it: by day and at night
  const spliced = await splicedDemo(fx.dir, 'spliced.avi', { seconds: 7 });
  const dark = await nightDemo(fx.dir, 'spliced-night.mp4', { seconds: 14, from: spliced });
  for (const clip of [spliced, dark]) {
    const m = (await sampleClip({ clip, cameraId: 'c', source: clip, sample: cfg, fps: 10, expectedSeconds: 14, outDir: path.join(fx.dir, `out-${n++}`) })).manifest;
    assert.equal(m.cameraMoved, true, clip);
    // within two seconds of the move: the frames changed wholesale (the background's correlation
    // only drops seconds later, once the running background has taken the new view). A threshold
    // raised by the change itself had hidden that and left only the later finding.
    const at = /most of the image changed at once at t=([\d.]+)s/.exec(m.cameraMovedReason);
    assert.ok(at && Number(at[1]) >= 7 && Number(at[1]) <= 9, `${clip}: ${m.cameraMovedReason}`);
  }
});
