import { readFileSync } from 'node:fs';

/**
 * The sampler's per-frame grid work in WebAssembly SIMD (built by scripts/build-grid-wasm.mjs),
 * each kernel bit-identical to the plain JS it replaces, which still runs where SIMD is missing
 * or AUTOTUNER_GRID_SIMD=0. It runs on the thread that reads ffmpeg's frames, once per frame (or
 * per background update), so every microsecond there is one ffmpeg may wait for.
 */
interface GridExports {
  memory: WebAssembly.Memory;
  luma_full(p: number, len: number): void;
  median(ring: number, stride: number, count: number, out: number): void;
  fg_list(grid: number, bg: number, len: number, threshold: number, list: number): number;
}

const WASM_URL = new URL('./grid-simd.wasm', import.meta.url);
let compiled: WebAssembly.Module | null | undefined;

/** Most grids the SIMD median takes (the width of its sorting network). */
export const SIMD_MEDIAN_MAX = 16;

/** Bytes rounded up to whole 16-byte vectors (the kernels work in those; the padding stays zero). */
export function padded(n: number): number {
  return (n + 15) & ~15;
}

/** A fresh instance of the SIMD kernels, or null (SIMD off or unavailable). */
export function gridKernels(): GridKernels | null {
  if (process.env.AUTOTUNER_GRID_SIMD === '0') return null;
  if (compiled === undefined) {
    try {
      const bytes = new Uint8Array(readFileSync(WASM_URL));
      compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled ? new GridKernels(new WebAssembly.Instance(compiled, {}).exports as unknown as GridExports) : null;
}

export class GridKernels {
  constructor(readonly x: GridExports) {}

  /** The module's memory, at least `bytes` long (views taken before a call that grows it go stale). */
  bytes(bytes: number): Uint8Array {
    const m = this.x.memory;
    if (m.buffer.byteLength < bytes) m.grow(Math.ceil((bytes - m.buffer.byteLength) / 65536));
    return new Uint8Array(m.buffer);
  }
}

let shared: GridKernels | null | undefined;
/** This thread's instance for the stateless kernels (scratch at the start of its memory). */
function sharedKernels(): GridKernels | null {
  if (process.env.AUTOTUNER_GRID_SIMD === '0') return null;
  if (shared === undefined) shared = gridKernels();
  return shared;
}

/** Limited-range luma (16..235) stretched to 0..255, so thresholds mean the same grey levels as for rgb24. */
export const LUMA_FULL = new Uint8Array(256).map((_, y) => Math.max(0, Math.min(255, Math.round(((y - 16) * 255) / 219))));

/** LUMA_FULL applied to every byte of `data`, in place. */
export function lumaToFullRange(data: Uint8Array): void {
  const k = sharedKernels();
  if (!k) {
    for (let i = 0; i < data.length; i++) data[i] = LUMA_FULL[data[i]!]!;
    return;
  }
  const len = padded(data.length);
  const mem = k.bytes(len);
  mem.set(data, 0);
  k.x.luma_full(0, len);
  data.set(mem.subarray(0, data.length));
}

/**
 * Indices of the cells where |grid - background| > threshold, in order, into `list`; returns how
 * many (activity.ts's first pass over a frame).
 */
export function foregroundCells(grid: Uint8Array, background: Uint8Array, threshold: number, list: Int32Array): number {
  const n = Math.min(grid.length, background.length);
  const k = sharedKernels();
  if (!k || threshold < 0 || threshold > 255) {
    let count = 0;
    for (let i = 0; i < n; i++) {
      const d = grid[i]! - background[i]!;
      if (d > threshold || d < -threshold) list[count++] = i;
    }
    return count;
  }
  const len = padded(n);
  const listAt = 2 * len;
  const mem = k.bytes(listAt + 4 * len);
  mem.set(grid.subarray(0, n), 0);
  mem.set(background.subarray(0, n), len);
  // zero padding on both: the cells past n never count
  mem.fill(0, n, len);
  mem.fill(0, len + n, 2 * len);
  const count = k.x.fg_list(0, len, len, threshold, listAt);
  list.set(new Int32Array(mem.buffer, listAt, count));
  return count;
}
