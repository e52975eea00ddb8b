import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SampleConfig } from '../../src/config/schema.js';
import { sampleClip } from '../../src/sampling/sample.js';
import { cameraStateDir, sampleCapture } from '../../src/sampling/sample-step.js';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { cameraSchema } from '../../src/config/schema.js';
import { correlation, loadPreviousBackground, MOVED_CORRELATION, saveBackground } from '../../src/sampling/camera-moved.js';
import { cutDemo, duskDemo, ffmpeg, splicedDemo, tempDir } from '../fixtures/clips.js';

const fx = await tempDir('moved');
test.after(() => fx.cleanup());
const [early, late, spliced, otherView] = await Promise.all([
  cutDemo(fx.dir, 'early.avi', { start: 0, seconds: 8 }),
  cutDemo(fx.dir, 'late.avi', { start: 50, seconds: 8 }),
  splicedDemo(fx.dir, 'spliced.avi', { seconds: 7 }),
  // another part of the scene, mirrored: what a bumped/re-aimed camera sees
  cutDemo(fx.dir, 'other.avi', { start: 20, seconds: 8, vf: 'crop=iw/2:ih/2:0:ih/2,scale=384:288,hflip' }),
]);
const sample: SampleConfig = { budget: 20, emptyShare: 0.1, dedupeThreshold: 2, valShare: 0.25, blockSeconds: 10, candidatesPerSlot: 2, motionMask: [] };
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

test('a camera switching to its night picture mid-window has not moved: every cell changed, the scene did not', async () => {
  const dusk = await duskDemo(fx.dir, 'dusk.avi', { seconds: 7 });
  const m = (await run(dusk, 14)).manifest;
  // before, every cell changing at once for a second read as a bumped camera, at every dusk and dawn
  assert.equal(m.cameraMoved, false, m.cameraMovedReason);
  assert.ok(m.stats.backgroundCorrelation > MOVED_CORRELATION, `background correlation ${m.stats.backgroundCorrelation}`);
  // the background starts again from the night picture: no frame-wide "motion" for the seconds a
  // running median takes to turn over (before: 14 of 56 kept frames, t 7.4–10.4 s, each with a
  // box over most of the frame)
  const every = (await sampleClip({ clip: dusk, cameraId: 'c', source: dusk, sample: { ...sample, budget: 60, candidatesPerSlot: 1000 }, fps: 10, expectedSeconds: 14, outDir: path.join(fx.dir, `o${n++}`) })).manifest;
  assert.equal(every.stats.lightChanges, 1);
  const frameWide = every.frames.filter((f) => f.motion.some(([x1, y1, x2, y2]) => (x2 - x1) * (y2 - y1) > 0.5 * every.width * every.height));
  assert.deepEqual(frameWide.map((f) => f.t), [], 'kept frames with a box over half the frame');
  assert.ok(every.frames.filter((f) => f.t > 8).length >= 20, 'the night part is sampled as any other');
  // the same switch to another view is a move
  const moved = (await run(spliced, 14)).manifest;
  assert.match(moved.cameraMovedReason, /most of the image changed at once at t=7\.\d/);
});

test('grid mode (every k-th frame whole) detects the same move from the grids of all frames', async () => {
  // 14 s at 10 fps for a budget of 20 with one candidate a slot: every 7th frame comes whole
  const grid = (clip: string, seconds: number) =>
    sampleClip({ clip, cameraId: 'c', source: clip, sample: { ...sample, candidatesPerSlot: 1 }, fps: 10, clipWidth: 384, expectedSeconds: seconds, outDir: path.join(fx.dir, `o${n++}`) });
  const still = (await grid(early, 8)).manifest;
  assert.equal(still.stats.candidateStride, 4);
  assert.equal(still.cameraMoved, false, still.cameraMovedReason);
  const moved = (await grid(spliced, 14)).manifest;
  assert.equal(moved.stats.candidateStride, 7);
  assert.equal(moved.cameraMoved, true);
  assert.equal(moved.cameraMovedReason, (await run(spliced, 14)).manifest.cameraMovedReason, 'same grids, same finding');
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

test('a crash while the background is saved: the retry still compares with the run before, and keeps it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'moved-crash-'));
  try {
    const [w, h] = [8, 6];
    const old = new Uint8Array(w * h).fill(40);
    const now = new Uint8Array(w * h).map((_, i) => (i * 37) % 256);
    await saveBackground(dir, old, w, h, 'run-1');
    // run 2's save dies when it records itself as the owner (here: a directory where that file goes)
    await rm(path.join(dir, 'background.run'));
    await mkdir(path.join(dir, 'background.run', 'blocker'), { recursive: true });
    await assert.rejects(saveBackground(dir, now, w, h, 'run-2'));
    await rm(path.join(dir, 'background.run'), { recursive: true });
    await writeFile(path.join(dir, 'background.run'), 'run-1');
    // the retry of run 2 compares with run 1's background, not with its own
    const prev = await loadPreviousBackground(dir, w, h, 'run-2');
    assert.deepEqual([...prev!.data], [...old]);
    await saveBackground(dir, now, w, h, 'run-2');
    assert.deepEqual([...(await loadPreviousBackground(dir, w, h, 'run-2'))!.data], [...old], 'run 1 is still the one before');
    assert.deepEqual([...(await loadPreviousBackground(dir, w, h, 'run-3'))!.data], [...now]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the sample step saves the background while it stores the frames: saved when it resolves, a failed save fails the step', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'moved-step-'));
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const store = new DirectoryArtifactStore(path.join(dataDir, 'store'));
    const clip = await store.putFile(early, 'other');
    const camera = cameraSchema.parse({ id: 'cam', source: early, sample });
    const captured = { clip, frames: 80, seconds: 8, width: 384, height: 288, fps: 10, source: early };
    const state = cameraStateDir(dataDir, 'cam');
    const first = await sampleCapture({ camera, captured, store, dataDir, runKey: 'run1' });
    assert.ok(first.selected > 0);
    // on disk when the step resolves, and what the next run compares with
    await stat(path.join(state, 'background.png'));
    const second = await sampleCapture({ camera, captured, store, dataDir, runKey: 'run2' });
    assert.ok((second.manifest.stats.previousCorrelation ?? 0) > 0.9, `correlation ${second.manifest.stats.previousCorrelation}`);
    // the state cannot be written (a directory where the background goes): the step fails and says which file
    await rm(path.join(state, 'background.png'));
    await mkdir(path.join(state, 'background.png', 'blocker'), { recursive: true });
    await assert.rejects(sampleCapture({ camera, captured, store, dataDir, runKey: 'run3' }), /background\.png/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the camera state: update leaves the background for the next run, compare only reads it, ignore neither', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'moved-use-'));
  try {
    const store = new DirectoryArtifactStore(path.join(dataDir, 'store'));
    const camera = cameraSchema.parse({ id: 'cam', source: early, sample });
    const capturedOf = async (file: string) => ({ clip: await store.putFile(file, 'other'), frames: 80, seconds: 8, width: 384, height: 288, fps: 10, source: file });
    const [mine, elsewhere] = [await capturedOf(early), await capturedOf(otherView)];
    const background = path.join(cameraStateDir(dataDir, 'cam'), 'background.png');
    await sampleCapture({ camera, captured: mine, store, dataDir, runKey: 'run1' });
    const saved = await readFile(background);
    // a trial of another scene with this camera's settings: not compared, nothing written
    const ignored = await sampleCapture({ camera, captured: elsewhere, store, dataDir, runKey: 'trial1', cameraState: 'ignore' });
    assert.equal(ignored.cameraMoved, false, ignored.cameraMovedReason);
    assert.equal(ignored.manifest.stats.previousCorrelation, null);
    // a trial of the camera that sees another view: reported, and still nothing written
    const compared = await sampleCapture({ camera, captured: elsewhere, store, dataDir, runKey: 'trial2', cameraState: 'compare' });
    assert.equal(compared.cameraMoved, true);
    assert.match(compared.cameraMovedReason ?? '', /previous run's background/);
    assert.deepEqual(await readFile(background), saved);
    assert.deepEqual((await readdir(cameraStateDir(dataDir, 'cam'))).sort(), ['background.png', 'background.run', 'restless.png']);
    // so the next tuning still compares with its previous run, not with a trial
    const next = await sampleCapture({ camera, captured: mine, store, dataDir, runKey: 'run2' });
    assert.equal(next.cameraMoved, false, next.cameraMovedReason);
    assert.ok((next.manifest.stats.previousCorrelation ?? 0) > 0.9, `correlation ${next.manifest.stats.previousCorrelation}`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a featureless scene (a grey wall with sensor noise) is not a moved camera: noise has no layout to correlate', async () => {
  // pure noise around one grey level: correlation ~0 by chance, which read as "another view"
  const noisy = (seed: number): Uint8Array => {
    let x = seed;
    return Uint8Array.from({ length: 96 * 72 }, () => ((x = (x * 1103515245 + 12345) >>> 0), 120 + ((x >>> 16) % 5)));
  };
  assert.equal(correlation(noisy(1), noisy(2)), 1);
  // one featureless and one textured: not the same view (a covered lens, a camera turned to a wall)
  const textured = Uint8Array.from({ length: 96 * 72 }, (_, i) => ((i % 96) * 2 + Math.floor(i / 96)) % 256);
  assert.equal(correlation(noisy(1), textured), 0);
  // featureless but much darker: another scene
  assert.equal(correlation(noisy(1), noisy(3).map((v) => v - 60)), 0);

  const wall = path.join(fx.dir, 'wall.avi');
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=0x808080:s=384x288:r=10,noise=alls=6:allf=t', '-t', '8', '-c:v', 'mpeg4', '-q:v', '4', '-g', '10', '-pix_fmt', 'yuv420p', wall]);
  const stateDir = path.join(fx.dir, 'wall-state');
  const first = (await run(wall, 8, stateDir, 'r1')).manifest;
  assert.equal(first.cameraMoved, false, first.cameraMovedReason);
  const second = (await run(wall, 8, stateDir, 'r2')).manifest;
  assert.equal(second.cameraMoved, false, second.cameraMovedReason);
  assert.equal(second.stats.previousCorrelation, 1);
});
