import type { Detection } from '../types.js';
import { type Decoder, type OutputTensor, ModelLayoutError, num, shapeText } from './common.js';

/**
 * End-to-end layout: [B, K, 6] = x1, y1, x2, y2, score, class in input pixels (NMS done by the
 * model). The built-in teacher and student use it.
 */
export function e2eDecoder(): Decoder {
  return {
    layout: 'e2e',
    describe: 'e2e [B,K,6]',
    needsNms: false,
    decode(outputs: readonly OutputTensor[], b, ctx): Detection[] {
      const out = outputs.find((o) => o.dims.length === 3 && o.dims[2] === 6);
      if (!out) throw new ModelLayoutError(`e2e layout expects one output [B,K,6]; the model gives ${shapeText(outputs)}`);
      const K = out.dims[1]!;
      const base = b * K * 6;
      const dets: Detection[] = [];
      for (let k = 0; k < K; k++) {
        const o = base + k * 6;
        const score = num(out.data, o + 4);
        if (!(score >= ctx.scoreFloor)) continue;
        const cls = Math.round(num(out.data, o + 5));
        if (cls < 0 || (ctx.numClasses !== undefined && cls >= ctx.numClasses)) continue;
        dets.push({ cls, score, box: [num(out.data, o), num(out.data, o + 1), num(out.data, o + 2), num(out.data, o + 3)] });
      }
      return dets;
    },
  };
}
