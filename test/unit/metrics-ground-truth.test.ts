import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readMotGroundTruth, readCocoGroundTruth, groundTruthForFrame, GroundTruthError } from '../../src/metrics/ground-truth.js';

test('MOT gt.txt: ignore rows and non-person classes are dropped; seqinfo gives size and fps', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gt-'));
  mkdirSync(path.join(dir, 'gt'));
  writeFileSync(path.join(dir, 'seqinfo.ini'), '[Sequence]\nframeRate=25\nimWidth=1920\nimHeight=1080\n');
  writeFileSync(path.join(dir, 'gt/gt.txt'), ['1,1,10,20,30,40,1,1,1', '1,2,0,0,5,5,0,1,1', '1,3,0,0,5,5,1,3,1', '2,1,12,20,30,40,1,1,0.5', ''].join('\n'));
  const gt = await readMotGroundTruth(path.join(dir, 'gt/gt.txt'));
  assert.deepEqual(gt.frames.get('1'), [{ className: 'person', box: [10, 20, 40, 60] }]);
  assert.equal(gt.fps, 25);
  // frame at t=0.04 s at 25 fps is MOT frame 2; rescaled from 1920×1080 to 960×540
  assert.deepEqual(groundTruthForFrame(gt, { name: 'f000001', t: 0.04 }, { fps: 10, width: 960, height: 540 }), [{ className: 'person', box: [6, 10, 21, 30] }]);
  assert.equal(groundTruthForFrame(gt, { name: 'x', t: 10 }, { fps: 10, width: 960, height: 540 }), null);
  writeFileSync(path.join(dir, 'bad.txt'), 'a,b,c\n');
  await assert.rejects(readMotGroundTruth(path.join(dir, 'bad.txt')), GroundTruthError);
});

test('COCO JSON: boxes by file stem and by frame number', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gt-'));
  const file = path.join(dir, 'gt.json');
  writeFileSync(file, JSON.stringify({
    images: [{ id: 5, file_name: 'frames/000012.jpg', width: 768, height: 576 }, { id: 6, file_name: 'empty.jpg', width: 768, height: 576 }],
    categories: [{ id: 1, name: 'person' }, { id: 3, name: 'car' }],
    annotations: [{ image_id: 5, category_id: 1, bbox: [1, 2, 3, 4] }, { image_id: 5, category_id: 3, bbox: [0, 0, 10, 10] }, { image_id: 5, category_id: 1, bbox: [0, 0, 1, 1], iscrowd: 1 }],
  }));
  const gt = await readCocoGroundTruth(file);
  assert.deepEqual(gt.frames.get('000012'), [{ className: 'person', box: [1, 2, 4, 6] }, { className: 'car', box: [0, 0, 10, 10] }]);
  assert.equal(gt.frames.get('12'), gt.frames.get('000012'));
  assert.deepEqual(gt.frames.get('empty'), [], 'an annotated image without objects is an empty frame, not a missing one');
  writeFileSync(file, '{"images": 1}');
  await assert.rejects(readCocoGroundTruth(file), /needs "images"/);
});
