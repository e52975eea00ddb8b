import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { decodeFrames } from '../../src/video/decode.js';
import { EmptySourceError, SourceInvalidError, SourceUnreachableError } from '../../src/video/errors.js';
import { recordSource } from '../../src/video/record.js';
import { closedPort, DEMO_VIDEO, garbage, tempDir, testsrcClip, truncated, zeroFrameClip } from '../fixtures/clips.js';

const fx = await tempDir('errors');
test.after(() => fx.cleanup());

test('missing file → SourceInvalidError (capture and decode)', async () => {
  const missing = path.join(fx.dir, 'nope.mp4');
  await assert.rejects(recordSource({ source: missing, fps: 10, workDir: path.join(fx.dir, 'w1') }), (e: Error) => {
    assert.ok(e instanceof SourceInvalidError, `${e.name}: ${e.message}`);
    assert.match(e.message, /file not found/);
    return true;
  });
  await assert.rejects(decodeFrames({ source: missing }, () => {}), SourceInvalidError);
});

test('corrupt bytes → SourceInvalidError', async () => {
  const bad = await garbage(path.join(fx.dir, 'bad.mp4'));
  await assert.rejects(recordSource({ source: bad, fps: 10, workDir: path.join(fx.dir, 'w2') }), SourceInvalidError);
  await assert.rejects(decodeFrames({ source: bad }, () => {}), SourceInvalidError);
});

test('truncated MP4 (index at the end cut off) → SourceInvalidError', async () => {
  const mp4 = await testsrcClip(fx.dir, 'full.mp4', { seconds: 3, codecArgs: ['-c:v', 'mpeg4', '-q:v', '5'] });
  const cut = await truncated(mp4, path.join(fx.dir, 'cut.mp4'), 0.6);
  await assert.rejects(recordSource({ source: cut, fps: 10, workDir: path.join(fx.dir, 'w3') }), (e: Error) => {
    assert.ok(e instanceof SourceInvalidError, `${e.name}: ${e.message}`);
    return true;
  });
});

test('truncated AVI decodes its first half with corrupt frames → SourceInvalidError', async () => {
  const cut = await truncated(DEMO_VIDEO, path.join(fx.dir, 'half.avi'), 0.5);
  for (const grid of [undefined, { step: 8, every: 4 }]) {
    await assert.rejects(decodeFrames({ source: cut, grid, pixelFormat: 'yuv420p' }, () => {}), (e: Error) => {
      assert.ok(e instanceof SourceInvalidError, `${grid ? 'grid mode' : 'whole frames'}: ${e.name}: ${e.message}`);
      assert.match(e.message, /corrupt or truncated/);
      return true;
    });
  }
});

test('zero frames → EmptySourceError', async () => {
  const zero = await zeroFrameClip(fx.dir);
  await assert.rejects(recordSource({ source: zero, fps: 10, workDir: path.join(fx.dir, 'w4') }), EmptySourceError);
  await assert.rejects(decodeFrames({ source: zero }, () => {}), EmptySourceError);
  await assert.rejects(decodeFrames({ source: zero, grid: { step: 8, every: 3 } }, () => {}), EmptySourceError);
});

test('unreachable rtsp camera → SourceUnreachableError, fast, password redacted', async () => {
  const port = await closedPort();
  const src = `rtsp://admin:pw-do-not-leak@127.0.0.1:${port}/stream`;
  const t0 = Date.now();
  await assert.rejects(recordSource({ source: src, fps: 10, seconds: 5, timeoutSec: 3, workDir: path.join(fx.dir, 'w5') }), (e: Error) => {
    assert.ok(e instanceof SourceUnreachableError, `${e.name}: ${e.message}`);
    assert.equal(e.retryable, true);
    assert.ok(!e.message.includes('pw-do-not-leak'), e.message);
    assert.ok(!JSON.stringify(e).includes('pw-do-not-leak'));
    return true;
  });
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  await assert.rejects(decodeFrames({ source: src, timeoutSec: 3 }, () => {}), SourceUnreachableError);
});
