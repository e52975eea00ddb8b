import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { annotateFrames } from '../../src/annotate/annotate-frames.js';
import type { SampledFrame } from '../../src/annotate/manifest.js';
import { runAnnotateBench } from '../../src/bench/annotate.js';
import { cameraSchema } from '../../src/config/schema.js';
import { loadFrame } from '../../src/detect/load-frame.js';
import { detectScaled } from '../../src/annotate/tta.js';
import { iou } from '../../src/detect/nms.js';
import { inferencePlan } from '../../src/detect/providers.js';
import { createTeacherDetector, resolveTeacherModel } from '../../src/detect/teacher-model.js';
import { PYTHON, REPO } from '../fixtures/detector-models.js';

const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
// one data dir for the file: the teacher is exported to ONNX once and shared by both tests
const dir = await mkdtemp(path.join(os.tmpdir(), 'autotuner-teacher-'));
after(() => rm(dir, { recursive: true, force: true }));

test('the built-in CenterNet teacher finds people in a vtest.avi frame, off the event loop', async () => {
  const jpg = path.join(dir, 'f0.jpg');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', VTEST, '-frames:v', '1', jpg]);
  const deps = { dataDir: path.join(dir, 'data'), python: PYTHON, repoRoot: REPO };
  const model = await resolveTeacherModel(deps, { model: 'builtin:centernet', imgsz: 512, layout: 'auto', classNames: undefined });
  assert.equal(model.path, path.join(deps.dataDir, 'models', 'teacher-centernet-512.onnx'));
  assert.ok(existsSync(`${model.path}.json`), 'sidecar written');
  assert.equal(model.classNames[0], 'person');
  assert.equal(model.classNames.length, 80);
  assert.equal(model.layout, 'e2e');
  assert.equal(model.resize, 'stretch');

  const det = await createTeacherDetector(model, { provider: 'cpu', threads: undefined });
  try {
    const frame = await loadFrame(jpg);
    assert.deepEqual([frame.width, frame.height], [768, 576]);
    // Event-loop gaps while the teacher runs: the session lives in a worker thread, so timers
    // (Temporal heartbeats, polling) keep firing during inference.
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    const t0 = performance.now();
    const runs = 3;
    let people = 0;
    for (let i = 0; i < runs; i++) {
      const [dets] = await det.detect([frame]);
      people = dets!.filter((d) => d.cls === 0 && d.score >= 0.3).length;
      for (const d of dets!) {
        assert.ok(d.box[0] >= 0 && d.box[2] <= 768 && d.box[1] >= 0 && d.box[3] <= 576, 'boxes in frame pixels');
      }
    }
    const perFrame = (performance.now() - t0) / runs;
    clearInterval(timer);
    assert.ok(people >= 3, `found ${people} people (the frame shows about 6 pedestrians)`);
    assert.ok(maxGap < Math.max(40, perFrame * 0.6), `event loop blocked ${maxGap.toFixed(0)} ms (inference ${perFrame.toFixed(0)} ms/frame)`);

    // scale TTA with the real teacher: the zoomed tiles find the same people, in frame pixels
    const [full] = await det.detect([frame]);
    const fullPeople = full!.filter((d) => d.cls === 0 && d.score >= 0.3);
    const zoomed = (await detectScaled(det, frame, 1.5)).filter((d) => d.cls === 0 && d.score >= 0.3);
    const matched = zoomed.filter((z) => fullPeople.some((f) => iou(f.box, z.box) > 0.5)).length;
    assert.ok(matched >= Math.min(3, fullPeople.length), `zoomed tiles matched ${matched} of ${fullPeople.length} people`);

    // a second resolve reuses the exported model (no re-export)
    const again = await resolveTeacherModel(deps, { model: 'builtin:centernet', imgsz: 512, layout: 'auto', classNames: undefined });
    assert.equal(again.path, model.path);
  } finally {
    await det.close();
  }
});

test('bench annotate: bare model and the annotate loop on the same frames, overhead = bare fps / loop fps, crop and TTA costs', { timeout: 300_000 }, async () => {
  const deps = { dataDir: path.join(dir, 'data'), python: PYTHON, repoRoot: REPO };
  const camera = cameraSchema.parse({ id: 'bench', source: VTEST });
  const r = await runAnnotateBench({ deps, camera, frames: 4, rounds: 1, warmup: 1 });
  assert.equal(r.frames, 4);
  assert.ok(r.bareFps > 0 && r.teacherFps > 0);
  assert.ok(Math.abs(r.overhead - r.bareFps / r.teacherFps) < 1e-9);
  // crops run on the frames' moving people (full-frame detections stand in for motion regions here)
  assert.ok(r.avgCrops > 0, `crops planned per frame: ${r.avgCrops}`);
  assert.ok(r.cropsCostSec > 0 && r.ttaCostSec > 0 && r.ttaScalesCostSec > 0);
  assert.deepEqual(r.ttaScales, [1.5]);
  assert.match(r.layout, /e2e/);
  // the second reference: the model run plainly (one session, all threads, frame after frame)
  assert.ok(r.bareSerialFps > 0 && Math.abs(r.speedupVsSerial - r.teacherFps / r.bareSerialFps) < 1e-9);
  assert.equal(r.sessions, inferencePlan('cpu').sessions);
});

test('parallel teacher sessions label exactly as one session does, crops included', { timeout: 300_000 }, async () => {
  const deps = { dataDir: path.join(dir, 'data'), python: PYTHON, repoRoot: REPO };
  const model = await resolveTeacherModel(deps, { model: 'builtin:centernet', imgsz: 512, layout: 'auto', classNames: undefined });
  const framesDir = path.join(dir, 'frames');
  await mkdir(path.join(framesDir, 'images'), { recursive: true });
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', VTEST, '-vf', 'select=not(mod(n\\,20))', '-fps_mode', 'passthrough', '-frames:v', '5', path.join(framesDir, 'images', 'f%d.jpg')]);
  const frames: SampledFrame[] = [1, 2, 3, 4, 5].map((i) => ({ name: `f${i}`, index: i * 20, t: i * 2, split: 'train', empty: false, motion: i % 2 ? [[300, 150, 420, 400]] : [] }));
  const policy = { classes: ['person'], minScore: 0.3, classScores: {}, crops: true, tta: false, keepStatic: true };
  // one op thread per session either way: the same kernels, so the numbers must agree exactly
  const one = await createTeacherDetector(model, { provider: 'cpu', threads: 1 }, { sessions: 1 });
  const two = await createTeacherDetector(model, { provider: 'cpu', threads: 2, sessions: 2 });
  try {
    assert.equal(two.parallelism, 2);
    const a = await annotateFrames({ detector: one, framesDir, frames, policy });
    const b = await annotateFrames({ detector: two, framesDir, frames, policy });
    assert.ok(a.labels >= 10, `labels ${a.labels}`);
    assert.deepEqual(b.frames.map((f) => f.labels), a.frames.map((f) => f.labels));
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});
