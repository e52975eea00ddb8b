import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { cameraSchema, type SampleConfig } from '../../src/config/schema.js';
import { captureAndSample } from '../../src/sampling/pipeline.js';
import sharp from 'sharp';
import { planWholeFrames, sampleClip } from '../../src/sampling/sample.js';
import { decodeFrames } from '../../src/video/decode.js';
import { SourceInvalidError } from '../../src/video/errors.js';
import { cutDemo, DEMO_VIDEO, ffmpeg, lossyClip, stillDemo, tempDir, truncated } from '../fixtures/clips.js';

const fx = await tempDir('sampling');
test.after(() => fx.cleanup());
const [moving, still, dupes] = await Promise.all([
  cutDemo(fx.dir, 'moving.avi', { start: 0, seconds: 12 }),
  stillDemo(fx.dir, 'still.avi', { seconds: 6 }),
  // each source frame repeated 5 times (2 fps shown at 10 fps)
  cutDemo(fx.dir, 'dupes.avi', { start: 10, seconds: 6, vf: 'fps=2,fps=10' }),
]);
const cfg = (o: Partial<SampleConfig> = {}): SampleConfig => ({ budget: 30, emptyShare: 0.1, dedupeThreshold: 2, valShare: 0.25, blockSeconds: 10, candidatesPerSlot: 2, motionMask: [], ...o });
let n = 0;
const out = (): string => path.join(fx.dir, `out-${n++}`);
/** Frame `index` of `clip` as rgb24, decoded by ffmpeg. */
async function decodeOne(clip: string, index: number): Promise<Uint8Array> {
  let px: Uint8Array | null = null;
  await decodeFrames({ source: clip, maxFrames: index + 1 }, (f) => {
    if (f.index === index) px = f.toRgb().data;
  });
  return px!;
}

test('activity: a clip with people walking scores above a still clip, with boxes inside the frame', async () => {
  const m = (await sampleClip({ clip: moving, cameraId: 'c', source: moving, sample: cfg(), fps: 10, expectedSeconds: 12, outDir: out() })).manifest;
  const s = (await sampleClip({ clip: still, cameraId: 'c', source: still, sample: cfg(), fps: 10, expectedSeconds: 6, outDir: out() })).manifest;
  assert.equal(s.stats.meanScore, 0);
  assert.equal(s.stats.emptyFrameShare, 1);
  assert.ok(s.frames.every((f) => f.empty && f.motion.length === 0 && f.score === 0));
  assert.ok(m.stats.meanScore > 0.005, `moving mean score ${m.stats.meanScore}`);
  assert.ok(m.stats.emptyFrameShare < 0.2);
  const withMotion = m.frames.filter((f) => !f.empty);
  assert.ok(withMotion.length >= m.frames.length * 0.8);
  for (const f of withMotion) {
    assert.ok(f.score > 0 && f.motion.length > 0);
    for (const [x1, y1, x2, y2] of f.motion) {
      assert.ok(x1 >= 0 && y1 >= 0 && x2 <= m.width && y2 <= m.height && x1 < x2 && y1 < y2, `box ${[x1, y1, x2, y2]}`);
    }
  }
  assert.deepEqual([m.width, m.height, m.fps], [384, 288, 10]);
});

test('near-duplicates are dropped (and are kept when dedupe is off)', async () => {
  const on = (await sampleClip({ clip: dupes, cameraId: 'c', source: dupes, sample: cfg({ budget: 60, emptyShare: 0 }), fps: 10, expectedSeconds: 6, outDir: out() })).manifest;
  const off = (await sampleClip({ clip: dupes, cameraId: 'c', source: dupes, sample: cfg({ budget: 60, emptyShare: 0, dedupeThreshold: 0 }), fps: 10, expectedSeconds: 6, outDir: out() })).manifest;
  // 6 s at 2 distinct frames/s: at most 12 distinct images (+1 for the group boundary)
  assert.ok(on.frames.length <= 13, `kept ${on.frames.length}`);
  assert.ok(on.frames.length >= 6, `kept ${on.frames.length}`);
  assert.ok(on.stats.duplicatesDropped > 20);
  assert.ok(off.frames.length > 30, `without dedupe kept ${off.frames.length}`);
});

test('budget, coverage over the whole window, time-block split without leakage, deterministic', async () => {
  const run = async (): Promise<Awaited<ReturnType<typeof sampleClip>>> =>
    sampleClip({ clip: moving, cameraId: 'c', source: moving, sample: cfg({ budget: 24, blockSeconds: 3 }), fps: 10, expectedSeconds: 12, outDir: out() });
  const a = await run();
  const b = await run();
  const m = a.manifest;
  assert.deepEqual(m.frames, b.manifest.frames);
  assert.ok(m.frames.length <= 24 && m.frames.length >= 16, `selected ${m.frames.length}`);
  // coverage: every quarter of the window contributes
  for (let q = 0; q < 4; q++) assert.ok(m.frames.some((f) => f.t >= q * 3 && f.t < (q + 1) * 3), `no frame in quarter ${q}`);
  const { blockSeconds, valBlocks } = m.stats;
  assert.equal(blockSeconds, 3);
  for (const f of m.frames) assert.equal(f.split, valBlocks.includes(Math.floor(f.t / blockSeconds)) ? 'val' : 'train', `${f.name} t=${f.t}`);
  const train = m.frames.filter((f) => f.split === 'train');
  const val = m.frames.filter((f) => f.split === 'val');
  assert.ok(train.length > 0 && val.length > 0);
  const gap = Math.min(...train.flatMap((t) => val.map((v) => Math.abs(t.t - v.t))));
  assert.ok(gap >= 0.4, `train and val frames ${gap} s apart`);
  // images named after the decoded frame index, one per manifest entry
  const images = (await readdir(path.join(a.manifestPath, '..', 'images'))).sort();
  assert.deepEqual(images, m.frames.map((f) => `${f.name}.jpg`).sort());
  assert.ok(m.frames.every((f) => f.name === `f${String(f.index).padStart(6, '0')}` && Math.abs(f.t - f.index / 10) < 1e-6));
});

test('grid mode: every frame scored from ffmpeg\'s grids exactly as from whole frames; only every k-th frame can be kept', async () => {
  const opts = { clip: moving, cameraId: 'c', source: moving, fps: 10, expectedSeconds: 12 };
  const sample = cfg({ budget: 24, blockSeconds: 3, candidatesPerSlot: 1 });
  const whole = (await sampleClip({ ...opts, sample, outDir: out() })).manifest;
  const r = await sampleClip({ ...opts, sample, clipWidth: 384, outDir: out() });
  const m = r.manifest;
  assert.equal(whole.stats.candidateStride, 1, 'without the clip width the decode cannot be planned: every frame whole');
  // 120 frames for 24 slots of one candidate each: every 5th frame whole
  assert.equal(m.stats.candidateStride, 5);
  assert.equal(planWholeFrames({ fps: 10, clipWidth: 384, expectedSeconds: 12 }, 24, 1).grid?.step, 4);
  // the grids are the very cells the whole-frame path samples: every per-frame statistic agrees
  for (const k of ['decoded', 'meanScore', 'emptyFrameShare', 'backgroundCorrelation'] as const) assert.equal(m.stats[k], whole.stats[k], k);
  assert.ok(m.frames.length >= 16 && m.frames.length <= 24, `selected ${m.frames.length}`);
  for (const f of m.frames) {
    assert.equal(f.index % 5, 0, `${f.name} is not a whole frame`);
    // a frame both runs kept has the same score and motion boxes
    const same = whole.frames.find((w) => w.index === f.index);
    if (same) assert.deepEqual([f.score, f.motion], [same.score, same.motion]);
  }
  for (let q = 0; q < 4; q++) assert.ok(m.frames.some((f) => f.t >= q * 3 && f.t < (q + 1) * 3), `no frame in quarter ${q}`);
  const images = (await readdir(path.join(r.manifestPath, '..', 'images'))).sort();
  assert.deepEqual(images, m.frames.map((f) => `${f.name}.jpg`).sort());
  // a kept JPEG is the frame itself (not a neighbour): compare with ffmpeg's own decode of that frame
  const f = m.frames[Math.floor(m.frames.length / 2)]!;
  const jpeg = await sharp(path.join(r.manifestPath, '..', 'images', `${f.name}.jpg`)).raw().toBuffer();
  const ref = await decodeOne(moving, f.index);
  let diff = 0;
  for (let i = 0; i < ref.length; i++) diff += Math.abs(ref[i]! - jpeg[i]!);
  assert.ok(diff / ref.length < 4, `mean difference to frame ${f.index}: ${(diff / ref.length).toFixed(2)}`);
  const next = await decodeOne(moving, f.index + 1);
  let nextDiff = 0;
  for (let i = 0; i < next.length; i++) nextDiff += Math.abs(next[i]! - jpeg[i]!);
  assert.ok(nextDiff > diff, 'closer to its own frame than to the next one');
});

test('grid mode on a clip with a gap in its timestamps: the same frames and times as the plain decode', async () => {
  // 12 s with frames 30-59 missing (a stream that stalled): timestamps jump over 3 s
  const gap = path.join(fx.dir, 'gap.mkv');
  await ffmpeg(['-i', moving, '-vf', 'select=not(between(n\\,30\\,59))', '-fps_mode', 'vfr', '-c:v', 'mpeg4', '-q:v', '4', gap]);
  const opts = { clip: gap, cameraId: 'c', source: gap, expectedSeconds: 12, clipFps: 10 };
  const sample = cfg({ budget: 12, blockSeconds: 3, candidatesPerSlot: 2 });
  const plain = (await sampleClip({ ...opts, sample, outDir: out() })).manifest;
  const grid = (await sampleClip({ ...opts, sample, clipWidth: 384, outDir: out() })).manifest;
  assert.equal(plain.stats.candidateStride, 1);
  assert.equal(grid.stats.candidateStride, 5);
  // both decode at a constant rate over the real 12 s (the gap filled), so times mean the same
  assert.equal(grid.stats.decoded, plain.stats.decoded);
  assert.ok(plain.stats.decoded >= 115, `decoded ${plain.stats.decoded}`);
  // (which frame repeats in the gap may differ: ffmpeg's fps filter and its constant-rate output pick differently)
  assert.ok(Math.abs(grid.stats.meanScore - plain.stats.meanScore) < 0.05 * plain.stats.meanScore, `${grid.stats.meanScore} vs ${plain.stats.meanScore}`);
  assert.ok(grid.frames.some((f) => f.t >= 9), 'frames from the end of the window keep their real time');
});

test('planWholeFrames: k from window, budget and candidates per slot; unknown rate or width decodes every frame', () => {
  // the demo video: 79.5 s at 10 fps, budget 120, 2 candidates per slot → every 3rd frame
  assert.deepEqual(planWholeFrames({ fps: 10, clipWidth: 768, expectedSeconds: 79.5 }, 120, 2), { every: 3, grid: { every: 3, step: 8 } });
  assert.equal(planWholeFrames({ fps: 10, clipWidth: 768, expectedSeconds: 79.5 }, 120, 3).every, 2);
  // ten minutes at 25 fps for 200 frames: every 37th
  assert.equal(planWholeFrames({ clipFps: 25, width: 1280, expectedSeconds: 600 }, 200, 2).every, 37);
  assert.equal(planWholeFrames({ clipFps: 25, width: 1280, expectedSeconds: 600 }, 200, 2).grid?.step, 13);
  assert.deepEqual(planWholeFrames({ fps: 10, expectedSeconds: 600 }, 20, 2), { every: 1 });
  assert.deepEqual(planWholeFrames({ clipWidth: 640, expectedSeconds: 600 }, 20, 2), { every: 1 });
  assert.deepEqual(planWholeFrames({ fps: 10, clipWidth: 640, expectedSeconds: 6 }, 30, 2), { every: 1 });
});

test('manifest never contains the camera password', async () => {
  const src = 'rtsp://viewer:pa55-secret@10.1.2.3/live';
  const r = await sampleClip({ clip: still, cameraId: 'c', source: src, sample: cfg(), fps: 10, expectedSeconds: 6, outDir: out() });
  const text = await readFile(r.manifestPath, 'utf8');
  assert.ok(!text.includes('pa55-secret'));
  assert.equal(r.manifest.source, 'rtsp://***@10.1.2.3/live');
});

test("a clip recorded from a camera's stream is sampled despite the frames its packet losses corrupted; a local file with them is refused", async () => {
  const clip = await lossyClip(fx.dir, 'lossy.mkv');
  // the live camera's losses: before, the whole run failed here as "corrupt or truncated video"
  const r = await sampleClip({ clip, cameraId: 'c', source: 'rtsp://viewer:pw@10.1.2.3/live', sample: cfg({ budget: 10 }), fps: 10, expectedSeconds: 4, outDir: out() });
  assert.ok(r.manifest.stats.decoded >= 30, `decoded ${r.manifest.stats.decoded}`);
  assert.ok(r.manifest.frames.length >= 5, `selected ${r.manifest.frames.length}`);
  // the same damage in a camera's own file is a damaged file
  await assert.rejects(sampleClip({ clip, cameraId: 'c', source: clip, sample: cfg({ budget: 10 }), fps: 10, expectedSeconds: 4, outDir: out() }), (e: Error) => {
    assert.ok(e instanceof SourceInvalidError, `${e.name}: ${e.message}`);
    assert.match(e.message, /corrupt or truncated video \(ffmpeg reported corrupt frames\)/);
    return true;
  });
});

test('capture+sample of a truncated file fails as SourceInvalid, not with a partial dataset', async () => {
  const cut = await truncated(DEMO_VIDEO, path.join(fx.dir, 'half.avi'), 0.3);
  const camera = cameraSchema.parse({ id: 'c', source: cut });
  const store = new DirectoryArtifactStore(path.join(fx.dir, 'store'));
  await assert.rejects(captureAndSample({ camera, store, dataDir: fx.dir, workDir: path.join(fx.dir, 'cap') }), (e: Error) => {
    assert.ok(e instanceof SourceInvalidError, `${e.name}: ${e.message}`);
    return true;
  });
});
