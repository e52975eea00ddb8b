import { gridKernels, padded, SIMD_MEDIAN_MAX, type GridKernels } from './grid-simd.js';

/**
 * Background model: per-cell median of a ring of grey grids sampled every `interval` frames.
 * A median (unlike a mean) ignores people who walk through; the ring makes it follow slow light
 * changes. Recomputed only when a sample is added: with WebAssembly SIMD (grid-simd.ts) a
 * sorting network over the whole ring, 16 cells at a time (~25 µs for a 96x72 grid); without, a
 * sorted run per cell that a new sample updates in one short shift (~250 µs).
 */
export class BackgroundModel {
  private readonly ring: Uint8Array[] = [];
  private next = 0;
  private seen = 0;
  /** per cell, the ring's values kept sorted: a new sample replaces the oldest in one short shift */
  private readonly sorted: Uint8Array;
  private current: Uint8Array | null = null;
  /** SIMD: the ring lives in the module's memory, slot k at k * stride, the median after the last slot */
  private readonly simd: GridKernels | null;
  private readonly stride: number;
  private count = 0;
  /** background at the end of warm-up, the reference for "camera moved within the window" */
  reference: Uint8Array | null = null;

  constructor(
    readonly cells: number,
    readonly interval: number,
    readonly size = 15,
    /** samples before the model counts as warmed up */
    readonly warmSamples = 3,
  ) {
    this.simd = size <= SIMD_MEDIAN_MAX ? gridKernels() : null;
    this.stride = padded(cells);
    this.sorted = new Uint8Array(this.simd ? 0 : cells * size);
    this.simd?.bytes((size + 1) * this.stride);
  }

  get samples(): number {
    return this.count;
  }
  get warm(): boolean {
    return this.count >= Math.min(this.warmSamples, this.size);
  }

  /** Feed every frame's grid; returns true when the background was recomputed. */
  push(grid: Uint8Array): boolean {
    const take = this.seen++ % this.interval === 0;
    if (!take) return false;
    if (this.simd) return this.pushSimd(grid);
    const R = this.size;
    const sorted = this.sorted;
    const out = new Uint8Array(this.cells);
    if (this.ring.length < R) {
      const n = this.ring.length; // values already in each cell's sorted run
      for (let i = 0; i < this.cells; i++) {
        const base = i * R;
        const v = grid[i]!;
        let j = base + n - 1;
        while (j >= base && sorted[j]! > v) {
          sorted[j + 1] = sorted[j]!;
          j--;
        }
        sorted[j + 1] = v;
        out[i] = sorted[base + ((n + 1) >> 1)]!;
      }
      this.ring.push(grid);
    } else {
      const old = this.ring[this.next]!;
      const mid = R >> 1;
      for (let i = 0; i < this.cells; i++) {
        const base = i * R;
        const v = grid[i]!;
        const o = old[i]!;
        if (v !== o) {
          let p = base;
          while (sorted[p] !== o) p++;
          if (v > o) {
            while (p + 1 < base + R && sorted[p + 1]! < v) {
              sorted[p] = sorted[p + 1]!;
              p++;
            }
          } else {
            while (p > base && sorted[p - 1]! > v) {
              sorted[p] = sorted[p - 1]!;
              p--;
            }
          }
          sorted[p] = v;
        }
        out[i] = sorted[base + mid]!;
      }
      this.ring[this.next] = grid;
    }
    this.count = this.ring.length;
    this.next = (this.next + 1) % R;
    this.current = out;
    if (!this.reference && this.warm) this.reference = this.current;
    return true;
  }

  private pushSimd(grid: Uint8Array): boolean {
    const k = this.simd!;
    const mem = k.bytes((this.size + 1) * this.stride);
    // the new sample takes the oldest one's slot (the padding past `cells` stays zero)
    mem.set(grid.subarray(0, this.cells), this.next * this.stride);
    this.count = Math.min(this.count + 1, this.size);
    const outAt = this.size * this.stride;
    k.x.median(0, this.stride, this.count, outAt);
    this.next = (this.next + 1) % this.size;
    // a copy: the background handed out stays as it was (reference, camera-moved checks)
    this.current = mem.slice(outAt, outAt + this.cells);
    if (!this.reference && this.warm) this.reference = this.current;
    return true;
  }

  /**
   * Start the model again from this grid alone (the picture changed for good: a camera switched to
   * its night picture). The reference stays: it is the window's start, whatever came after.
   */
  reseed(grid: Uint8Array): void {
    this.ring.length = 0;
    this.next = 0;
    this.count = 0;
    // the next sample is taken `interval` frames from now, as after any sample
    this.seen = 0;
    this.push(grid);
  }

  get background(): Uint8Array {
    if (!this.current) throw new Error('background model has no frames yet');
    return this.current;
  }
}

/** Per-cell median of a set of grids (reference implementation; the model updates incrementally). */
export function medianOf(grids: readonly Uint8Array[], cells: number): Uint8Array {
  const out = new Uint8Array(cells);
  const n = grids.length;
  if (n === 1) {
    out.set(grids[0]!);
    return out;
  }
  const buf = new Uint8Array(n);
  const mid = n >> 1;
  for (let i = 0; i < cells; i++) {
    // insertion sort of ≤15 values beats anything fancier at this size
    for (let k = 0; k < n; k++) {
      const v = grids[k]![i]!;
      let j = k - 1;
      while (j >= 0 && buf[j]! > v) {
        buf[j + 1] = buf[j]!;
        j--;
      }
      buf[j + 1] = v;
    }
    out[i] = n % 2 ? buf[mid]! : (buf[mid - 1]! + buf[mid]!) >> 1;
  }
  return out;
}
