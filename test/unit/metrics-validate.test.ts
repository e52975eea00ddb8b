import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { makeValidateActivities } from '../../activities/validate.js';
import { parseConfig } from '../../src/config/load.js';
import { measureLatency } from '../../src/metrics/latency.js';
import type { ActivityDeps } from '../../src/worker/deps.js';
import type { AnnotateResult, TrainResult } from '../../src/pipeline/types.js';

const PY = path.resolve('.venv/bin/python');
const BUILD = `
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
def make(path, row, S=32, convs=0):
    c = np.zeros((1, 100, 6), np.float32); c[0, 0, :] = row
    nodes, inits, src = [], [numpy_helper.from_array(c, 'C'), numpy_helper.from_array(np.array(0, np.float32), 'zero')], 'images'
    for i in range(convs):  # extra work so latency differs measurably
        inits.append(numpy_helper.from_array(np.random.rand(3, 3, 7, 7).astype(np.float32) * 0.01, f'w{i}'))
        nodes.append(helper.make_node('Conv', [src, f'w{i}'], [f'c{i}'], pads=[3, 3, 3, 3])); src = f'c{i}'
    nodes += [helper.make_node('ReduceMean', [src], ['m'], axes=[0, 1, 2, 3], keepdims=0),
              helper.make_node('Mul', ['m', 'zero'], ['z']), helper.make_node('Add', ['C', 'z'], ['detections'])]
    g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, S, S])],
                          [helper.make_tensor_value_info('detections', TensorProto.FLOAT, [1, 100, 6])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); m.ir_version = 8; onnx.save(m, path)
make(sys.argv[1], [4, 4, 12, 20, 0.9, 0])
make(sys.argv[2], [16, 8, 28, 24, 0.8, 0])
make(sys.argv[3], [4, 4, 12, 20, 0.9, 0], S=256, convs=6)
`;

test('validate: candidate vs pre-trained on the val split, gate, registry version (idempotent), report', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'validate-'));
  const good = path.join(root, 'good.onnx');
  const bad = path.join(root, 'bad.onnx');
  const heavy = path.join(root, 'heavy.onnx');
  execFileSync(PY, ['-c', BUILD, good, bad, heavy]);
  // dataset: 160×120 frames; the teacher box [20,15,60,75] is what `good` predicts after scaling
  const ds = path.join(root, 'ds');
  mkdirSync(path.join(ds, 'images'), { recursive: true });
  mkdirSync(path.join(ds, 'labels'));
  const frames = [];
  for (let i = 0; i < 6; i++) {
    const name = `f${i}`;
    await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 40 * i, g: 100, b: 50 } } }).jpeg().toFile(path.join(ds, 'images', `${name}.jpg`));
    writeFileSync(path.join(ds, 'labels', `${name}.txt`), '0 0.25 0.375 0.25 0.5 0.95\n');
    frames.push({ name, t: i, split: i < 2 ? 'train' : 'val' });
  }
  writeFileSync(path.join(ds, 'dataset.json'), JSON.stringify({ cameraId: 'cam', classes: ['person'], frames, width: 160, height: 120, teacher: { id: 't' } }));

  const config = parseConfig({ dataDir: root, cameras: [{ id: 'cam', source: '/dev/null' }] });
  const store = new DirectoryArtifactStore(path.join(root, 'artifacts'));
  const deps: ActivityDeps = { config, dataDir: root, store, python: PY, repoRoot: path.resolve('.') };
  const dataset = await store.putDir(ds, 'dataset');
  const trained: TrainResult = {
    model: await store.putFile(good, 'model'), checkpoint: await store.putFile(good, 'checkpoint'), pretrained: await store.putFile(bad, 'model'),
    epochs: 1, metrics: {}, trainer: 'builtin', trainerArgs: ['--epochs', '1'],
  };
  const annotated: AnnotateResult = { dataset, frames: 6, labels: 6, perClass: { person: 6 }, teacher: 'centernet', suppressedStatic: 0, seconds: 1 };
  const ctx = { cameraId: 'cam', workflowId: 'tune/cam', runId: 'run-1', camera: config.cameras[0]! };
  const { validate } = makeValidateActivities(deps);
  const r = await validate(ctx, trained, annotated);
  assert.ok(Math.abs(r.candidate.map50 - 1) < 1e-9);
  assert.equal(r.pretrained.map50, 0);
  assert.equal(r.candidate.frames, 4, 'only the val split is evaluated');
  assert.equal(r.deployed, null);
  assert.equal(r.accepted, true, r.reason);
  assert.equal(r.version, 'v1');
  assert.ok(r.candidate.latencyMs > 0);
  const html = readFileSync(r.reportPath, 'utf8');
  assert.match(html, /<svg[^>]*aria-label="precision-recall curves"/);
  assert.match(html, /data:image\/jpeg;base64,/);
  assert.ok(existsSync(path.join(path.dirname(r.reportPath), 'report.json')));
  const again = await validate(ctx, trained, annotated);
  assert.equal(again.version, 'v1', 'a retried activity does not create a second version');
});

test('latency: interleaved medians; a heavier model measures slower', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'lat-'));
  const [light, b, heavy] = ['light', 'b', 'heavy'].map((n) => path.join(root, `${n}.onnx`));
  execFileSync(PY, ['-c', BUILD, light!, b!, heavy!]);
  let rounds = 0;
  const [l, h] = await measureLatency([light!, heavy!], { threads: 1, warmup: 2, runs: 9, onProgress: () => rounds++ });
  assert.equal(rounds, 11);
  assert.equal(l!.runs, 9);
  assert.ok(l!.medianMs > 0 && Number.isFinite(l!.medianMs));
  assert.ok(h!.medianMs > l!.medianMs * 2, `heavy ${h!.medianMs} ms vs light ${l!.medianMs} ms`);
});
