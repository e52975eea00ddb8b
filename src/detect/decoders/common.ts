import type { Detection } from '../types.js';

export type NumericArray = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array | Int16Array | BigInt64Array;

/** One model output as the decoders see it (the whole batch). */
export interface OutputTensor {
  name: string;
  dims: readonly number[];
  data: NumericArray;
}

export interface DecodeContext {
  /** model input size in pixels (boxes come back in these pixels) */
  inputW: number;
  inputH: number;
  /** number of classes the caller knows (class names), if any */
  numClasses?: number;
  /** candidates below this score are dropped before NMS (keeps NMS cheap) */
  scoreFloor: number;
}

export type Layout = 'e2e' | 'yolo' | 'ssd' | 'detr';

/** A decoder picked for a model's outputs (by declaration or by shape). */
export interface Decoder {
  layout: Layout;
  /** human description, e.g. "yolov8 [1,84,8400]" */
  describe: string;
  /** whether the model's boxes still need NMS (DETR and e2e do not, NMS is still harmless) */
  needsNms: boolean;
  decode(outputs: readonly OutputTensor[], batch: number, ctx: DecodeContext): Detection[];
}

/** The model's outputs fit no decoder: a wrong model or a wrong `layout` in the config. */
export class ModelLayoutError extends Error {
  override name = 'ModelLayoutError';
}

export function num(data: NumericArray, i: number): number {
  return Number(data[i]!);
}

export function shapeText(outputs: readonly { name: string; dims: readonly (number | string)[] }[]): string {
  return outputs.map((o) => `${o.name} [${o.dims.join(',')}]`).join(', ');
}

/**
 * Some exports give boxes normalized to 0..1, others in input pixels; normalized boxes never
 * exceed ~1, pixel boxes of any real input do.
 */
export function looksNormalized(data: NumericArray, start: number, count: number, stride: number, width: number): boolean {
  let max = 0;
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < width; k++) {
      const v = Math.abs(num(data, start + i * stride + k));
      if (v > max) max = v;
    }
  }
  return max <= 1.5;
}
