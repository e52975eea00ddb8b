import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { cameraSchema, type SampleConfig } from '../../src/config/schema.js';
import { captureAndSample } from '../../src/sampling/pipeline.js';
import { sampleClip } from '../../src/sampling/sample.js';
import { SourceInvalidError } from '../../src/video/errors.js';
import { cutDemo, DEMO_VIDEO, stillDemo, tempDir, truncated } from '../fixtures/clips.js';

const fx = await tempDir('sampling');
test.after(() => fx.cleanup());
const [moving, still, dupes] = await Promise.all([
  cutDemo(fx.dir, 'moving.avi', { start: 0, seconds: 12 }),
  stillDemo(fx.dir, 'still.avi', { seconds: 6 }),
  // each source frame repeated 5 times (2 fps shown at 10 fps)
  cutDemo(fx.dir, 'dupes.avi', { start: 10, seconds: 6, vf: 'fps=2,fps=10' }),
]);
const cfg = (o: Partial<SampleConfig> = {}): SampleConfig => ({ budget: 30, emptyShare: 0.1, dedupeThreshold: 2, valShare: 0.25, blockSeconds: 10, ...o });
let n = 0;
const out = (): string => path.join(fx.dir, `out-${n++}`);

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

test('manifest never contains the camera password', async () => {
  const src = 'rtsp://viewer:pa55-secret@10.1.2.3/live';
  const r = await sampleClip({ clip: still, cameraId: 'c', source: src, sample: cfg(), fps: 10, expectedSeconds: 6, outDir: out() });
  const text = await readFile(r.manifestPath, 'utf8');
  assert.ok(!text.includes('pa55-secret'));
  assert.equal(r.manifest.source, 'rtsp://***@10.1.2.3/live');
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
