/**
 * Minimal runner for the built-in student's end-to-end ONNX layout: input `images` [1,3,S,S]
 * float32 RGB 0..255 (stretch-resized), output `detections` [1,N,6] = x1,y1,x2,y2 (input pixels),
 * score, class. Used by validation, deploy health checks and the edge runtime until src/detect/
 * offers the same (the integrator may swap it for that Detector).
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { Detection, RgbFrame } from '../detect/types.js';

export interface ModelSidecar {
  classes?: string[];
  imgsz?: number;
  layout?: string;
}

export class ModelShapeError extends Error {
  override name = 'ModelShapeError';
}

/** `<model>.json` beside `<model>.onnx`, if present. */
export async function readSidecar(modelPath: string): Promise<ModelSidecar> {
  const file = modelPath.replace(/\.onnx$/i, '') + '.json';
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ModelSidecar;
  } catch {
    return {};
  }
}

export interface E2eModel {
  session: ort.InferenceSession;
  imgsz: number;
  inputName: string;
  outputName: string;
  classes?: string[];
  path: string;
}

export async function loadE2eModel(modelPath: string, opts: { threads?: number } = {}): Promise<E2eModel> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const sidecar = await readSidecar(modelPath);
  const inputName = session.inputNames.includes('images') ? 'images' : session.inputNames[0]!;
  const outputName = session.outputNames.includes('detections') ? 'detections' : session.outputNames[0]!;
  const meta = session.inputMetadata.find((m) => m.name === inputName);
  const dim = meta && meta.isTensor ? meta.shape[3] : undefined;
  const imgsz = typeof dim === 'number' && dim > 0 ? dim : (sidecar.imgsz ?? 320);
  return { session, imgsz, inputName, outputName, path: modelPath, ...(sidecar.classes ? { classes: sidecar.classes } : {}) };
}

/** Stretch-resize to S×S and lay out as CHW float32 0..255. */
export async function preprocess(frame: RgbFrame, imgsz: number): Promise<Float32Array> {
  const resized =
    frame.width === imgsz && frame.height === imgsz
      ? frame.data
      : await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
          .resize(imgsz, imgsz, { fit: 'fill' })
          .raw()
          .toBuffer();
  const plane = imgsz * imgsz;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = resized[i * 3]!;
    out[plane + i] = resized[i * 3 + 1]!;
    out[2 * plane + i] = resized[i * 3 + 2]!;
  }
  return out;
}

/** Run the model on raw CHW input and check the output layout; returns the raw [N,6] rows. */
export async function runRaw(model: E2eModel, input: Float32Array): Promise<{ data: Float32Array; rows: number }> {
  const tensor = new ort.Tensor('float32', input, [1, 3, model.imgsz, model.imgsz]);
  const out = await model.session.run({ [model.inputName]: tensor });
  const det = out[model.outputName];
  if (!det) throw new ModelShapeError(`model ${model.path} has no output ${model.outputName}`);
  const dims = det.dims;
  if (dims.length !== 3 || dims[0] !== 1 || dims[2] !== 6 || det.type !== 'float32') {
    throw new ModelShapeError(`model ${model.path} output ${model.outputName} has shape [${dims.join(',')}] ${det.type}; expected [1,N,6] float32 (x1,y1,x2,y2,score,class)`);
  }
  return { data: det.data as Float32Array, rows: dims[1]! };
}

/** Detections in original-frame pixels, above `minScore`. */
export async function detectE2e(model: E2eModel, frame: RgbFrame, minScore = 0.001): Promise<Detection[]> {
  const { data, rows } = await runRaw(model, await preprocess(frame, model.imgsz));
  const sx = frame.width / model.imgsz;
  const sy = frame.height / model.imgsz;
  const dets: Detection[] = [];
  for (let i = 0; i < rows; i++) {
    const o = i * 6;
    const score = data[o + 4]!;
    if (!(score > minScore)) continue;
    dets.push({ cls: Math.round(data[o + 5]!), score, box: [data[o]! * sx, data[o + 1]! * sy, data[o + 2]! * sx, data[o + 3]! * sy] });
  }
  return dets;
}

/** Decode a JPEG (or any image sharp reads) into an RgbFrame. */
export async function readRgb(file: string): Promise<RgbFrame> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Map the model's class indices onto `targetClasses` by name (a COCO-pretrained student predicts
 * 80 classes, the dataset only a few); without sidecar class names the indices are taken as is.
 */
export function classMapper(modelClasses: readonly string[] | undefined, targetClasses: readonly string[]): (cls: number) => number {
  if (!modelClasses) return (c) => (c >= 0 && c < targetClasses.length ? c : -1);
  const map = modelClasses.map((n) => targetClasses.indexOf(n));
  return (c) => map[c] ?? -1;
}

/** One-frame health check: loads the model and runs a zero frame; throws on any problem. */
export async function healthCheck(modelPath: string, opts: { threads?: number } = {}): Promise<{ imgsz: number; rows: number }> {
  const model = await loadE2eModel(modelPath, opts);
  try {
    const { rows } = await runRaw(model, new Float32Array(3 * model.imgsz * model.imgsz));
    return { imgsz: model.imgsz, rows };
  } finally {
    await model.session.release();
  }
}
