import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeJsonAtomic } from '../artifacts/store.js';
import { loadFrame } from '../detect/load-frame.js';
import { weightedBoxFusion } from '../detect/nms.js';
import type { OutputTensor } from '../detect/decoders/index.js';
import type { PreparedBatch } from '../detect/onnx-detector.js';
import type { Detection, Detector, RgbFrame } from '../detect/types.js';
import { DEFAULT_CROPS, type CropOptions, detectCrops, planCrops } from './crops.js';
import { applyThresholds, classMap, mapClasses, thresholds } from './labels.js';
import { type SampledFrame, frameImagePath } from './manifest.js';
import { DEFAULT_STATIC, DEFAULT_TEMPORAL, type StaticOptions, type TemporalOptions, findStatic, temporalConsistency } from './temporal.js';
import { detectFlipped, detectScaled } from './tta.js';

export interface AnnotatePolicy {
  /** camera.classes */
  classes: readonly string[];
  minScore: number;
  classScores: Readonly<Record<string, number>>;
  crops: boolean;
  tta: boolean;
  /** extra scales for test-time augmentation (>1: zoomed tiles, <1: padded frame); none by default */
  ttaScales?: readonly number[];
  keepStatic: boolean;
}

export interface AnnotateFramesOptions {
  detector: Detector;
  /** directory with images/<name>.jpg */
  framesDir: string;
  frames: readonly SampledFrame[];
  policy: AnnotatePolicy;
  /** per-frame results are kept here and reused by a retried run (resume); omit to keep nothing */
  scratchDir?: string;
  /** called after each frame (done counts reused frames too) */
  onProgress?: (p: { done: number; total: number; lastIndex: number; reused: number }) => void | Promise<void>;
  signal?: AbortSignal;
  cropOptions?: CropOptions;
  temporal?: TemporalOptions;
  static?: StaticOptions;
  /** merge IoU for full frame + crops + flipped passes (weighted box fusion) */
  fuseIou?: number;
}

export interface LabelledFrame {
  frame: SampledFrame;
  width: number;
  height: number;
  /** final labels, cls = index into policy.classes, boxes in frame pixels */
  labels: Detection[];
}

export interface AnnotateTimings {
  /** seconds in each part of the inner loop, summed over frames (frames run in parallel lanes, so
   * these can add up to more than totalSec; compare wall times for what a step costs) */
  loadSec: number;
  fullSec: number;
  cropsSec: number;
  ttaSec: number;
  totalSec: number;
}

export interface AnnotateFramesResult {
  frames: LabelledFrame[];
  labels: number;
  perClass: Record<string, number>;
  suppressedStatic: number;
  droppedByTemporal: number;
  /** frames whose teacher output came from the scratch dir (not re-run) */
  reused: number;
  /** frames the teacher ran on in this call */
  inferred: number;
  timings: AnnotateTimings;
}

/** What the teacher said about one frame, before window-level filtering (kept in scratch). */
interface FrameRecord {
  v: 1;
  name: string;
  width: number;
  height: number;
  /** camera-class detections above half the lowest threshold (temporal gain may lift them) */
  dets: Detection[];
}

/** Scratch key: the same frames under a different teacher setup must not reuse results. */
export function scratchKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** A detector whose stages can be driven separately (OnnxDetector), so the loop can overlap them. */
interface PipelinedDetector extends Detector {
  prepare(frames: readonly RgbFrame[]): PreparedBatch;
  runPrepared(batch: PreparedBatch): Promise<OutputTensor[]>;
  decodeBatch(outputs: readonly OutputTensor[], transforms: PreparedBatch['transforms']): Detection[][];
  /** frames it infers at once */
  readonly parallelism?: number;
}

function isPipelined(d: Detector): d is PipelinedDetector {
  const p = d as Partial<PipelinedDetector>;
  return typeof p.prepare === 'function' && typeof p.runPrepared === 'function' && typeof p.decodeBatch === 'function';
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error('annotation cancelled');
}

/**
 * The annotate inner loop (used by the activity and by `bench annotate`): teacher on every frame
 * (+ motion crops, + flipped pass), then window-level temporal consistency, static suppression
 * and thresholds. Frames already in `scratchDir` are not run again.
 */
export async function annotateFrames(o: AnnotateFramesOptions): Promise<AnnotateFramesResult> {
  const t0 = performance.now();
  const timings: AnnotateTimings = { loadSec: 0, fullSec: 0, cropsSec: 0, ttaSec: 0, totalSec: 0 };
  const map = classMap(o.detector.classNames, o.policy);
  const th = thresholds(o.policy);
  const floor = Math.min(...th) / 2;
  const fuseIou = o.fuseIou ?? 0.55;
  const records: FrameRecord[] = new Array<FrameRecord>(o.frames.length);
  let reused = 0;
  let inferred = 0;

  const recordPath = (name: string) => path.join(o.scratchDir!, `${name}.json`);
  const todo: number[] = [];
  for (let i = 0; i < o.frames.length; i++) {
    const f = o.frames[i]!;
    if (o.scratchDir && existsSync(recordPath(f.name))) {
      try {
        records[i] = JSON.parse(await readFile(recordPath(f.name), 'utf8')) as FrameRecord;
        reused++;
        continue;
      } catch {
        // a torn/corrupt record (writes are atomic, so unlikely): label the frame again
      }
    }
    todo.push(i);
  }
  let done = reused;
  if (reused) await o.onProgress?.({ done, total: o.frames.length, lastIndex: -1, reused });

  const load = async (i: number, into?: Uint8Array): Promise<RgbFrame> => {
    const s = performance.now();
    const fr = await loadFrame(frameImagePath(o.framesDir, o.frames[i]!.name), into);
    timings.loadSec += (performance.now() - s) / 1000;
    return fr;
  };
  const pipelined = isPipelined(o.detector) ? o.detector : undefined;
  /** `lane`: the lane's pixel buffer, reused frame after frame (the frame is done with when this returns) */
  const labelFrame = async (i: number, lane: { pixels?: Uint8Array }): Promise<void> => {
    const f = o.frames[i]!;
    const frame = await load(i, lane.pixels);
    lane.pixels = frame.data;
    let s = performance.now();
    let dets: Detection[];
    if (pipelined) {
      const prepared = pipelined.prepare([frame]);
      dets = pipelined.decodeBatch(await pipelined.runPrepared(prepared), prepared.transforms)[0] ?? [];
    } else {
      dets = (await o.detector.detect([frame]))[0] ?? [];
    }
    timings.fullSec += (performance.now() - s) / 1000;
    const passes: Detection[][] = [dets];
    if (o.policy.crops && f.motion.length) {
      s = performance.now();
      passes.push(await detectCrops(o.detector, frame, planCrops(f.motion, frame.width, frame.height, o.cropOptions ?? DEFAULT_CROPS)));
      timings.cropsSec += (performance.now() - s) / 1000;
    }
    if (o.policy.tta) {
      s = performance.now();
      passes.push(await detectFlipped(o.detector, frame));
      timings.ttaSec += (performance.now() - s) / 1000;
    }
    for (const scale of o.policy.ttaScales ?? []) {
      s = performance.now();
      passes.push(await detectScaled(o.detector, frame, scale));
      timings.ttaSec += (performance.now() - s) / 1000;
    }
    dets = mapClasses(passes.length > 1 ? weightedBoxFusion(passes.flat(), fuseIou) : dets, map).filter((d) => d.score >= floor);
    const rec: FrameRecord = { v: 1, name: f.name, width: frame.width, height: frame.height, dets };
    records[i] = rec;
    if (o.scratchDir) await writeJsonAtomic(recordPath(f.name), rec);
    inferred++;
    done++;
    await o.onProgress?.({ done, total: o.frames.length, lastIndex: f.index, reused });
  };
  // Lanes: each labels one frame at a time, start to finish. One lane per inference session plus
  // one, so while every session runs a frame, the next frame is already being decoded and
  // preprocessed on this thread (JPEG decoding and resizing then cost no wall time). Frames finish
  // out of order; each result is kept by index (and in scratch), so order and resume do not depend on it.
  const lanes = Math.min(todo.length, (pipelined?.parallelism ?? 1) + 1);
  let taken = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    const state: { pixels?: Uint8Array } = {};
    while (!failure && taken < todo.length) {
      if (o.signal?.aborted) throw abortError(o.signal);
      await labelFrame(todo[taken++]!, state);
    }
  };
  await Promise.all(
    Array.from({ length: lanes }, () =>
      lane().catch((err: unknown) => {
        failure ??= { err }; // the other lanes stop taking frames; the first error wins
      }),
    ),
  );
  if (failure) throw failure.err;

  // Window-level filtering over all frames (cheap; redone on resume from the scratch records).
  const timed = records.map((r, i) => ({ t: o.frames[i]!.t, dets: r.dets }));
  let suppressedStatic = 0;
  if (!o.policy.keepStatic) {
    const isStatic = findStatic(timed, o.static ?? DEFAULT_STATIC);
    timed.forEach((tf, i) => {
      const keep = tf.dets.filter((_, j) => !isStatic[i]![j]);
      // count only those that would have become labels
      suppressedStatic += applyThresholds(tf.dets.filter((_, j) => isStatic[i]![j]), th).length;
      tf.dets = keep;
    });
  }
  const before = timed.reduce((n, tf) => n + applyThresholds(tf.dets, th).length, 0);
  const adjusted = temporalConsistency(timed, o.temporal ?? DEFAULT_TEMPORAL);
  const perClass: Record<string, number> = Object.fromEntries(o.policy.classes.map((c) => [c, 0]));
  let labels = 0;
  const frames: LabelledFrame[] = records.map((r, i) => {
    const kept = applyThresholds(adjusted[i]!, th);
    for (const d of kept) perClass[o.policy.classes[d.cls]!]!++;
    labels += kept.length;
    return { frame: o.frames[i]!, width: r.width, height: r.height, labels: kept };
  });
  timings.totalSec = (performance.now() - t0) / 1000;
  return { frames, labels, perClass, suppressedStatic, droppedByTemporal: Math.max(0, before - labels), reused, inferred, timings };
}
