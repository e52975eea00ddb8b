import type { Detection } from '../types.js';
import { type Decoder, type OutputTensor, looksNormalized, num } from './common.js';

/**
 * SSD-style: boxes [B, N, 4] as x1,y1,x2,y2 (normalized 0..1 or input pixels) and per-class
 * probabilities [B, N, C]. When C is one more than the known class count, column 0 is the
 * background class (the torchvision / TF convention) and is skipped.
 */
export function ssdDecoder(boxesName: string, scoresName: string): Decoder {
  return {
    layout: 'ssd',
    describe: `ssd boxes=${boxesName} scores=${scoresName}`,
    needsNms: true,
    decode(outputs: readonly OutputTensor[], b, ctx): Detection[] {
      const boxes = outputs.find((o) => o.name === boxesName)!;
      const scores = outputs.find((o) => o.name === scoresName)!;
      const N = boxes.dims[1]!;
      const C = scores.dims[2]!;
      const bg = ctx.numClasses !== undefined && C === ctx.numClasses + 1 ? 1 : 0;
      const bBase = b * N * 4;
      const sBase = b * N * C;
      const norm = looksNormalized(boxes.data, bBase, Math.min(N, 256), 4, 4);
      const kx = norm ? ctx.inputW : 1;
      const ky = norm ? ctx.inputH : 1;
      const dets: Detection[] = [];
      for (let i = 0; i < N; i++) {
        let best = -1;
        let bestScore = -Infinity;
        for (let c = bg; c < C; c++) {
          const s = num(scores.data, sBase + i * C + c);
          if (s > bestScore) {
            bestScore = s;
            best = c - bg;
          }
        }
        if (!(bestScore >= ctx.scoreFloor)) continue;
        const o = bBase + i * 4;
        dets.push({
          cls: best,
          score: bestScore,
          box: [num(boxes.data, o) * kx, num(boxes.data, o + 1) * ky, num(boxes.data, o + 2) * kx, num(boxes.data, o + 3) * ky],
        });
      }
      return dets;
    },
  };
}
