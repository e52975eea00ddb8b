import type { Detection } from '../types.js';
import { type Decoder, type OutputTensor, looksNormalized, num } from './common.js';

/**
 * YOLO raw heads, boxes cx,cy,w,h:
 * - v8/v11: [B, 4+nc, N] (channels first, class scores already sigmoid, no objectness);
 *   `transposed` for the [B, N, 4+nc] variant some exporters write;
 * - v5/v7: [B, N, 5+nc] (objectness then class scores; score = obj * cls).
 */
export function yoloDecoder(variant: 'v8' | 'v8t' | 'v5', name: string, dims: readonly number[]): Decoder {
  return {
    layout: 'yolo',
    describe: `yolo${variant === 'v5' ? 'v5' : 'v8'} ${name} [${dims.join(',')}]`,
    needsNms: true,
    decode(outputs: readonly OutputTensor[], b, ctx): Detection[] {
      const out = outputs.find((o) => o.name === name) ?? outputs[0]!;
      const d = out.data;
      const dets: Detection[] = [];
      let N: number;
      let nc: number;
      // element (anchor i, channel c) lives at base + i*si + c*sc
      let si: number;
      let sc: number;
      if (variant === 'v8') {
        nc = out.dims[1]! - 4;
        N = out.dims[2]!;
        si = 1;
        sc = N;
      } else {
        N = out.dims[1]!;
        nc = out.dims[2]! - (variant === 'v5' ? 5 : 4);
        si = out.dims[2]!;
        sc = 1;
      }
      const base = b * N * (nc + (variant === 'v5' ? 5 : 4));
      const clsOff = variant === 'v5' ? 5 : 4;
      const norm = looksNormalized(d, base, Math.min(N, 64), si, 1) && looksNormalized(d, base + 2 * sc, Math.min(N, 64), si, 1);
      const kx = norm ? ctx.inputW : 1;
      const ky = norm ? ctx.inputH : 1;
      for (let i = 0; i < N; i++) {
        const o = base + i * si;
        const obj = variant === 'v5' ? num(d, o + 4 * sc) : 1;
        if (obj < ctx.scoreFloor) continue;
        let best = -1;
        let bestScore = -Infinity;
        for (let c = 0; c < nc; c++) {
          const s = num(d, o + (clsOff + c) * sc);
          if (s > bestScore) {
            bestScore = s;
            best = c;
          }
        }
        const score = obj * bestScore;
        if (!(score >= ctx.scoreFloor)) continue;
        const cx = num(d, o) * kx;
        const cy = num(d, o + sc) * ky;
        const w = num(d, o + 2 * sc) * kx;
        const h = num(d, o + 3 * sc) * ky;
        dets.push({ cls: best, score, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] });
      }
      return dets;
    },
  };
}
