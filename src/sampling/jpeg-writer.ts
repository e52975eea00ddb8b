import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { PixelFormat } from '../video/decode.js';
import { frameBytesOf, yuv420pToRgb } from '../video/decode.js';
import { turboJpegPath } from '../video/jpeg.js';
import { openYuvJpegEncoder, type YuvJpegEncoder } from '../video/jpeg-yuv.js';
import { createYuvConverter, yuvWasmModule } from '../video/yuv-simd.js';

/**
 * Kept frames are JPEG-encoded off the thread that reads ffmpeg's pipe (a 2 ms encode there
 * stalls the pipe, and with it ffmpeg, once per kept frame):
 * * straight from their yuv420p planes by libturbojpeg on libuv's thread pool (video/jpeg-yuv.ts),
 *   the file written and its digest taken on the pool too;
 * * where that library or koffi is missing, on a worker thread: converted (yuv420p → rgb24:
 *   WebAssembly SIMD, see video/yuv-simd.ts) and encoded by the TurboJPEG binding, else by sharp.
 *   The worker is plain JS evaluated from a string (like the detector's session worker) so it runs
 *   the same from tsx and from compiled output; the conversion is the very function decode.ts
 *   exports, inlined by its source text. It starts only when a frame needs it.
 */
const workerSource = (convert: string, simd: string): string => `
const { parentPort, workerData } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const turbo = workerData.turboPath ? require(workerData.turboPath) : null;
const sharp = turbo ? null : require(workerData.sharpPath);
const yuv420pToRgb = ${convert};
const createYuvConverter = ${simd};
const simd = workerData.yuvWasm ? createYuvConverter(workerData.yuvWasm, yuv420pToRgb) : null;
const spare = [];
async function encodeYuvSimd(src, m) {
  // converted into the module's memory and encoded synchronously, before another message can reuse it
  const rgb = simd(src, m.width, m.height);
  const jpeg = turbo.compressSync(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { format: turbo.FORMAT_RGB, width: m.width, height: m.height, quality: m.quality, subsampling: turbo.SAMP_420 });
  return save(jpeg, m);
}
// the digest is taken from the bytes in memory, so storing the frames need not read them back;
// written synchronously: this thread has nothing else to do meanwhile, and an async write's three
// thread-pool round trips (open, write, close) cost more CPU than the write itself
async function save(jpeg, m) {
  writeFileSync(m.file, jpeg);
  return { sha256: createHash('sha256').update(jpeg).digest('hex'), bytes: jpeg.length };
}
async function encode(px, m) {
  if (turbo) {
    const jpeg = await turbo.compress(px, { format: turbo.FORMAT_RGB, width: m.width, height: m.height, quality: m.quality, subsampling: turbo.SAMP_420 });
    return save(jpeg, m);
  }
  // Huffman optimisation halves encode speed for ~5% smaller files: not worth it for scratch frames
  return save(await sharp(px, { raw: { width: m.width, height: m.height, channels: 3 } }).jpeg({ quality: m.quality, optimiseCoding: false }).toBuffer(), m);
}
parentPort.on('message', async (m) => {
  const need = m.width * m.height * 3;
  let rgb = null;
  try {
    const src = new Uint8Array(m.buf);
    if (m.format === 'yuv420p' && simd && turbo) {
      const digest = await encodeYuvSimd(src, m);
      parentPort.postMessage({ id: m.id, ok: true, buf: m.buf, ...digest, encoder: 'rgb' }, [m.buf]);
      return;
    }
    if (m.format === 'yuv420p') {
      rgb = spare.pop() || null;
      if (!rgb || rgb.length !== need) rgb = new Uint8Array(need);
      yuv420pToRgb(src, m.width, m.height, rgb);
    }
    const px = rgb || src;
    // the encoder reads its input while it encodes: the rgb buffer is reused only once the file is written
    const digest = await encode(Buffer.from(px.buffer, px.byteOffset, need), m);
    parentPort.postMessage({ id: m.id, ok: true, buf: m.buf, ...digest, encoder: turbo ? 'rgb' : 'sharp' }, [m.buf]);
  } catch (e) {
    // libvips reports over several lines ("<file>: write error" then "system error: ..."): make it one
    const msg = String((e && e.message) || e).trim().split(/\\s*\\n\\s*/).join('; ');
    const error = msg.includes(m.file) ? 'JPEG encoding failed: ' + msg : 'JPEG encoding of ' + m.file + ' failed: ' + msg;
    parentPort.postMessage({ id: m.id, ok: false, error, buf: m.buf }, [m.buf]);
  } finally {
    if (rgb && spare.length < 4) spare.push(rgb);
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  buf: ArrayBuffer;
  sha256?: string;
  bytes?: number;
  encoder?: JpegEncoderPath;
}

/** How a frame was encoded: from its yuv420p planes (libturbojpeg), from rgb24 (TurboJPEG binding), or by sharp. */
export type JpegEncoderPath = 'yuv' | 'rgb' | 'sharp';

/** What a write stored: the JPEG's sha256 and size (for the artifact store, see PutDirOptions.known), and how it was encoded. */
export interface WrittenJpeg {
  sha256: string;
  bytes: number;
  encoder: JpegEncoderPath;
}

const require = createRequire(import.meta.url);

/** Whether a write failed for want of space (the worker's errors arrive as text: their code is gone, their words are not). */
function isDiskFull(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOSPC' || /\bENOSPC\b|no space left on device/i.test(String((err as Error)?.message ?? err));
}

/** A full disk as what it is, not as a failed encode: code ENOSPC (a retryable DiskFull failure in an activity). */
function diskFullError(file: string, cause: unknown): Error {
  return Object.assign(new Error(`cannot write ${file}: the disk is full (no space left on device): free space there`, { cause }), { code: 'ENOSPC' });
}

/** A failed encode or write as one line that names the file; a full disk says so (code ENOSPC). */
function encodeError(err: unknown, file: string): Error {
  // libvips reports over several lines ("<file>: write error" then "system error: ..."): make it one
  const msg = String((err as Error)?.message ?? err).trim().split(/\s*\n\s*/).join('; ');
  if (isDiskFull(err)) return diskFullError(file, err);
  return new Error(msg.includes(file) ? `JPEG encoding failed: ${msg}` : `JPEG encoding of ${file} failed: ${msg}`);
}

/** Writes raw frames (given as the pipe's byte parts) as JPEG files, off the calling thread. */
export class JpegWriter {
  /** libturbojpeg from the planes, on the thread pool (null: the worker encodes everything) */
  private readonly yuv: YuvJpegEncoder | null;
  private worker: Worker | null = null;
  private next = 1;
  private readonly pending = new Map<number, { file: string; resolve: (w: WrittenJpeg) => void; reject: (e: Error) => void }>();
  /** every write not settled yet: close() lets them finish first */
  private readonly inFlight = new Set<Promise<WrittenJpeg>>();
  /** frame buffers free again (copied out, or handed back by the worker), refilled for the next kept frame */
  private readonly free: ArrayBuffer[] = [];
  private dead: Error | undefined;

  constructor(private readonly quality = 90) {
    this.yuv = openYuvJpegEncoder().encoder;
  }

  /** The worker thread, started when a frame first needs it (no libturbojpeg for the planes, or not yuv420p). */
  private startWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerSource(yuv420pToRgb.toString(), createYuvConverter.toString()), {
      eval: true,
      workerData: {
        sharpPath: require.resolve('sharp'),
        turboPath: turboJpegPath(),
        yuvWasm: yuvWasmModule(),
      },
    });
    worker.on('message', (r: Reply) => {
      this.recycle(r.buf);
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) worker.unref();
      if (r.ok) p.resolve({ sha256: r.sha256!, bytes: r.bytes!, encoder: r.encoder! });
      else p.reject(isDiskFull(r.error) ? diskFullError(p.file, r.error) : new Error(r.error ?? 'JPEG encoding failed'));
    });
    const failAll = (err: Error): void => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`JPEG worker thread exited (code ${code})`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private recycle(buf: ArrayBuffer): void {
    if (this.free.length < 8) this.free.push(buf);
  }

  /**
   * A frame-sized buffer to fill and hand to writeFrame: a recycled one when there is one.
   * (Reusing them keeps frame copies from churning external memory, which V8 answers with full
   * garbage collections.)
   */
  buffer(bytes: number): Uint8Array {
    const i = this.free.findIndex((b) => b.byteLength === bytes);
    return new Uint8Array(i >= 0 ? this.free.splice(i, 1)[0]! : new ArrayBuffer(bytes));
  }

  /** Copy the frame out of `parts` (the copy is the only work on this thread) and encode it to `file`. */
  write(parts: readonly Uint8Array[], width: number, height: number, format: PixelFormat, file: string): Promise<WrittenJpeg> {
    if (this.dead) return Promise.reject(this.dead);
    const bytes = frameBytesOf(format, width, height);
    const view = this.buffer(bytes);
    const o = copyParts(parts, view);
    if (o !== bytes) return Promise.reject(new Error(`frame for ${file} has ${o} bytes, expected ${bytes}`));
    return this.writeFrame(view, width, height, format, file);
  }

  /** Encode a whole frame (a buffer from buffer(), given up: the writer reuses it) to `file`. */
  writeFrame(pixels: Uint8Array, width: number, height: number, format: PixelFormat, file: string): Promise<WrittenJpeg> {
    if (this.dead) return Promise.reject(this.dead);
    const bytes = frameBytesOf(format, width, height);
    const buf = pixels.buffer as ArrayBuffer;
    if (pixels.byteOffset !== 0 || buf.byteLength !== bytes) {
      return Promise.reject(new Error(`frame for ${file} is not a whole ${bytes}-byte buffer (take it from JpegWriter.buffer)`));
    }
    const done = format === 'yuv420p' && this.yuv ? this.encodePlanes(this.yuv, pixels, width, height, file) : this.post(buf, width, height, format, file);
    this.inFlight.add(done);
    const forget = (): void => void this.inFlight.delete(done);
    done.then(forget, forget);
    return done;
  }

  private async encodePlanes(yuv: YuvJpegEncoder, pixels: Uint8Array, width: number, height: number, file: string): Promise<WrittenJpeg> {
    try {
      // written and hashed on the thread pool, straight from the compressor's buffer; the digest
      // from the bytes in memory, so storing the frames need not read them back
      return await yuv.encodeWith(
        pixels,
        width,
        height,
        this.quality,
        async (jpeg) => {
          const [digest] = await Promise.all([crypto.subtle.digest('SHA-256', jpeg), writeFile(file, jpeg)]);
          return { sha256: Buffer.from(digest).toString('hex'), bytes: jpeg.length, encoder: 'yuv' as const };
        },
        () => this.recycle(pixels.buffer as ArrayBuffer),
      );
    } catch (err) {
      throw encodeError(err, file);
    }
  }

  private post(buf: ArrayBuffer, width: number, height: number, format: PixelFormat, file: string): Promise<WrittenJpeg> {
    const worker = this.startWorker();
    const id = this.next++;
    return new Promise<WrittenJpeg>((resolve, reject) => {
      this.pending.set(id, { file, resolve, reject });
      worker.ref();
      worker.postMessage({ id, buf, width, height, format, file, quality: this.quality }, [buf]);
    });
  }

  /**
   * Stop once the writes in flight have settled (each takes milliseconds): terminating the worker
   * while sharp still encodes on its behalf can leave terminate() pending forever, with nothing
   * keeping the event loop alive (seen on the error path, e.g. a truncated clip).
   */
  async close(): Promise<void> {
    this.dead ??= new Error('JPEG writer closed');
    await Promise.allSettled([...this.inFlight]);
    await Promise.all([this.yuv?.close(), this.worker?.terminate()]);
  }
}

/** Copy a frame given as consecutive byte parts into `into` (up to its length); returns the bytes copied. */
export function copyParts(parts: readonly Uint8Array[], into: Uint8Array): number {
  let o = 0;
  for (const p of parts) {
    const n = Math.min(p.length, into.length - o);
    into.set(n === p.length ? p : p.subarray(0, n), o);
    o += n;
  }
  return o;
}
