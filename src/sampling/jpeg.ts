import sharp from 'sharp';
import type { RgbFrame } from '../detect/types.js';

/** Encode an rgb24 frame as JPEG (sharp runs it on libuv's thread pool, off the event loop). */
export async function writeJpeg(frame: RgbFrame, file: string, quality = 90): Promise<void> {
  const buf = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.width * frame.height * 3);
  await sharp(buf, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    // Huffman optimisation halves encode speed for ~5% smaller files: not worth it for scratch frames.
    .jpeg({ quality, optimiseCoding: false })
    .toFile(file);
}
