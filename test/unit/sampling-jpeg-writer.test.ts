import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { JpegWriter } from '../../src/sampling/jpeg-writer.js';
import { jpegCodecStatus } from '../../src/video/jpeg.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'jpeg-writer-'));
after(() => rm(tmp, { recursive: true, force: true }));

/** A yuv420p frame: left half one colour, right half another (BT.601 limited range). */
function yuvFrame(w: number, h: number, left: [number, number, number], right: [number, number, number]): Uint8Array {
  const cw = w / 2;
  const ch = h / 2;
  const buf = new Uint8Array(w * h + 2 * cw * ch);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) buf[y * w + x] = (x < w / 2 ? left : right)[0];
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++) {
      const c = x < cw / 2 ? left : right;
      buf[w * h + y * cw + x] = c[1];
      buf[w * h + cw * ch + y * cw + x] = c[2];
    }
  return buf;
}

async function pixel(file: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * info.channels;
  return [data[o]!, data[o + 1]!, data[o + 2]!];
}

for (const codec of ['libjpeg-turbo', 'sharp'] as const) {
  test(`JpegWriter (${codec}) converts yuv420p frames given as pipe parts and encodes them off the thread`, async () => {
    if (codec === 'sharp') process.env.AUTOTUNER_JPEG_CODEC = 'sharp';
    try {
      assert.equal(jpegCodecStatus().codec, codec);
      const w = 64;
      const h = 48;
      // pure red and pure blue in limited-range YUV (BT.601)
      const frame = yuvFrame(w, h, [81, 90, 240], [41, 240, 110]);
      const writer = new JpegWriter();
      try {
        // split at odd places, like pipe chunks
        const parts = [frame.subarray(0, 1000), frame.subarray(1000, 3001), frame.subarray(3001)];
        const files = [0, 1, 2].map((i) => path.join(tmp, `${codec}-f${i}.jpg`));
        const written = await Promise.all(files.map((f) => writer.write(parts, w, h, 'yuv420p', f)));
        for (const [i, f] of files.entries()) {
          // the digest handed back is the file's (the store takes it instead of reading the file)
          const bytes = await readFile(f);
          assert.deepEqual(written[i], { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
          const red = await pixel(f, 8, 24);
          const blue = await pixel(f, 56, 24);
          assert.ok(red[0]! > 230 && red[1]! < 25 && red[2]! < 25, `left half should be red, got ${red}`);
          assert.ok(blue[2]! > 230 && blue[0]! < 25 && blue[1]! < 25, `right half should be blue, got ${blue}`);
        }
      } finally {
        await writer.close();
      }
    } finally {
      delete process.env.AUTOTUNER_JPEG_CODEC;
    }
  });
}

test('JpegWriter: a failed write (missing dir, full disk) names the file and the cause, and the writer keeps working; short frames are refused', async () => {
  const w = 16;
  const h = 16;
  const frame = yuvFrame(w, h, [128, 128, 128], [128, 128, 128]);
  const writer = new JpegWriter();
  try {
    const bad = path.join(tmp, 'no-such-dir', 'x.jpg');
    await assert.rejects(writer.write([frame], w, h, 'yuv420p', bad), /^Error: JPEG encoding failed: .*no such file or directory.*no-such-dir|^Error: JPEG encoding failed: .*no-such-dir.*no such file or directory/i);
    // a full disk: one line that names the file and the cause
    await assert.rejects(writer.write([frame], w, h, 'yuv420p', '/dev/full'), (err: Error) => /\/dev\/full.*No space left on device/i.test(err.message) && !err.message.includes('\n'));
    await assert.rejects(writer.write([frame.subarray(0, 100)], w, h, 'yuv420p', path.join(tmp, 'short.jpg')), /has 100 bytes, expected 384/);
    const ok = path.join(tmp, 'ok.jpg');
    // a frame in a buffer from the writer's pool goes over whole; a view into a bigger buffer is refused
    const pooled = writer.buffer(frame.length);
    pooled.set(frame);
    await writer.writeFrame(pooled, w, h, 'yuv420p', ok);
    await assert.rejects(writer.writeFrame(new Uint8Array(frame.length * 2).subarray(0, frame.length), w, h, 'yuv420p', ok), /not a whole 384-byte buffer/);
    const [r, g, b] = await pixel(ok, 8, 8);
    assert.ok(Math.abs(r! - 130) < 6 && Math.abs(g! - 130) < 6 && Math.abs(b! - 130) < 6, `grey expected, got ${[r, g, b]}`);
  } finally {
    await writer.close();
  }
  await assert.rejects(writer.write([frame], w, h, 'yuv420p', path.join(tmp, 'closed.jpg')), /closed/);
});
