import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { DEMO_VIDEO } from '../../src/config/schema.js';
import { loadFrame } from '../../src/detect/load-frame.js';
import { jpegCodecStatus } from '../../src/video/jpeg.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'load-frame-'));
after(() => rm(tmp, { recursive: true, force: true }));

/** A real camera frame, written by ffmpeg as the sampler's frames are. */
const jpg = path.join(tmp, 'vtest.jpg');
execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '3', '-i', DEMO_VIDEO, '-frames:v', '1', '-q:v', '2', jpg]);

async function viaSharp(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function diff(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  assert.equal(a.length, b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

test('JPEG frames decode through TurboJPEG, to the pixels sharp gives (within rounding)', async () => {
  // the setup installs the optional binding on every platform it has prebuilt binaries for (this one)
  assert.equal(jpegCodecStatus().codec, 'libjpeg-turbo', jpegCodecStatus().detail);
  const frame = await loadFrame(jpg);
  const ref = await viaSharp(jpg);
  assert.deepEqual([frame.width, frame.height], [ref.width, ref.height]);
  // both are libjpeg-turbo; libvips' build rounds its IDCT/upsampling a little differently
  const d = diff(frame.data, ref.data);
  assert.ok(d.max <= 8 && d.mean < 1, `max ${d.max}, mean ${d.mean.toFixed(2)} grey levels from sharp's decode`);
});

test('with AUTOTUNER_JPEG_CODEC=sharp (or no binding) frames decode through sharp', async () => {
  process.env.AUTOTUNER_JPEG_CODEC = 'sharp';
  try {
    assert.equal(jpegCodecStatus().codec, 'sharp');
    const frame = await loadFrame(jpg);
    const d = diff(frame.data, (await viaSharp(jpg)).data);
    assert.equal(d.max, 0);
  } finally {
    delete process.env.AUTOTUNER_JPEG_CODEC;
  }
  assert.equal(jpegCodecStatus().codec, 'libjpeg-turbo');
});

test('a loop can decode into one buffer: the frame views it, and a bigger frame still decodes', async () => {
  const ref = await loadFrame(jpg);
  const buf = new Uint8Array(ref.data.length);
  const a = await loadFrame(jpg, buf);
  assert.equal(a.data.buffer, buf.buffer, 'decoded in place');
  assert.equal(diff(a.data, ref.data).max, 0);
  const small = await loadFrame(jpg, new Uint8Array(100));
  assert.deepEqual([small.width, small.height], [ref.width, ref.height]);
  assert.equal(diff(small.data, ref.data).max, 0);
});

test('images TurboJPEG does not take (PNG with alpha, grey, CMYK JPEG) still load as 3-channel RGB', async () => {
  const ref = await viaSharp(jpg);
  const png = path.join(tmp, 'alpha.png');
  await sharp(jpg).ensureAlpha().png().toFile(png);
  const grey = path.join(tmp, 'grey.jpg');
  await sharp(jpg).greyscale().jpeg({ quality: 95 }).toFile(grey);
  const cmyk = path.join(tmp, 'cmyk.jpg');
  await sharp(jpg).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(cmyk);
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  for (const [file, tolerance] of [
    [png, 1],
    [cmyk, 40],
  ] as const) {
    const f = await loadFrame(file);
    assert.equal(f.data.length, ref.width * ref.height * 3, file);
    let sum = 0;
    for (let i = 0; i < f.data.length; i++) sum += Math.abs(f.data[i]! - ref.data[i]!);
    assert.ok(sum / f.data.length < tolerance / 4, `${file}: mean difference ${(sum / f.data.length).toFixed(2)}`);
  }
  const g = await loadFrame(grey);
  assert.equal(g.data.length, ref.width * ref.height * 3);
  for (let i = 0; i < 3000; i += 3) assert.ok(g.data[i] === g.data[i + 1] && g.data[i] === g.data[i + 2], 'grey comes out as R=G=B');
});

test('a truncated or non-image frame fails with the file named', async () => {
  const bytes = await readFile(jpg);
  const cut = path.join(tmp, 'cut.jpg');
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(loadFrame(cut), (err: Error) => err.name === 'FrameDecodeError' && err.message.includes(cut));
  const text = path.join(tmp, 'text.jpg');
  await writeFile(text, 'not a jpeg');
  await assert.rejects(loadFrame(text), (err: Error) => err.name === 'FrameDecodeError' && err.message.includes(text));
  await assert.rejects(loadFrame(path.join(tmp, 'missing.jpg')), (err: Error) => err.name === 'FrameDecodeError' && /missing\.jpg.*ENOENT|ENOENT.*missing\.jpg/.test(err.message));
});
