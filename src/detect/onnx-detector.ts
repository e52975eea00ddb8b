import { stat } from 'node:fs/promises';
import os from 'node:os';
import type { Detection, Detector, RgbFrame } from './types.js';
import { type Decoder, type Layout, type OutputTensor, ModelLayoutError, selectDecoder } from './decoders/index.js';
import { nms } from './nms.js';
import { type InputTransform, type PreprocessSpec, type ResizeMode, preprocessInto, toOriginal } from './preprocess.js';
import { type ProviderName, checkProvider, sessionOptions, splitThreads } from './providers.js';
import { type SessionRunner, createInlineRunner, createRunnerPool, createThreadRunner } from './session-worker.js';

export interface Normalization {
  /** value = (pixel * scale - mean) / std */
  scale: number;
  mean?: [number, number, number];
  std?: [number, number, number];
}

export interface OnnxDetectorOptions {
  /** path of the .onnx file */
  model: string;
  /** class names in the model's index order */
  classNames: readonly string[];
  /** output layout; `auto` (default) detects it from the output shapes */
  layout?: Layout | 'auto';
  /** input size when the model's input has symbolic H/W (a static input shape wins) */
  imgsz?: number;
  /** default: letterbox (what YOLO/SSD exports expect); the built-in teacher uses stretch */
  resize?: ResizeMode;
  /** default: 0..1 (scale 1/255) for yolo/ssd, ImageNet mean/std for detr, raw 0..255 for e2e */
  normalize?: Normalization;
  provider?: ProviderName;
  /** op threads in all (default: all cores), shared out over the sessions */
  threads?: number;
  /**
   * parallel sessions (frames inferred at once; needs workerThread). Default 1: one stream with
   * every thread, lowest latency. Throughput work (annotation) asks for `inferencePlan`'s count.
   */
  sessions?: number;
  /** frames per session.run when the model's batch dimension is dynamic (default 4) */
  batchSize?: number;
  /** drop candidates below this before NMS (default 0.05) */
  scoreFloor?: number;
  /** class-aware NMS IoU for layouts that need NMS (default 0.5) */
  nmsIou?: number;
  maxDetections?: number;
  /** run the session in a worker thread so the event loop stays free (default true) */
  workerThread?: boolean;
}

const IMAGENET_MEAN: [number, number, number] = [123.675, 116.28, 103.53];
const IMAGENET_STD: [number, number, number] = [58.395, 57.12, 57.375];

function defaultNormalization(layout: Layout | 'auto'): Required<Normalization> {
  if (layout === 'detr') return { scale: 1, mean: IMAGENET_MEAN, std: IMAGENET_STD };
  if (layout === 'e2e') return { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
  return { scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] };
}

/** A prepared model input: the batch tensor plus how each frame was mapped into it. */
export interface PreparedBatch {
  data: Float32Array;
  dims: number[];
  transforms: InputTransform[];
}

/** A Detector over any ONNX detection model (see docs/detectors.md). */
export class OnnxDetector implements Detector {
  readonly classNames: readonly string[];
  readonly inputName: string;
  readonly inputW: number;
  readonly inputH: number;
  readonly batchSize: number;
  readonly spec: PreprocessSpec;
  /** frames the detector can infer at once (its sessions): how many a caller should keep in flight */
  readonly parallelism: number;
  private decoder!: Decoder;
  private readonly declared: Layout | 'auto';
  /** input tensors handed back by finished runs, refilled by `prepare` (no 3 MB allocation a frame) */
  private readonly spare: Float32Array[] = [];

  private constructor(
    private readonly runner: SessionRunner,
    private readonly opts: OnnxDetectorOptions,
  ) {
    this.classNames = opts.classNames;
    this.parallelism = opts.workerThread === false ? 1 : Math.max(1, opts.sessions ?? 1);
    this.declared = opts.layout ?? 'auto';
    const input = runner.inputs[0];
    if (!input) throw new ModelLayoutError(`model ${opts.model} has no inputs`);
    this.inputName = input.name;
    const shape = input.shape;
    if (shape.length !== 4 || (typeof shape[1] === 'number' && shape[1] !== 3)) {
      throw new ModelLayoutError(`model ${opts.model} input ${input.name} [${shape.join(',')}] is not an NCHW RGB image input [B,3,H,W]`);
    }
    const dim = (v: number | string | undefined) => (typeof v === 'number' && v > 0 ? v : undefined);
    const imgsz = opts.imgsz ?? 640;
    this.inputH = dim(shape[2]) ?? imgsz;
    this.inputW = dim(shape[3]) ?? imgsz;
    this.batchSize = dim(shape[0]) ?? Math.max(1, opts.batchSize ?? 4);
    const norm = { ...defaultNormalization(this.declared), ...opts.normalize };
    this.spec = {
      width: this.inputW,
      height: this.inputH,
      resize: opts.resize ?? 'letterbox',
      scale: norm.scale,
      mean: norm.mean ?? [0, 0, 0],
      std: norm.std ?? [1, 1, 1],
      padValue: 114,
    };
  }

  /** Load the model, check its input and outputs (a test run on a blank frame picks the decoder). */
  static async create(opts: OnnxDetectorOptions): Promise<OnnxDetector> {
    try {
      await stat(opts.model);
    } catch {
      throw new Error(`detector model ${opts.model} does not exist`);
    }
    const provider = opts.provider ?? 'cpu';
    checkProvider(provider);
    const inline = opts.workerThread === false;
    // sessions on one thread could not run at once: parallel sessions need their own threads
    const sessions = inline ? 1 : Math.max(1, opts.sessions ?? 1);
    const threads = splitThreads(opts.threads ?? os.availableParallelism(), sessions);
    let runner: SessionRunner;
    try {
      if (inline) runner = await createInlineRunner(opts.model, sessionOptions(provider, threads[0]));
      else {
        const made = await Promise.allSettled(threads.map((t) => createThreadRunner(opts.model, sessionOptions(provider, t))));
        const ok = made.flatMap((m) => (m.status === 'fulfilled' ? [m.value] : []));
        const bad = made.find((m): m is PromiseRejectedResult => m.status === 'rejected');
        if (bad) {
          await Promise.all(ok.map((r) => r.close()));
          throw bad.reason;
        }
        runner = createRunnerPool(ok);
      }
    } catch (err) {
      const msg = (err as Error).message;
      if (provider !== 'cpu') throw new Error(`could not start execution provider "${provider}" for ${opts.model}: ${msg}. Set teacher.provider to "cpu" or fix the CUDA/TensorRT install.`);
      throw new ModelLayoutError(`could not load ONNX model ${opts.model}: ${msg}`);
    }
    try {
      const det = new OnnxDetector(runner, opts);
      const blank: RgbFrame = { width: det.inputW, height: det.inputH, data: new Uint8Array(det.inputW * det.inputH * 3) };
      const prepared = det.prepare([blank]);
      const outputs = await det.runPrepared(prepared);
      try {
        det.decoder = selectDecoder(outputs, det.declared, opts.classNames.length || undefined);
      } catch (err) {
        if (!(err instanceof ModelLayoutError)) throw err;
        const shapes = outputs.map((o) => `[${o.dims.join(',')}]`).join(' + ');
        throw new ModelLayoutError(`model ${opts.model} output has shape ${shapes}: ${err.message}`);
      }
      return det;
    } catch (err) {
      await runner.close();
      throw err;
    }
  }

  get layout(): Layout {
    return this.decoder.layout;
  }
  get describe(): string {
    return this.decoder.describe;
  }

  /** Preprocess frames into one batch tensor (exposed for the bench's bare-model reference). */
  prepare(frames: readonly RgbFrame[]): PreparedBatch {
    const plane = 3 * this.inputW * this.inputH;
    const need = plane * frames.length;
    // preprocessInto writes every element (padding included), so a recycled array needs no clearing
    const idx = this.spare.findIndex((a) => a.length === need);
    const data = idx >= 0 ? this.spare.splice(idx, 1)[0]! : new Float32Array(need);
    const transforms = frames.map((f, i) => preprocessInto(f, this.spec, data, i * plane));
    return { data, dims: [frames.length, 3, this.inputH, this.inputW], transforms };
  }

  /** session.run on a prepared batch. The batch is consumed: its array is recycled by a later `prepare`. */
  async runPrepared(batch: PreparedBatch): Promise<OutputTensor[]> {
    const { outputs, inputs } = await this.runner.run({ [this.inputName]: { type: 'float32', data: batch.data, dims: batch.dims } });
    // in the annotate loop: one running per session, one being prepared
    for (const a of inputs) if (this.spare.length < this.parallelism + 1 && !this.spare.includes(a)) this.spare.push(a);
    return outputs;
  }

  /**
   * Wall time (ms) of one session.run on `batch`, nothing decoded: latency measurement. Create the
   * detector with `workerThread: false` to time the bare session without the thread hop. The batch
   * stays reusable (a worker gets a copy, made before the clock starts).
   */
  async timeRun(batch: PreparedBatch): Promise<number> {
    const data = this.opts.workerThread === false ? batch.data : batch.data.slice();
    const t0 = process.hrtime.bigint();
    // straight to the runner: the caller's batch must not end up recycled by `prepare`
    await this.runner.run({ [this.inputName]: { type: 'float32', data, dims: batch.dims } });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }

  /** Decode a batch's outputs into original-frame detections. */
  decodeBatch(outputs: readonly OutputTensor[], transforms: readonly InputTransform[]): Detection[][] {
    const ctx = {
      inputW: this.inputW,
      inputH: this.inputH,
      numClasses: this.classNames.length || undefined,
      scoreFloor: this.opts.scoreFloor ?? 0.05,
    };
    return transforms.map((t, b) => {
      const raw = this.decoder.decode(outputs, b, ctx);
      const mapped: Detection[] = [];
      for (const d of raw) {
        const box = toOriginal(d.box, t);
        // boxes entirely in the letterbox padding collapse to zero area after clipping
        if (box[2] - box[0] < 1 || box[3] - box[1] < 1) continue;
        mapped.push({ cls: d.cls, score: d.score, box });
      }
      const max = this.opts.maxDetections ?? 300;
      return this.decoder.needsNms ? nms(mapped, this.opts.nmsIou ?? 0.5, max) : mapped.sort((a, b) => b.score - a.score).slice(0, max);
    });
  }

  async detect(frames: readonly RgbFrame[]): Promise<Detection[][]> {
    const out: Detection[][] = [];
    for (let i = 0; i < frames.length; i += this.batchSize) {
      const batch = this.prepare(frames.slice(i, i + this.batchSize));
      const outputs = await this.runPrepared(batch);
      out.push(...this.decodeBatch(outputs, batch.transforms));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.runner.close();
  }
}

/** Convenience: build a Detector for an ONNX file path (see OnnxDetectorOptions for defaults). */
export function createOnnxDetector(opts: OnnxDetectorOptions): Promise<OnnxDetector> {
  return OnnxDetector.create(opts);
}
