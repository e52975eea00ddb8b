import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { annotateFrames, type AnnotatePolicy } from '../../src/annotate/annotate-frames.js';
import { readSampleManifest } from '../../src/annotate/manifest.js';
import { readYoloDataset, writeYoloDataset } from '../../src/dataset/yolo-dataset.js';
import type { Detection, Detector, RgbFrame } from '../../src/detect/types.js';

const W = 320;
const H = 240;

/** A fake teacher: a person that walks right, a 'car' flicker in frame 2, counts its calls. */
class FakeTeacher implements Detector {
  readonly classNames = ['person', 'car', 'dog'];
  calls = 0;
  async detect(frames: readonly RgbFrame[]): Promise<Detection[][]> {
    return frames.map((f) => {
      this.calls++;
      const i = f.data[0]!; // frame index encoded in the first pixel
      if (f.width !== W) return []; // crops: nothing extra
      const dets: Detection[] = [{ cls: 0, score: 0.7, box: [10 + i * 4, 20, 40 + i * 4, 100] }];
      if (i === 2) dets.push({ cls: 1, score: 0.4, box: [120, 10, 150, 30] });
      dets.push({ cls: 2, score: 0.9, box: [60, 60, 80, 80] }); // not a camera class
      return dets;
    });
  }
  async close(): Promise<void> {}
}

async function makeFrames(n: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autotuner-frames-'));
  await mkdir(path.join(dir, 'images'));
  const frames: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const raw = Buffer.alloc(W * H * 3, 0);
    raw.fill(i * 1, 0, 48); // first pixels carry the index (JPEG keeps flat blocks)
    await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 100 }).toFile(path.join(dir, 'images', `f${i}.jpg`));
    frames.push({ name: `f${i}`, index: i * 5, t: i * 0.5, score: 1, split: i < n - 1 ? 'train' : 'val', empty: false, motion: i === 1 ? [[20, 40, 50, 80]] : [] });
  }
  await import('node:fs/promises').then((fs) =>
    fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ cameraId: 'cam', source: 'x.avi', width: W, height: H, fps: 10, frames })),
  );
  return dir;
}

const policy: AnnotatePolicy = { classes: ['person', 'car'], minScore: 0.3, classScores: { car: 0.35 }, crops: true, tta: false, keepStatic: false };

test('annotateFrames labels frames, filters classes and flickers', async () => {
  const dir = await makeFrames(4);
  const m = await readSampleManifest(dir);
  const teacher = new FakeTeacher();
  const res = await annotateFrames({ detector: teacher, framesDir: dir, frames: m.frames, policy });
  assert.equal(res.frames.length, 4);
  assert.equal(res.inferred, 4);
  assert.equal(teacher.calls, 5, 'four full frames + one crop (frame 1 has a motion region)');
  // every frame has its person (class 0); the dog is not a camera class; the car flicker (0.4 * 0.6) is dropped
  assert.deepEqual(res.frames.map((f) => f.labels.map((l) => l.cls)), [[0], [0], [0], [0]]);
  assert.deepEqual(res.perClass, { person: 4, car: 0 });
  assert.equal(res.droppedByTemporal, 1);
});

test('resume: a rerun after a crash does not run the teacher on frames already labelled', async () => {
  const dir = await makeFrames(5);
  const m = await readSampleManifest(dir);
  const scratchDir = path.join(dir, 'scratch');
  const first = new FakeTeacher();
  await assert.rejects(
    annotateFrames({
      detector: first,
      framesDir: dir,
      frames: m.frames,
      policy: { ...policy, crops: false },
      scratchDir,
      onProgress: (p) => {
        if (p.done === 3) throw new Error('worker crashed');
      },
    }),
    /worker crashed/,
  );
  // the crash stops new frames; a frame another lane was already labelling may still finish
  assert.ok(first.calls === 3 || first.calls === 4, `calls ${first.calls}`);
  const saved = (await readdir(scratchDir)).length;
  assert.equal(saved, first.calls, 'every frame the teacher finished is in scratch');
  const second = new FakeTeacher();
  const progress: number[] = [];
  const res = await annotateFrames({ detector: second, framesDir: dir, frames: m.frames, policy: { ...policy, crops: false }, scratchDir, onProgress: (p) => void progress.push(p.done) });
  assert.equal(second.calls, 5 - saved, 'only the unlabelled frames run');
  assert.equal(res.reused, saved);
  assert.equal(res.inferred, 5 - saved);
  assert.deepEqual(progress, Array.from({ length: 6 - saved }, (_, k) => saved + k));
  assert.equal(res.labels, 5);
});

test('dataset: written labels read back to the same boxes; empty frames get empty files', async () => {
  const dir = await makeFrames(2);
  const out = path.join(dir, 'dataset');
  const meta = {
    cameraId: 'cam',
    source: 'x.avi',
    classes: ['person', 'car'],
    teacher: { model: 'builtin:centernet@512', imgsz: 512, minScore: 0.3, classScores: {}, crops: true, tta: false },
    width: W,
    height: H,
    stats: {},
  };
  await writeYoloDataset(out, meta, [
    { name: 'f0', t: 0, split: 'train', image: path.join(dir, 'images', 'f0.jpg'), width: W, height: H, labels: [{ cls: 1, score: 0.8123456, box: [32, 24, 96, 120] }] },
    { name: 'f1', t: 0.5, split: 'val', image: path.join(dir, 'images', 'f1.jpg'), width: W, height: H, labels: [] },
  ]);
  assert.equal(await readFile(path.join(out, 'labels', 'f0.txt'), 'utf8'), '1 0.200000 0.300000 0.200000 0.400000 0.812346\n');
  assert.equal(await readFile(path.join(out, 'labels', 'f1.txt'), 'utf8'), '');
  const ds = await readYoloDataset(out);
  assert.deepEqual(ds.meta.frames, [{ name: 'f0', t: 0, split: 'train' }, { name: 'f1', t: 0.5, split: 'val' }]);
  const l = ds.frames[0]!.labels[0]!;
  assert.equal(l.cls, 1);
  l.box.forEach((v, k) => assert.ok(Math.abs(v - [32, 24, 96, 120][k]!) < 1e-3));
  assert.ok(Math.abs(l.score - 0.812346) < 1e-9);
  assert.equal(ds.frames[1]!.labels.length, 0);
  assert.ok(ds.frames[0]!.image.endsWith(path.join('images', 'f0.jpg')));
});

test('a corrupt frame fails the run with the file named; frames labelled meanwhile stay in scratch', async () => {
  const dir = await makeFrames(5);
  const m = await readSampleManifest(dir);
  await import('node:fs/promises').then((fs) => fs.writeFile(path.join(dir, 'images', 'f2.jpg'), 'not a jpeg'));
  const scratchDir = path.join(dir, 'scratch');
  const teacher = new FakeTeacher();
  await assert.rejects(
    annotateFrames({ detector: teacher, framesDir: dir, frames: m.frames, policy: { ...policy, crops: false }, scratchDir }),
    (err: Error) => err.name === 'FrameDecodeError' && err.message.includes(path.join(dir, 'images', 'f2.jpg')),
  );
  const saved = (await readdir(scratchDir)).sort();
  assert.ok(!saved.includes('f2.json'));
  assert.equal(saved.length, teacher.calls, 'every frame the teacher finished was kept');
});
