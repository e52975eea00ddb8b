import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { ApplicationFailure } from '@temporalio/common';
import { JpegWriter } from '../../src/sampling/jpeg-writer.js';
import { toSourceFailure } from '../../src/video/errors.js';
import { jpegCodecStatus } from '../../src/video/jpeg.js';
import { DEMO_VIDEO } from '../../src/config/schema.js';

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

// the three ways a kept frame is encoded: from its yuv420p planes (libturbojpeg through koffi:
// koffi from npm, libturbojpeg beside the TurboJPEG binding), from rgb24 (the TurboJPEG binding), and sharp
const paths = [
  { encoder: 'yuv', env: {} },
  { encoder: 'rgb', env: { AUTOTUNER_JPEG_YUV: '0' } },
  { encoder: 'sharp', env: { AUTOTUNER_JPEG_CODEC: 'sharp' } },
] as const;

function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  Object.assign(process.env, env);
  return fn().finally(() => {
    for (const k of Object.keys(env)) delete process.env[k];
  });
}

for (const { encoder, env } of paths) {
  test(`JpegWriter (${encoder}) converts yuv420p frames given as pipe parts and encodes them off the thread`, () =>
    withEnv(env, async () => {
      assert.equal(jpegCodecStatus().codec, encoder === 'sharp' ? 'sharp' : 'libjpeg-turbo');
      const w = 64;
      const h = 48;
      // pure red and pure blue in limited-range YUV (BT.601)
      const frame = yuvFrame(w, h, [81, 90, 240], [41, 240, 110]);
      const writer = new JpegWriter();
      try {
        // split at odd places, like pipe chunks
        const parts = [frame.subarray(0, 1000), frame.subarray(1000, 3001), frame.subarray(3001)];
        const files = [0, 1, 2].map((i) => path.join(tmp, `${encoder}-f${i}.jpg`));
        const written = await Promise.all(files.map((f) => writer.write(parts, w, h, 'yuv420p', f)));
        for (const [i, f] of files.entries()) {
          // the digest handed back is the file's (the store takes it instead of reading the file)
          const bytes = await readFile(f);
          assert.deepEqual(written[i], { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, encoder });
          const red = await pixel(f, 8, 24);
          const blue = await pixel(f, 56, 24);
          assert.ok(red[0]! > 230 && red[1]! < 25 && red[2]! < 25, `left half should be red, got ${red}`);
          assert.ok(blue[2]! > 230 && blue[0]! < 25 && blue[1]! < 25, `right half should be blue, got ${blue}`);
        }
      } finally {
        await writer.close();
      }
    }));
}

test('JpegWriter: a real frame encoded from its yuv planes looks like the one encoded from rgb24, odd sizes too', async () => {
  // a frame of the demo video, and an odd-sized copy of it (chroma planes of ceil(w/2) x ceil(h/2))
  for (const [w, h, vf] of [[768, 576, 'null'], [333, 201, 'scale=333:201']] as const) {
    const yuv = execFileSync('ffmpeg', ['-v', 'error', '-ss', '30', '-i', DEMO_VIDEO, '-frames:v', '1', '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { maxBuffer: 1 << 24 });
    const decoded: Record<string, Buffer> = {};
    for (const { encoder, env } of paths.slice(0, 2)) {
      await withEnv(env, async () => {
        const writer = new JpegWriter();
        try {
          const file = path.join(tmp, `real-${w}-${encoder}.jpg`);
          assert.equal((await writer.write([yuv], w, h, 'yuv420p', file)).encoder, encoder);
          const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
          assert.deepEqual([info.width, info.height, info.channels], [w, h, 3]);
          decoded[encoder] = data;
        } finally {
          await writer.close();
        }
      });
    }
    let sum = 0;
    let max = 0;
    for (let i = 0; i < decoded.yuv!.length; i++) {
      const d = Math.abs(decoded.yuv![i]! - decoded.rgb![i]!);
      sum += d;
      max = Math.max(max, d);
    }
    // the same picture: the two differ only by rounding and how chroma is resampled
    assert.ok(sum / decoded.yuv!.length < 2, `${w}x${h}: mean |yuv-path - rgb-path| = ${(sum / decoded.yuv!.length).toFixed(2)}`);
    assert.ok(max < 60, `${w}x${h}: largest difference ${max}`);
  }
});

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

for (const { encoder, env } of paths) {
  test(`JpegWriter (${encoder}): a full disk is reported as one, with code ENOSPC (a retryable DiskFull failure in the sample activity), not as a failed encode`, () =>
    withEnv(env, async () => {
      const frame = yuvFrame(16, 16, [128, 128, 128], [128, 128, 128]);
      const writer = new JpegWriter();
      try {
        // /dev/full takes no byte: every write fails with ENOSPC
        await assert.rejects(writer.write([frame], 16, 16, 'yuv420p', '/dev/full'), (err: NodeJS.ErrnoException) => {
          assert.equal(err.message, 'cannot write /dev/full: the disk is full (no space left on device): free space there');
          assert.equal(err.code, 'ENOSPC');
          const failure = toSourceFailure(err);
          assert.ok(failure instanceof ApplicationFailure && failure.type === 'DiskFull' && !failure.nonRetryable);
          return true;
        });
      } finally {
        await writer.close();
      }
    }));
}
