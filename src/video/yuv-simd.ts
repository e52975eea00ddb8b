import { readFileSync } from 'node:fs';
import { yuv420pToRgb } from './decode.js';

/** yuv420p → rgb24 that writes into its own memory: the result is valid until the next call. */
export type YuvConverter = (yuv: Uint8Array, width: number, height: number) => Uint8Array;

const WASM_URL = new URL('./yuv420p-rgb24.wasm', import.meta.url);

/**
 * The WebAssembly SIMD converter's bytes (built by scripts/build-yuv-wasm.mjs), or null where
 * they cannot be read or this runtime has no SIMD (then the plain JS conversion is used).
 */
export function yuvWasmBytes(): Uint8Array | null {
  if (process.env.AUTOTUNER_YUV_SIMD === '0') return null;
  try {
    const bytes = new Uint8Array(readFileSync(WASM_URL));
    return WebAssembly.validate(bytes) ? bytes : null;
  } catch {
    return null;
  }
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * The SIMD module compiled once per process (null where yuvWasmBytes is): a compiled module goes
 * to a worker thread as it is, so a JPEG worker does not compile it again at every start.
 */
export function yuvWasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = yuvWasmBytes();
    compiled = bytes ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/**
 * A converter around the SIMD module: it converts whole 16-pixel blocks of row pairs, `js` (the
 * plain conversion, yuv420pToRgb) the right-hand strip and an odd last row; the output is
 * bit-identical to `js` alone. Self-contained (no imports in its body): the JPEG worker inlines
 * it by its source text.
 */
export function createYuvConverter(
  bytes: Uint8Array | WebAssembly.Module,
  js: (yuv: Uint8Array, width: number, height: number, out: Uint8Array, x0: number, y0: number) => Uint8Array,
): YuvConverter {
  const instance = new WebAssembly.Instance(bytes instanceof WebAssembly.Module ? bytes : new WebAssembly.Module(bytes), {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  const convert = instance.exports.convert as (y: number, u: number, v: number, out: number, width: number, cw: number, rows: number, cols: number) => void;
  return (yuv, width, height) => {
    const inBytes = yuv.length;
    const outBytes = width * height * 3;
    // 16 bytes of slack: the last block's 64-bit chroma load may read past the planes
    const need = inBytes + outBytes + 16;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    const mem = new Uint8Array(memory.buffer);
    mem.set(yuv, 0);
    const cw = Math.ceil(width / 2);
    const ch = Math.ceil(height / 2);
    const outAt = inBytes + 16;
    const rows = height & ~1;
    const cols = width & ~15;
    convert(0, width * height, width * height + cw * ch, outAt, width, cw, rows, cols);
    const input = mem.subarray(0, inBytes);
    const out = mem.subarray(outAt, outAt + outBytes);
    if (cols < width) js(input, width, height, out, cols, 0);
    if (rows < height) js(input, width, height, out, 0, rows);
    return out;
  };
}

let shared: YuvConverter | null | undefined;

/** This thread's converter: SIMD when available, else the plain conversion into a fresh buffer. */
export function yuvConverter(): YuvConverter {
  if (shared === undefined) {
    const bytes = yuvWasmBytes();
    shared = bytes ? createYuvConverter(bytes, yuv420pToRgb) : null;
  }
  return shared ?? ((yuv, width, height) => yuv420pToRgb(yuv, width, height));
}
