import sharp from 'sharp';
import type { RgbFrame } from './types.js';

export class FrameDecodeError extends Error {
  override name = 'FrameDecodeError';
}

/** Decode an image file (JPEG/PNG) to packed RGB. Corrupt files throw with the file named. */
export async function loadFrame(file: string): Promise<RgbFrame> {
  try {
    const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new FrameDecodeError(`cannot decode frame ${file}: ${(err as Error).message}`);
  }
}
