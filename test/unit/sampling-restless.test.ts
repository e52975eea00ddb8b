import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { cameraSchema, type SampleConfig } from '../../src/config/schema.js';
import { maskCells, restlessHint, restlessRates, restlessRegions } from '../../src/sampling/restless.js';
import { sampleClip } from '../../src/sampling/sample.js';
import { sampleCapture } from '../../src/sampling/sample-step.js';
import { writeMotionPreview } from '../../src/sampling/motion-preview.js';
import sharp from 'sharp';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { cutDemo, DEMO_VIDEO, ffmpeg, tempDir } from '../fixtures/clips.js';

const fx = await tempDir('restless');
test.after(() => fx.cleanup());

/**
 * The demo's scene held still with sensor noise, and two "digits" along the top left that take
 * another shade every second and every two seconds, as a clock's seconds digits take another glyph
 * (drawn as boxes: no font needed). Most of the time each differs from its own median shade.
 */
async function stillWithClock(name: string, seconds: number): Promise<string> {
  const out = path.join(fx.dir, name);
  const digit = (x: number, period: number, shades: string[]): string[] =>
    shades.map((c, k) => `drawbox=x=${x}:y=6:w=14:h=18:color=${c}:t=fill:enable='eq(mod(floor(t/${period}),${shades.length}),${k})'`);
  const vf = [
    'scale=384:-2',
    'noise=alls=6:allf=t',
    'drawbox=x=90:y=4:w=60:h=22:color=black:t=fill',
    ...digit(120, 1, ['0x000000', '0xffffff', '0x3c3c3c', '0xc8c8c8', '0x787878']),
    ...digit(134, 2, ['0x000000', '0xffffff', '0x808080']),
  ].join(',');
  await ffmpeg(['-ss', '20', '-i', DEMO_VIDEO, '-frames:v', '1', path.join(fx.dir, `${name}.png`)]);
  await ffmpeg(['-loop', '1', '-framerate', '10', '-i', path.join(fx.dir, `${name}.png`), '-t', String(seconds), '-vf', vf, '-c:v', 'mpeg4', '-q:v', '3', '-g', '10', '-pix_fmt', 'yuv420p', out]);
  return out;
}

const [clock, walking, walkingLater] = await Promise.all([
  stillWithClock('clock.avi', 15),
  cutDemo(fx.dir, 'walking.avi', { start: 0, seconds: 20 }),
  cutDemo(fx.dir, 'walking-later.avi', { start: 40, seconds: 20 }),
]);
const cfg = (o: Partial<SampleConfig> = {}): SampleConfig => ({ budget: 30, emptyShare: 0.1, dedupeThreshold: 2, valShare: 0.25, blockSeconds: 5, candidatesPerSlot: 2, motionMask: [], ...o });
let n = 0;
/** One run of a camera whose state (background, restless grid) lives in `state`. */
const sample = (clip: string, seconds: number, state: string, runKey: string, o: Partial<SampleConfig> = {}) =>
  sampleClip({ clip, cameraId: 'c', source: clip, sample: cfg(o), fps: 10, expectedSeconds: seconds, outDir: path.join(fx.dir, `out-${n++}`), cameraStateDir: state, runKey });

test('a clock burned into a still scene makes it "moving" until masked; a second run suggests the mask', async () => {
  const state = path.join(fx.dir, 'state-clock');
  const first = (await sample(clock, 15, state, 'run1')).manifest;
  // unmasked: the digits are motion, so frames of an empty scene are kept as moving ones, with boxes at the clock
  assert.ok(first.stats.emptyFrameShare < 0.5, `empty share ${first.stats.emptyFrameShare}`);
  const moving = first.frames.filter((f) => !f.empty);
  assert.ok(moving.length > 5, `${moving.length} moving frames`);
  assert.ok(moving.every((f) => f.motion.every(([x1, y1, x2, y2]) => x1 >= 112 && x2 <= 160 && y1 >= 0 && y2 <= 32)), 'every box is at the clock');
  // one window cannot tell a clock from a person lingering in one spot: no suggestion yet
  assert.deepEqual(first.stats.restlessRegions, []);
  const second = (await sample(clock, 15, state, 'run2')).manifest;
  // the suggestion covers both digits (120..148 x 6..24 of 384x288) and nothing far from them
  const [region, ...more] = second.stats.restlessRegions ?? [];
  assert.ok(region, 'a region suggested on the second run');
  assert.deepEqual(more, []);
  const [x1, y1, x2, y2] = region;
  assert.ok(x1 <= 120 / 384 && y1 <= 6 / 288 && x2 >= 148 / 384 && y2 >= 24 / 288, `region ${region}`);
  assert.ok(x1 >= 96 / 384 && x2 <= 176 / 384 && y2 <= 48 / 288, `region ${region} is the clock's`);
  assert.match(restlessHint(second.stats.restlessRegions!), /sample\.motionMask/);
  // a retry of the second run compares with the first run's grid, as its first attempt did
  assert.deepEqual((await sample(clock, 15, state, 'run2')).manifest.stats.restlessRegions, second.stats.restlessRegions);

  // masked as suggested: the scene is what it is, empty, as the same scene without a clock
  const masked = (await sample(clock, 15, state, 'run3', { motionMask: [region] })).manifest;
  assert.equal(masked.stats.emptyFrameShare, 1);
  assert.ok(masked.frames.every((f) => f.empty && f.motion.length === 0));
  assert.deepEqual(masked.stats.restlessRegions, []);
  assert.ok((masked.stats.maskedCells ?? 0) > 0);

  // the picture to check a mask by: the region in blue over a kept frame
  const framesDir = path.join(fx.dir, `out-${n - 1}`);
  const preview = await writeMotionPreview({ framesDir, manifest: masked, motionMask: [region], out: path.join(fx.dir, 'motion.jpg') });
  const at = async (file: string, fx_: number, fy: number): Promise<number[]> => {
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    const i = (Math.round(fy * info.height) * info.width + Math.round(fx_ * info.width)) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };
  const centre = [(x1 + x2) / 2, (y1 + y2) / 2] as const;
  const [r0, , b0] = await at(path.join(framesDir, 'images', `${masked.frames[0]!.name}.jpg`), ...centre);
  const [r1, , b1] = await at(preview, ...centre);
  assert.ok(b1 - r1 > b0 - r0 + 40, `blue over the mask: rgb ${r0},${b0} -> ${r1},${b1}`);
});

test("the sample step's result (the activity's, shown with the run in the Web UI) carries the suggestion", async () => {
  const dataDir = path.join(fx.dir, 'step');
  const store = new DirectoryArtifactStore(path.join(dataDir, 'store'));
  const camera = cameraSchema.parse({ id: 'clk', source: clock, sample: cfg() });
  const captured = { clip: await store.putFile(clock, 'other'), frames: 150, seconds: 15, width: 384, height: 288, fps: 10, source: clock };
  const first = await sampleCapture({ camera, captured, store, dataDir, runKey: 'run1' });
  assert.equal('restlessRegions' in first, false, 'absent when there is none');
  const second = await sampleCapture({ camera, captured, store, dataDir, runKey: 'run2' });
  assert.deepEqual(second.restlessRegions, second.manifest.stats.restlessRegions);
  assert.equal(second.restlessRegions?.length, 1);
});

test('people walking are not restless, even where one lingers: no region suggested; a mask drops only the motion inside it', async () => {
  const state = path.join(fx.dir, 'state-walk');
  const plain = (await sample(walking, 20, state, 'run1')).manifest;
  const later = (await sample(walkingLater, 20, state, 'run2')).manifest;
  assert.deepEqual(plain.stats.restlessRegions, []);
  assert.deepEqual(later.stats.restlessRegions, []);
  assert.equal(plain.stats.maskedCells, 0);
  const boxes = plain.frames.flatMap((f) => f.motion);
  assert.ok(boxes.length > 20);
  // the left half masked: boxes stay, only right of it (a box may start at the mask's edge cell)
  const half = (await sample(walking, 20, state, 'run3', { motionMask: [[0, 0, 0.5, 1]] })).manifest;
  const kept = half.frames.flatMap((f) => f.motion);
  assert.ok(kept.length > 5, `${kept.length} boxes right of the mask`);
  assert.ok(kept.every(([x1]) => x1 >= 192 - 8), `boxes left of the mask: ${JSON.stringify(kept.filter(([x1]) => x1 < 184))}`);
  assert.ok(boxes.some(([, , x2]) => x2 <= 184), 'unmasked, there was motion on the left (else this tests nothing)');
});

test('mask cells and suggested regions: geometry, gaps between digits, short windows', () => {
  // 8x6 cells of 10 px over an 80x60 frame
  const g = { width: 8, height: 6, step: 10, frameWidth: 80, frameHeight: 60 };
  const mask = maskCells([[0, 0, 0.25, 0.5]], g)!;
  // cell centres 5, 15 (x) and 5, 15, 25 (y) are inside [0, 20) x [0, 30)
  assert.deepEqual([...mask].map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [0, 1, 8, 9, 16, 17]);
  assert.equal(maskCells([], g), null);
  const hits = new Uint32Array(48);
  // two "digits" one cell apart along the top row, a busy cell far away below them
  hits[1] = 90;
  hits[3] = 70;
  hits[4] = 25;
  hits[44] = 50;
  const before = restlessRates(hits, 100);
  assert.deepEqual([before[1], before[3], before[44]], [230, 179, 128]);
  assert.deepEqual(restlessRegions(hits, 100, g, before), [[0.12, 0, 0.63, 0.17]]);
  assert.deepEqual(restlessRegions(hits, 100, g, null), [], 'no previous run: one window cannot tell');
  assert.deepEqual(restlessRegions(hits, 100, g, new Uint8Array(48)), [], 'quiet there in the previous run');
  assert.deepEqual(restlessRegions(hits, 99, g, before), [], 'under 10 s at 10 fps: too short to tell');
  hits[1] = 59;
  hits[3] = 59;
  assert.deepEqual(restlessRegions(hits, 100, g, before), [], 'no cell changed in 60 % of the frames');
});

test('a motion mask region is checked: fractions of the frame, x1 < x2 and y1 < y2', () => {
  const ok = cameraSchema.parse({ id: 'c', source: 'x.mp4', sample: { motionMask: [[0, 0, 0.4, 0.06]] } });
  assert.deepEqual(ok.sample.motionMask, [[0, 0, 0.4, 0.06]]);
  assert.deepEqual(cameraSchema.parse({ id: 'c', source: 'x.mp4' }).sample.motionMask, []);
  assert.throws(() => cameraSchema.parse({ id: 'c', source: 'x.mp4', sample: { motionMask: [[0.4, 0, 0.1, 0.06]] } }), /x1 < x2 and y1 < y2/);
  assert.throws(() => cameraSchema.parse({ id: 'c', source: 'x.mp4', sample: { motionMask: [[0, 0, 40, 6]] } }), /motionMask/);
});
