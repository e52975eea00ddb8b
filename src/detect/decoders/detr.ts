import type { Detection } from '../types.js';
import { type Decoder, type OutputTensor, num } from './common.js';

/**
 * DETR-style: logits [B, Q, nc+1] (last column = "no object") and boxes [B, Q, 4] as normalized
 * cx,cy,w,h. Score = softmax probability of the best real class. One query = one object, so no NMS.
 */
export function detrDecoder(logitsName: string, boxesName: string): Decoder {
  return {
    layout: 'detr',
    describe: `detr logits=${logitsName} boxes=${boxesName}`,
    needsNms: false,
    decode(outputs: readonly OutputTensor[], b, ctx): Detection[] {
      const logits = outputs.find((o) => o.name === logitsName)!;
      const boxes = outputs.find((o) => o.name === boxesName)!;
      const Q = logits.dims[1]!;
      const C = logits.dims[2]!;
      const lBase = b * Q * C;
      const bBase = b * Q * 4;
      const dets: Detection[] = [];
      for (let q = 0; q < Q; q++) {
        const o = lBase + q * C;
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, num(logits.data, o + c));
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(num(logits.data, o + c) - max);
        let best = -1;
        let bestP = -1;
        for (let c = 0; c < C - 1; c++) {
          const p = Math.exp(num(logits.data, o + c) - max) / sum;
          if (p > bestP) {
            bestP = p;
            best = c;
          }
        }
        if (!(bestP >= ctx.scoreFloor)) continue;
        const bo = bBase + q * 4;
        const cx = num(boxes.data, bo) * ctx.inputW;
        const cy = num(boxes.data, bo + 1) * ctx.inputH;
        const w = num(boxes.data, bo + 2) * ctx.inputW;
        const h = num(boxes.data, bo + 3) * ctx.inputH;
        dets.push({ cls: best, score: bestP, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] });
      }
      return dets;
    },
  };
}
