import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { isJpeg, turboJpeg } from '../video/jpeg.js';
import type { RgbFrame } from './types.js';

export class FrameDecodeError extends Error {
  override name = 'FrameDecodeError';
}

function asFrame(data: Buffer, width: number, height: number): RgbFrame {
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

async function loadWithSharp(bytes: Buffer): Promise<RgbFrame> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  // sharp's output is sRGB by default (CMYK and Lab are converted): 3 channels of bytes need nothing more
  if (info.channels === 3 && data.length === info.width * info.height * 3) return asFrame(data, info.width, info.height);
  const conv = await sharp(bytes).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (conv.info.channels !== 3) throw new Error(`expected 3 channels, got ${conv.info.channels}`);
  return asFrame(conv.data, conv.info.width, conv.info.height);
}

/**
 * Decode an image file (JPEG/PNG) to packed RGB. Corrupt files throw with the file named.
 * JPEGs (what the sampler writes) go through TurboJPEG on the threadpool: this runs once per frame
 * on the annotate hot path, where every millisecond of CPU is taken from inference. Anything it
 * cannot take (PNG, CMYK, a damaged file) goes to sharp, whose error names the problem.
 * `into`: decode into this array when it is large enough (a loop that decodes frame after frame
 * then allocates nothing, and the GC has no 1.3 MB buffers to chase); the frame views it.
 */
export async function loadFrame(file: string, into?: Uint8Array): Promise<RgbFrame> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new FrameDecodeError(`cannot read frame ${file}: ${(err as Error).message}`);
  }
  const turbo = turboJpeg();
  if (turbo && isJpeg(bytes)) {
    try {
      const opts = { format: turbo.FORMAT_RGB };
      let r: Awaited<ReturnType<typeof turbo.decompress>>;
      try {
        r = await (into ? turbo.decompress(bytes, Buffer.from(into.buffer, into.byteOffset, into.byteLength), opts) : turbo.decompress(bytes, opts));
      } catch (err) {
        if (!into || !/insufficient output buffer/i.test((err as Error).message)) throw err;
        r = await turbo.decompress(bytes, opts); // a bigger frame than the last: allocate
      }
      return asFrame(r.data.subarray(0, r.size), r.width, r.height);
    } catch {
      // not a JPEG TurboJPEG can decode to RGB: sharp decides (and names the problem)
    }
  }
  try {
    return await loadWithSharp(bytes);
  } catch (err) {
    throw new FrameDecodeError(`cannot decode frame ${file}: ${(err as Error).message}`);
  }
}
