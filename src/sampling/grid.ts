import type { LumaGrid } from '../video/decode.js';
import { LUMA_FULL, lumaToFullRange } from './grid-simd.js';
/**
 * Downscaled grey view of a frame, read straight from the decoder's pipe chunks by point
 * sampling one pixel per cell: scoring touches ~12k pixels instead of 440k and never copies
 * the frame, which keeps the sampler close to bare-decode speed.
 */
export interface GreyGrid {
  width: number;
  height: number;
  /** frame pixels per cell (the same in x and y) */
  step: number;
  data: Uint8Array;
}


export class GridSampler {
  readonly gw: number;
  readonly gh: number;
  readonly step: number;
  private readonly offsets: Int32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    targetWidth = 96,
    /**
     * 3: frames are rgb24, grey is (R+2G+B)/4. 1: frames are yuv420p (or any planar format whose
     * first plane is limited-range luma): grey is the Y plane, stretched to full range.
     */
    readonly channels: 1 | 3 = 3,
  ) {
    this.step = Math.max(1, Math.round(width / targetWidth));
    this.gw = Math.max(1, Math.floor(width / this.step));
    this.gh = Math.max(1, Math.floor(height / this.step));
    this.offsets = new Int32Array(this.gw * this.gh);
    const half = this.step >> 1;
    for (let y = 0; y < this.gh; y++) {
      for (let x = 0; x < this.gw; x++) {
        this.offsets[y * this.gw + x] = ((y * this.step + half) * width + x * this.step + half) * channels;
      }
    }
  }

  /** Grey at each cell centre, from a frame given as consecutive byte parts. */
  sample(parts: readonly Uint8Array[]): GreyGrid {
    if (this.channels === 1) return this.sampleLuma(parts);
    const out = new Uint8Array(this.offsets.length);
    const offs = this.offsets;
    let pi = 0;
    let part = parts[0]!;
    let start = 0;
    let end = part.length;
    const byteAt = (o: number): number => {
      // slow path for the rare pixel that straddles two pipe chunks
      let s = 0;
      for (const p of parts) {
        if (o < s + p.length) return p[o - s]!;
        s += p.length;
      }
      return 0;
    };
    for (let i = 0; i < offs.length; i++) {
      const o = offs[i]!;
      while (o >= end && pi < parts.length - 1) {
        pi++;
        start = end;
        part = parts[pi]!;
        end = start + part.length;
      }
      const r = o - start;
      if (o + 2 < end) out[i] = (part[r]! + 2 * part[r + 1]! + part[r + 2]!) >> 2;
      else out[i] = (byteAt(o) + 2 * byteAt(o + 1) + byteAt(o + 2)) >> 2;
    }
    return { width: this.gw, height: this.gh, step: this.step, data: out };
  }

  private sampleLuma(parts: readonly Uint8Array[]): GreyGrid {
    const out = new Uint8Array(this.offsets.length);
    const offs = this.offsets;
    let pi = 0;
    let part = parts[0]!;
    let start = 0;
    let end = part.length;
    for (let i = 0; i < offs.length; i++) {
      const o = offs[i]!;
      while (o >= end && pi < parts.length - 1) {
        pi++;
        start = end;
        part = parts[pi]!;
        end = start + part.length;
      }
      out[i] = LUMA_FULL[part[o - start] ?? 0]!;
    }
    return { width: this.gw, height: this.gh, step: this.step, data: out };
  }
}

/** A grid ffmpeg sent (grid mode of decodeFrames: the same cells GridSampler reads) as full-range grey, in place. */
export function lumaToGrey(g: LumaGrid): GreyGrid {
  const data = g.luma;
  lumaToFullRange(data);
  return { width: g.width, height: g.height, step: g.step, data };
}

/** Mean absolute difference of two grids, 0..255. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return a.length ? sum / a.length : 0;
}
