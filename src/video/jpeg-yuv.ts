import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { turboJpegPath } from './jpeg.js';
import { yuvWasmBytes } from './yuv-simd.js';

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
 * Video is limited range and JPEG (JFIF) full range: the planes are stretched first, in place,
 * by the SIMD module's to_jfif (the BT.601 matrix is the same for both).
 */
export type YuvJpegEncoder = (yuv: Uint8Array, width: number, height: number, quality: number) => Uint8Array;

/** The part of koffi this uses (it is optional: no compile-time dependency on its types). */
export interface KoffiLike {
  load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
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

/**
 * An encoder around one compressor handle (one thread's: TurboJPEG handles are not shared).
 * Throws when the library or its functions cannot be loaded. Self-contained (no imports in its
 * body): the JPEG worker inlines it by its source text.
 */
export function createYuvJpegEncoder(wasm: Uint8Array, koffi: KoffiLike, libs: readonly string[]): YuvJpegEncoder {
  let lib: ReturnType<KoffiLike['load']> | null = null;
  const errors: string[] = [];
  for (const name of libs) {
    try {
      lib = koffi.load(name);
      break;
    } catch (e) {
      errors.push(String((e as Error).message ?? e).split('\n')[0]!);
    }
  }
  if (!lib) throw new Error(`libturbojpeg not found (${errors[errors.length - 1] ?? libs.join(', ')})`);
  const init = lib.func('void *tjInitCompress()');
  const bufSize = lib.func('unsigned long tjBufSize(int width, int height, int jpegSubsamp)');
  const compress = lib.func(
    'int tjCompressFromYUV(void *handle, const uint8_t *srcBuf, int width, int pad, int height, int subsamp, _Inout_ uint8_t **jpegBuf, _Inout_ unsigned long *jpegSize, int jpegQual, int flags)',
  );
  const errorText = lib.func('const char *tjGetErrorStr2(void *handle)');
  const handle = init();
  if (!handle) throw new Error('tjInitCompress failed');
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  const toJfif = instance.exports.to_jfif as (y: number, ylen: number, c: number, clen: number) => void;
  // the same stretches in JS, for the few bytes past the last whole 16-byte block of a plane
  const luma = new Uint8Array(256).map((_, v) => Math.max(0, Math.min(255, Math.round(((v - 16) * 255) / 219))));
  const chroma = new Uint8Array(256).map((_, v) => Math.max(0, Math.min(255, Math.round(((v - 128) * 255) / 224) + 128)));
  const SAMP_420 = 2;
  const NOREALLOC = 1024;
  let out: Uint8Array | null = null;
  return (yuv, width, height, quality) => {
    const ylen = width * height;
    const clen = 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
    if (yuv.length < ylen + clen) throw new Error(`yuv420p frame of ${yuv.length} bytes, expected ${ylen + clen} for ${width}x${height}`);
    // TurboJPEG's luma plane covers whole 2x2 blocks (tjPlaneWidth/Height): an odd width or height
    // gets its last column or row repeated; the chroma planes are the same as ffmpeg's
    const lw = width + (width & 1);
    const lh = height + (height & 1);
    const lumaLen = lw * lh;
    const total = lumaLen + clen;
    if (memory.buffer.byteLength < total) memory.grow(Math.ceil((total - memory.buffer.byteLength) / 65536));
    const mem = new Uint8Array(memory.buffer);
    if (lw === width) mem.set(yuv.subarray(0, ylen), 0);
    else for (let y = 0; y < height; y++) {
      mem.set(yuv.subarray(y * width, (y + 1) * width), y * lw);
      mem[y * lw + width] = yuv[y * width + width - 1]!;
    }
    if (lh !== height) mem.copyWithin(height * lw, (height - 1) * lw, height * lw);
    mem.set(yuv.subarray(ylen, ylen + clen), lumaLen);
    const ySimd = lumaLen & ~15;
    const cSimd = clen & ~15;
    toJfif(0, ySimd, lumaLen, cSimd);
    for (let i = ySimd; i < lumaLen; i++) mem[i] = luma[mem[i]!]!;
    for (let i = lumaLen + cSimd; i < total; i++) mem[i] = chroma[mem[i]!]!;
    const cap = Number(bufSize(width, height, SAMP_420));
    if (!out || out.length < cap) out = new Uint8Array(cap);
    const size = [cap];
    // NOREALLOC: the encoder writes into `out` (tjBufSize is its worst case)
    const rc = compress(handle, mem.subarray(0, total), width, 1, height, SAMP_420, [out], size, quality, NOREALLOC);
    if (rc !== 0) throw new Error(`tjCompressFromYUV failed: ${String(errorText(handle))}`);
    return out.slice(0, size[0]);
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

/** For `doctor` and tests: an encoder on this thread, or why there is none. */
export function yuvJpegStatus(): { encoder: YuvJpegEncoder | null; detail: string } {
  const koffiPath = yuvJpegKoffiPath();
  if (!koffiPath) return { encoder: null, detail: 'off (AUTOTUNER_JPEG_YUV=0 or AUTOTUNER_JPEG_CODEC=sharp) or koffi not installed' };
  const wasm = yuvWasmBytes();
  if (!wasm) return { encoder: null, detail: 'no WebAssembly SIMD (or AUTOTUNER_YUV_SIMD=0)' };
  try {
    const libs = turbojpegLibraries();
    return { encoder: createYuvJpegEncoder(wasm, require(koffiPath) as KoffiLike, libs), detail: `libturbojpeg through koffi (first of ${libs[0]}, then the system's)` };
  } catch (err) {
    return { encoder: null, detail: (err as Error).message };
  }
}
