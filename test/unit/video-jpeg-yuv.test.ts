import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { DEMO_VIDEO } from '../../src/config/schema.js';
import { JpegWriter } from '../../src/sampling/jpeg-writer.js';
import { openYuvJpegEncoder } from '../../src/video/jpeg-yuv.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'jpeg-yuv-'));
after(() => rm(tmp, { recursive: true, force: true }));

const W = 768;
const H = 576;
/** Four real frames of the demo video, seconds apart (different pictures, different JPEGs). */
const frames = [5, 20, 35, 50].map(
  (t) => new Uint8Array(execFileSync('ffmpeg', ['-v', 'error', '-ss', String(t), '-i', DEMO_VIDEO, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { maxBuffer: 1 << 24 })),
);

test('yuv JPEG encoder: concurrent encodes on the thread pool give, byte for byte, what one encode at a time gives', async () => {
  const one = openYuvJpegEncoder(1).encoder;
  const two = openYuvJpegEncoder(2).encoder;
  assert.ok(one && two, 'koffi and libturbojpeg are installed with the npm dependencies');
  try {
    const alone: Uint8Array[] = [];
    for (const f of frames) alone.push(await one.encode(f, W, H, 90));
    assert.equal(new Set(alone.map((j) => j.length)).size, frames.length, 'four different pictures');
    // all at once: two compress while two wait for a compressor
    const copiedAt: number[] = [];
    const together = await Promise.all(frames.map((f, i) => two.encode(f, W, H, 90, () => copiedAt.push(i))));
    assert.deepEqual(copiedAt.sort(), [0, 1, 2, 3]);
    for (const [i, j] of together.entries()) assert.ok(Buffer.from(j).equals(Buffer.from(alone[i]!)), `frame ${i} differs when encoded concurrently`);
  } finally {
    await one.close();
    await two.close();
  }
  // closed: no more encodes
  await assert.rejects(one.encode(frames[0]!, W, H, 90), /closed/);
});

test('yuv JPEG encoder: a frame is read only when its compressor is free, and its buffer may be reused from then on', async () => {
  const enc = openYuvJpegEncoder(1).encoder!;
  try {
    const expected = await enc.encode(frames[1]!, W, H, 90);
    const busy = enc.encode(frames[0]!, W, H, 90);
    // queued behind `busy`: not read yet, so its buffer must stay untouched until `copied`
    const buf = new Uint8Array(frames[1]!);
    let copied = false;
    const queued = enc.encode(buf, W, H, 90, () => {
      copied = true;
      buf.fill(0);
    });
    assert.equal(copied, false);
    await busy;
    const got = await queued;
    assert.equal(copied, true);
    assert.ok(Buffer.from(got).equals(Buffer.from(expected)), 'the queued frame was read before its buffer was reused');
    // close waits for an encode in flight instead of freeing its compressor under it
    const last = enc.encode(frames[2]!, W, H, 90);
    await enc.close();
    assert.ok((await last).length > 1000);
  } finally {
    await enc.close();
  }
});

test('JpegWriter (yuv): frames written at once are all stored whole, and their buffers come back to the pool only once read', async () => {
  const writer = new JpegWriter();
  try {
    const files = frames.map((_, i) => path.join(tmp, `w${i}.jpg`));
    const writes = frames.map((f, i) => {
      const b = writer.buffer(f.length);
      b.set(f);
      return writer.writeFrame(b, W, H, 'yuv420p', files[i]!);
    });
    // a buffer handed out now must not be one a queued frame still waits in: scribbling on it changes nothing
    for (let i = 0; i < 4; i++) writer.buffer(frames[0]!.length).fill(0);
    const written = await Promise.all(writes);
    const ref = openYuvJpegEncoder(1).encoder!;
    try {
      for (const [i, f] of frames.entries()) {
        const bytes = await readFile(files[i]!);
        assert.equal(written[i]!.bytes, bytes.length);
        assert.ok(bytes.equals(Buffer.from(await ref.encode(f, W, H, 90))), `frame ${i} was stored from a reused buffer`);
      }
    } finally {
      await ref.close();
    }
  } finally {
    await writer.close();
  }
});
