import { type Decoder, type Layout, type OutputTensor, ModelLayoutError, num, shapeText } from './common.js';
import { detrDecoder } from './detr.js';
import { e2eDecoder } from './e2e.js';
import { ssdDecoder } from './ssd.js';
import { yoloDecoder } from './yolo.js';

export { type Decoder, type Layout, type OutputTensor, type DecodeContext, ModelLayoutError } from './common.js';

/** e2e outputs keep at most a few hundred boxes; raw YOLO heads have thousands of anchors. */
const E2E_MAX_K = 1000;

function rank3(outputs: readonly OutputTensor[]): OutputTensor[] {
  return outputs.filter((o) => o.dims.length === 3);
}

/**
 * Pick the decoder for a model's (actual) outputs. `declared` is the config's `layout`
 * (`auto` = guess from shapes). Throws ModelLayoutError naming the shapes when nothing fits.
 */
export function selectDecoder(outputs: readonly OutputTensor[], declared: Layout | 'auto', numClasses?: number): Decoder {
  const fail = (why: string): never => {
    throw new ModelLayoutError(
      `model outputs ${shapeText(outputs)} fit no ${declared === 'auto' ? 'known' : `"${declared}"`} detector layout: ${why}. ` +
        'Supported: e2e [B,K,6]; yolo [B,4+nc,N] or [B,N,5+nc]; ssd boxes [B,N,4] + scores [B,N,C]; detr logits [B,Q,nc+1] + boxes [B,Q,4]. ' +
        'Set teacher.layout (and teacher.classNames) to match the model.',
    );
  };
  const r3 = rank3(outputs);
  const single = outputs.length === 1 ? r3[0] : undefined;

  const tryE2e = (): Decoder | undefined => (single && single.dims[2] === 6 && single.dims[1]! <= E2E_MAX_K ? e2eDecoder() : undefined);
  const tryYolo = (): Decoder | undefined => {
    // The first rank-3 output is the detection head (some exports add mask/proto outputs after it).
    const o = outputs.length === 1 ? single : r3[0];
    if (!o) return undefined;
    const [, a, b] = o.dims as [number, number, number];
    if (numClasses !== undefined) {
      if (a === 4 + numClasses && b !== 4 + numClasses) return yoloDecoder('v8', o.name, o.dims);
      if (b === 5 + numClasses) return yoloDecoder('v5', o.name, o.dims);
      if (b === 4 + numClasses) return yoloDecoder('v8t', o.name, o.dims);
      return undefined;
    }
    if (a > 4 && a < b) return yoloDecoder('v8', o.name, o.dims);
    if (b > 5 && a > b) return yoloDecoder('v5', o.name, o.dims);
    return undefined;
  };
  const pairs = (): { boxes: OutputTensor; scores: OutputTensor } | undefined => {
    if (r3.length !== 2) return undefined;
    const boxes = r3.find((o) => o.dims[2] === 4);
    const scores = r3.find((o) => o !== boxes);
    if (!boxes || !scores || boxes.dims[1] !== scores.dims[1] || boxes.dims[0] !== scores.dims[0]) return undefined;
    return { boxes, scores };
  };
  const isLogits = (o: OutputTensor): boolean => {
    if (/logit/i.test(o.name)) return true;
    if (/score|prob|conf/i.test(o.name)) return false;
    // Probabilities stay in [0,1]; logits almost never do.
    const n = Math.min(o.data.length, 4096);
    for (let i = 0; i < n; i++) {
      const v = num(o.data, i);
      if (v < 0 || v > 1) return true;
    }
    return false;
  };
  const tryPair = (want: 'ssd' | 'detr' | 'any'): Decoder | undefined => {
    const p = pairs();
    if (!p) return undefined;
    const detr = isLogits(p.scores);
    if (want === 'detr' || (want === 'any' && detr)) return detrDecoder(p.scores.name, p.boxes.name);
    return ssdDecoder(p.boxes.name, p.scores.name);
  };

  switch (declared) {
    case 'e2e':
      return (single && single.dims[2] === 6 ? e2eDecoder() : undefined) ?? fail('e2e needs exactly one output [B,K,6]');
    case 'yolo':
      return tryYolo() ?? fail(`no output looks like [B,4+nc,N] or [B,N,5+nc]${numClasses !== undefined ? ` with nc=${numClasses}` : ''}`);
    case 'ssd':
      return tryPair('ssd') ?? fail('ssd needs two outputs [B,N,4] and [B,N,C]');
    case 'detr':
      return tryPair('detr') ?? fail('detr needs two outputs [B,Q,nc+1] and [B,Q,4]');
    case 'auto':
      return tryE2e() ?? tryPair('any') ?? tryYolo() ?? fail('no decoder matches these shapes');
  }
}
