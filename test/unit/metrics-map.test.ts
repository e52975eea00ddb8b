import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateDetections, iou, type EvalImage, type Box } from '../../src/metrics/map.js';

const PY = path.resolve('.venv/bin/python');

// Deterministic PRNG so a failure reproduces.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomScene(seed: number, nImages: number, nClasses: number): EvalImage[] {
  const r = rng(seed);
  const images: EvalImage[] = [];
  for (let i = 0; i < nImages; i++) {
    const gts: EvalImage['gts'][number][] = [];
    const dets: EvalImage['dets'][number][] = [];
    const nG = Math.floor(r() * 8);
    for (let g = 0; g < nG; g++) {
      // class nClasses-1 never gets ground truth: it must be left out of the means
      const cls = Math.floor(r() * (nClasses - 1));
      const x = r() * 500;
      const y = r() * 400;
      const box: Box = [x, y, x + 10 + r() * 120, y + 10 + r() * 160];
      gts.push({ cls, box });
      // a jittered detection for most ground truth boxes, sometimes the wrong class
      if (r() < 0.8) {
        const j = () => (r() - 0.5) * 30;
        const x1 = box[0] + j();
        const y1 = box[1] + j();
        // keep detections well-formed (x2 > x1): COCOeval ignores negative-area boxes
        const d: Box = [x1, y1, Math.max(x1 + 2, box[2] + j()), Math.max(y1 + 2, box[3] + j())];
        dets.push({ cls: r() < 0.9 ? cls : Math.floor(r() * nClasses), score: r(), box: d });
      }
    }
    const nFp = Math.floor(r() * 5);
    for (let f = 0; f < nFp; f++) {
      const x = r() * 500;
      const y = r() * 400;
      dets.push({ cls: Math.floor(r() * nClasses), score: r() * 0.8, box: [x, y, x + 5 + r() * 100, y + 5 + r() * 100] });
    }
    images.push({ gts, dets });
  }
  return images;
}

function cocoEval(images: EvalImage[], nClasses: number): { map5095: number; map50: number; ap50: number[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'map-'));
  const xywh = (b: Box) => [b[0], b[1], b[2] - b[0], b[3] - b[1]];
  let annId = 1;
  const gt = {
    images: images.map((_, i) => ({ id: i + 1, width: 640, height: 600 })),
    categories: Array.from({ length: nClasses }, (_, c) => ({ id: c + 1, name: `c${c}` })),
    annotations: images.flatMap((img, i) =>
      img.gts.map((g) => {
        const bb = xywh(g.box);
        return { id: annId++, image_id: i + 1, category_id: g.cls + 1, bbox: bb, area: bb[2]! * bb[3]!, iscrowd: 0 };
      }),
    ),
  };
  const dets = images.flatMap((img, i) => img.dets.map((d) => ({ image_id: i + 1, category_id: d.cls + 1, bbox: xywh(d.box), score: d.score })));
  writeFileSync(path.join(dir, 'gt.json'), JSON.stringify(gt));
  writeFileSync(path.join(dir, 'dt.json'), JSON.stringify(dets));
  const script = `
import json, sys, io, contextlib, numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    e = COCOeval(gt, dt, 'bbox'); e.evaluate(); e.accumulate(); e.summarize()
p = e.eval['precision'][0, :, :, 0, 2]
ap50 = [float(np.mean(p[:, k])) for k in range(p.shape[1])]
print(json.dumps({'map5095': float(e.stats[0]), 'map50': float(e.stats[1]), 'ap50': ap50}))
`;
  const out = execFileSync(PY, ['-c', script, path.join(dir, 'gt.json'), path.join(dir, 'dt.json')], { encoding: 'utf8' });
  return JSON.parse(out) as { map5095: number; map50: number; ap50: number[] };
}

test('mAP agrees with pycocotools on randomized boxes', () => {
  for (const seed of [1, 7, 42]) {
    const nClasses = 4;
    const images = randomScene(seed, 40, nClasses);
    const names = Array.from({ length: nClasses }, (_, c) => `c${c}`);
    const ours = evaluateDetections(images, names);
    const ref = cocoEval(images, nClasses);
    assert.ok(ref.map50 > 0.1 && ref.map50 < 0.99, `scene ${seed} should be non-trivial (${ref.map50})`);
    assert.ok(Math.abs(ours.map50 - ref.map50) < 1e-3, `seed ${seed} map50 ${ours.map50} vs ${ref.map50}`);
    assert.ok(Math.abs(ours.map5095 - ref.map5095) < 1e-3, `seed ${seed} map5095 ${ours.map5095} vs ${ref.map5095}`);
    for (let c = 0; c < nClasses - 1; c++) {
      assert.ok(Math.abs(ours.perClass[`c${c}`]!.ap50 - ref.ap50[c]!) < 1e-3, `seed ${seed} class ${c}`);
    }
    assert.equal(ours.perClass[`c${nClasses - 1}`], undefined, 'a class without ground truth is not averaged');
    assert.equal(ours.evaluatedClasses, nClasses - 1);
  }
});

test('perfect detections give mAP 1 and the PR curve is flat at 1', () => {
  const images: EvalImage[] = [{ gts: [{ cls: 0, box: [0, 0, 10, 10] }], dets: [{ cls: 0, score: 0.9, box: [0, 0, 10, 10] }] }];
  const r = evaluateDetections(images, ['person']);
  assert.ok(Math.abs(r.map50 - 1) < 1e-9);
  assert.ok(Math.abs(r.map5095 - 1) < 1e-9);
  assert.equal(r.prCurves.person!.precision.length, 101);
  assert.ok(r.prCurves.person!.precision.every((p) => Math.abs(p - 1) < 1e-9));
});

test('no detections give mAP 0; iou basics', () => {
  const r = evaluateDetections([{ gts: [{ cls: 0, box: [0, 0, 10, 10] }], dets: [] }], ['person']);
  assert.equal(r.map50, 0);
  assert.equal(iou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150);
  assert.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
});
