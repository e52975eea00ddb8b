import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { turboJpegPath } from './jpeg.js';
import { yuvWasmModule } from './yuv-simd.js';

/**
 * JPEG straight from a decoded yuv420p frame. JPEG stores YCbCr 4:2:0 itself, so converting the
 * kept frames to rgb24 only for the encoder to convert them back (what the TurboJPEG npm binding
 * requires) is wasted work: ~0.3-0.8 ms of conversion plus the encoder's colour conversion and
 * chroma downsampling, ~40 % of a kept frame's cost. libturbojpeg's own tjCompressFromYUV takes
 * the planes as they are; it is reached through koffi (an FFI with prebuilt binaries, an optional
 * dependency) in the libturbojpeg that @julusian/jpeg-turbo ships next to its Linux bindings (or
 * a system one: Debian's libturbojpeg0, macOS, Windows). Where either is missing the rgb24 path
 * runs, as before.
 *
 * The compression runs on libuv's thread pool (koffi's asynchronous calls), not on a worker
 * thread of our own: a worker is a whole JavaScript environment, and starting one for a sample
 * step (bootstrap, koffi, the library, the SIMD module, code that never gets optimised before the
 * step ends) cost ~55 ms of CPU against ~160 ms for the step's 111 JPEGs. What stays on the
 * calling thread is the copy of the planes into the SIMD module's memory and their stretch to
 * full range, ~0.2 ms a 768x576 frame.
 *
 * Video is limited range and JPEG (JFIF) full range: the planes are stretched first by the SIMD
 * module's to_jfif (the BT.601 matrix is the same for both).
 */
export interface YuvJpegEncoder {
  /**
   * The JPEG of a yuv420p frame. `yuv` is read before this returns when a compressor is free, else
   * once one frees up; `copied` is called then, and from that moment `yuv` may be reused.
   */
  encode(yuv: Uint8Array, width: number, height: number, quality: number, copied?: () => void): Promise<Uint8Array>;
  /**
   * encode(), but the JPEG is lent to `use` in the compressor's own buffer instead of copied out:
   * valid until `use` settles, which keeps the compressor meanwhile (writing a file from it spares
   * a ~100 KB copy a frame, and the garbage collections such copies bring).
   */
  encodeWith<T>(yuv: Uint8Array, width: number, height: number, quality: number, use: (jpeg: Uint8Array) => T | Promise<T>, copied?: () => void): Promise<T>;
  /** Frees the compressors once no encode is in flight. */
  close(): Promise<void>;
}

/** A koffi function: called on this thread, or with `.async(...args, callback)` on libuv's pool. */
export type KoffiFunction = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };

/** The part of koffi this uses (it is optional: no compile-time dependency on its types). */
export interface KoffiLike {
  load(name: string): { func(signature: string): KoffiFunction };
}

/** libturbojpeg's file names, per platform (looked up by the system's loader). */
export const TURBOJPEG_LIBS = ['libturbojpeg.so.0', 'libturbojpeg.so', 'libturbojpeg.0.dylib', 'turbojpeg.dll'];

/**
 * Where to look for libturbojpeg, in order: the copy @julusian/jpeg-turbo's prebuilt binding for
 * this platform ships beside it (Linux builds do: the binding links it dynamically), then the
 * system's names.
 */
export function turbojpegLibraries(): string[] {
  const bundled: string[] = [];
  const binding = turboJpegPath();
  if (binding) {
    for (const variant of ['', '-musl']) {
      const dir = path.join(path.dirname(binding), 'prebuilds', `jpeg-turbo-${process.platform}-${process.arch}${variant}`);
      for (const name of ['libturbojpeg.so.0', 'libturbojpeg.0.dylib', 'turbojpeg.dll']) {
        if (existsSync(path.join(dir, name))) bundled.push(path.join(dir, name));
      }
    }
  }
  return [...bundled, ...TURBOJPEG_LIBS];
}

interface TurboFunctions {
  init: KoffiFunction;
  destroy: KoffiFunction;
  bufSize: KoffiFunction;
  compress: KoffiFunction;
  errorText: KoffiFunction;
  library: string;
}

/** libturbojpeg's functions, loaded once per process (per koffi and list of names). */
const loadedTurbo = new Map<string, TurboFunctions>();

function turboFunctions(koffi: KoffiLike, libs: readonly string[]): TurboFunctions {
  const key = libs.join('\0');
  const known = loadedTurbo.get(key);
  if (known) return known;
  const errors: string[] = [];
  for (const name of libs) {
    let lib: ReturnType<KoffiLike['load']>;
    try {
      lib = koffi.load(name);
    } catch (e) {
      errors.push(String((e as Error).message ?? e).split('\n')[0]!);
      continue;
    }
    const fns: TurboFunctions = {
      init: lib.func('void *tjInitCompress()'),
      destroy: lib.func('int tjDestroy(void *handle)'),
      bufSize: lib.func('unsigned long tjBufSize(int width, int height, int jpegSubsamp)'),
      compress: lib.func(
        'int tjCompressFromYUV(void *handle, const uint8_t *srcBuf, int width, int pad, int height, int subsamp, _Inout_ uint8_t **jpegBuf, _Inout_ unsigned long *jpegSize, int jpegQual, int flags)',
      ),
      errorText: lib.func('const char *tjGetErrorStr2(void *handle)'),
      library: name,
    };
    loadedTurbo.set(key, fns);
    return fns;
  }
  throw new Error(`libturbojpeg not found (${errors[errors.length - 1] ?? libs.join(', ')})`);
}

const SAMP_420 = 2;
/** TJFLAG_NOREALLOC: the encoder writes into our buffer (tjBufSize is its worst case) */
const NOREALLOC = 1024;
// the stretches in JS, for the few bytes past the last whole 16-byte block of a plane
const LUMA_JFIF = new Uint8Array(256).map((_, v) => Math.max(0, Math.min(255, Math.round(((v - 16) * 255) / 219))));
const CHROMA_JFIF = new Uint8Array(256).map((_, v) => Math.max(0, Math.min(255, Math.round(((v - 128) * 255) / 224) + 128)));

/** One compression at a time: its handle (TurboJPEG handles are not shared), planes and output. */
interface Compressor {
  handle: unknown;
  memory: WebAssembly.Memory;
  toJfif: (y: number, ylen: number, c: number, clen: number) => void;
  out: Uint8Array | null;
}

/**
 * An encoder with `parallel` compressors (each its own handle and SIMD module instance). Throws
 * when libturbojpeg or its functions cannot be loaded.
 */
export function createYuvJpegEncoder(wasm: Uint8Array | WebAssembly.Module, koffi: KoffiLike, libs: readonly string[], parallel = 1): YuvJpegEncoder {
  const tj = turboFunctions(koffi, libs);
  const module = wasm instanceof WebAssembly.Module ? wasm : new WebAssembly.Module(wasm);
  const idle: Compressor[] = [];
  const all: Compressor[] = [];
  const waiting: Array<(c: Compressor) => void> = [];
  let closed = false;
  const make = (): Compressor => {
    const handle = tj.init();
    if (!handle) throw new Error('tjInitCompress failed');
    const instance = new WebAssembly.Instance(module, {});
    const c: Compressor = { handle, memory: instance.exports.memory as WebAssembly.Memory, toJfif: instance.exports.to_jfif as Compressor['toJfif'], out: null };
    all.push(c);
    return c;
  };
  const acquire = (): Compressor | Promise<Compressor> => idle.pop() ?? (all.length < parallel ? make() : new Promise<Compressor>((resolve) => waiting.push(resolve)));
  const release = (c: Compressor): void => {
    const next = waiting.shift();
    if (next) next(c);
    else idle.push(c);
  };
  /** The planes in TurboJPEG's layout, stretched to full range, in c's memory: returns their length. */
  const prepare = (c: Compressor, yuv: Uint8Array, width: number, height: number): number => {
    const ylen = width * height;
    const clen = 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
    if (yuv.length < ylen + clen) throw new Error(`yuv420p frame of ${yuv.length} bytes, expected ${ylen + clen} for ${width}x${height}`);
    // TurboJPEG's luma plane covers whole 2x2 blocks (tjPlaneWidth/Height): an odd width or height
    // gets its last column or row repeated; the chroma planes are the same as ffmpeg's
    const lw = width + (width & 1);
    const lh = height + (height & 1);
    const lumaLen = lw * lh;
    const total = lumaLen + clen;
    // grown only while no compression reads this memory (it is c's own, and c is not in flight)
    if (c.memory.buffer.byteLength < total) c.memory.grow(Math.ceil((total - c.memory.buffer.byteLength) / 65536));
    const mem = new Uint8Array(c.memory.buffer);
    if (lw === width) mem.set(yuv.subarray(0, ylen), 0);
    else for (let y = 0; y < height; y++) {
      mem.set(yuv.subarray(y * width, (y + 1) * width), y * lw);
      mem[y * lw + width] = yuv[y * width + width - 1]!;
    }
    if (lh !== height) mem.copyWithin(height * lw, (height - 1) * lw, height * lw);
    mem.set(yuv.subarray(ylen, ylen + clen), lumaLen);
    const ySimd = lumaLen & ~15;
    const cSimd = clen & ~15;
    c.toJfif(0, ySimd, lumaLen, cSimd);
    for (let i = ySimd; i < lumaLen; i++) mem[i] = LUMA_JFIF[mem[i]!]!;
    for (let i = lumaLen + cSimd; i < total; i++) mem[i] = CHROMA_JFIF[mem[i]!]!;
    return total;
  };
  const encodeWith: YuvJpegEncoder['encodeWith'] = async (yuv, width, height, quality, use, copied) => {
    if (closed) throw new Error('JPEG encoder closed');
    const c = await acquire();
    try {
      const total = prepare(c, yuv, width, height);
      copied?.();
      const cap = Number(tj.bufSize(width, height, SAMP_420));
      if (!c.out || c.out.length < cap) c.out = new Uint8Array(cap);
      const out = c.out;
      const size = [cap];
      const rc = await new Promise<number>((resolve, reject) => {
        tj.compress.async(c.handle, new Uint8Array(c.memory.buffer, 0, total), width, 1, height, SAMP_420, [out], size, quality, NOREALLOC, (err: unknown, r: number) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(r),
        );
      });
      if (rc !== 0) throw new Error(`tjCompressFromYUV failed: ${String(tj.errorText(c.handle))}`);
      return await use(out.subarray(0, size[0]));
    } finally {
      release(c);
    }
  };
  return {
    encode: (yuv, width, height, quality, copied) => encodeWith(yuv, width, height, quality, (jpeg) => jpeg.slice(), copied),
    encodeWith,
    async close() {
      closed = true;
      // every compressor back (none in flight), then their handles go
      while (idle.length < all.length) await new Promise<void>((resolve) => waiting.push((c) => (idle.push(c), resolve())));
      for (const c of all.splice(0)) tj.destroy(c.handle);
      idle.length = 0;
    },
  };
}

const require = createRequire(import.meta.url);

/**
 * Where the JPEG worker finds koffi, or null when the yuv path is off: no koffi, no SIMD,
 * AUTOTUNER_JPEG_YUV=0, or AUTOTUNER_JPEG_CODEC=sharp (which asks for sharp's encoder).
 */
export function yuvJpegKoffiPath(): string | null {
  if (process.env.AUTOTUNER_JPEG_YUV === '0' || process.env.AUTOTUNER_JPEG_CODEC === 'sharp') return null;
  try {
    return require.resolve('koffi');
  } catch {
    return null;
  }
}

/**
 * An encoder for this process (the JPEG writer's, `doctor`'s), or why there is none: no koffi,
 * no SIMD, no libturbojpeg, or turned off.
 */
export function openYuvJpegEncoder(parallel?: number): { encoder: YuvJpegEncoder | null; detail: string } {
  const koffiPath = yuvJpegKoffiPath();
  if (!koffiPath) return { encoder: null, detail: 'off (AUTOTUNER_JPEG_YUV=0 or AUTOTUNER_JPEG_CODEC=sharp) or koffi not installed' };
  const wasm = yuvWasmModule();
  if (!wasm) return { encoder: null, detail: 'no WebAssembly SIMD (or AUTOTUNER_YUV_SIMD=0)' };
  try {
    const libs = turbojpegLibraries();
    const encoder = createYuvJpegEncoder(wasm, require(koffiPath) as KoffiLike, libs, parallel);
    return { encoder, detail: `libturbojpeg through koffi, on libuv's thread pool (${loadedTurbo.get(libs.join('\0'))?.library ?? libs[0]})` };
  } catch (err) {
    return { encoder: null, detail: (err as Error).message };
  }
}
