import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeJsonAtomic } from '../artifacts/store.js';
import type { TeacherConfig } from '../config/schema.js';
import { BUILTIN_CENTERNET, builtinCenternetJson } from '../models/builtin.js';
import { runTrainerExport } from '../models/export.js';
import type { ActivityDeps } from '../worker/deps.js';
import type { Layout } from './decoders/index.js';
import { type Normalization, type OnnxDetectorOptions, createOnnxDetector, type OnnxDetector } from './onnx-detector.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import type { ResizeMode } from './preprocess.js';
import { inferencePlan } from './providers.js';

export { BUILTIN_CENTERNET };

/** A teacher model on disk and what is needed to run it. */
export interface TeacherModel {
  path: string;
  classNames: string[];
  layout: Layout | 'auto';
  imgsz: number;
  resize: ResizeMode;
  normalize?: Normalization;
  /** stable id for dataset lineage, e.g. "builtin:centernet@512" */
  id: string;
}

/** What a model declares about itself: ONNX metadata "autotuner" key or a `<model>.json` sidecar. */
interface ModelSidecar {
  classes?: string[];
  imgsz?: number;
  layout?: Layout | 'auto';
  resize?: ResizeMode;
  normalize?: Normalization;
}

export class TeacherModelError extends Error {
  override name = 'TeacherModelError';
}

/** Ultralytics writes `names` as a Python dict literal: {0: 'person', 1: 'bicycle'}. */
function parseUltralyticsNames(s: string): string[] | undefined {
  const re = /(\d+)\s*:\s*(['"])(.*?)\2/g;
  const names: string[] = [];
  for (let m = re.exec(s); m; m = re.exec(s)) names[Number(m[1])] = m[3]!;
  return names.length && !names.includes(undefined as unknown as string) ? names : undefined;
}

/** Where a model's sidecar lives: `<model>.onnx.json`. */
export function sidecarPath(model: string): string {
  return `${model}.json`;
}

export async function readModelSidecar(model: string): Promise<ModelSidecar> {
  const side = sidecarPath(model);
  if (existsSync(side)) return JSON.parse(await readFile(side, 'utf8')) as ModelSidecar;
  const meta = await readOnnxMetadata(model);
  if (meta.autotuner) return JSON.parse(meta.autotuner) as ModelSidecar;
  const out: ModelSidecar = {};
  if (meta.names) out.classes = parseUltralyticsNames(meta.names);
  if (meta.imgsz) {
    const m = /\d+/.exec(meta.imgsz);
    if (m) out.imgsz = Number(m[0]);
  }
  if (out.classes) out.layout = 'yolo';
  return out;
}

async function exportCenternet(deps: Pick<ActivityDeps, 'python' | 'repoRoot'>, imgsz: number, dest: string): Promise<void> {
  let init: string;
  try {
    init = builtinCenternetJson();
  } catch (err) {
    throw new TeacherModelError((err as Error).message);
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.${Date.now()}.tmp.onnx`;
  try {
    await runTrainerExport(deps, ['--init', init, '--imgsz', String(imgsz), '--out', tmp]);
    if (!existsSync(tmp)) throw new Error(`the exporter wrote no ${tmp}`);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new TeacherModelError(`exporting the built-in teacher failed: ${(err as Error).message}`);
  }
  await rename(tmp, dest);
}

/**
 * Where the teacher's ONNX file is and how to run it. `builtin:centernet` is exported once to
 * `<dataDir>/models/teacher-centernet-<imgsz>.onnx` (with a `.json` sidecar); a path is used as
 * is, described by its sidecar / ONNX metadata, overridden by the config's layout and classNames.
 */
export async function resolveTeacherModel(
  deps: Pick<ActivityDeps, 'dataDir' | 'python' | 'repoRoot'>,
  teacher: Pick<TeacherConfig, 'model' | 'imgsz' | 'layout' | 'classNames'>,
): Promise<TeacherModel> {
  if (teacher.model === BUILTIN_CENTERNET) {
    const file = path.join(deps.dataDir, 'models', `teacher-centernet-${teacher.imgsz}.onnx`);
    if (!existsSync(file)) await exportCenternet(deps, teacher.imgsz, file);
    const side = await readModelSidecar(file);
    if (!existsSync(sidecarPath(file))) await writeJsonAtomic(sidecarPath(file), side);
    if (!side.classes?.length) throw new TeacherModelError(`built-in teacher ${file} carries no class names; delete it to re-export`);
    return {
      path: file,
      classNames: side.classes,
      layout: side.layout ?? 'e2e',
      imgsz: side.imgsz ?? teacher.imgsz,
      resize: side.resize ?? 'stretch',
      normalize: side.normalize ?? { scale: 1 },
      id: `${BUILTIN_CENTERNET}@${teacher.imgsz}`,
    };
  }
  const file = path.resolve(teacher.model);
  if (!existsSync(file)) throw new TeacherModelError(`teacher model ${file} does not exist (teacher.model in the camera config)`);
  const side = await readModelSidecar(file);
  const classNames = teacher.classNames ?? side.classes;
  if (!classNames?.length) {
    throw new TeacherModelError(`teacher model ${file} does not name its classes: set teacher.classNames in the config (index order) or write ${file}.json {"classes":[...]}`);
  }
  return {
    path: file,
    classNames,
    layout: teacher.layout !== 'auto' ? teacher.layout : (side.layout ?? 'auto'),
    imgsz: side.imgsz ?? teacher.imgsz,
    resize: side.resize ?? 'letterbox',
    normalize: side.normalize,
    id: `${path.basename(file)}`,
  };
}

/**
 * Build the teacher Detector from a resolved model and the teacher config. Annotation is throughput
 * work: the sessions follow `inferencePlan` (frames in parallel) unless `extra.sessions` says otherwise.
 */
export function createTeacherDetector(
  model: TeacherModel,
  teacher: Pick<TeacherConfig, 'provider' | 'threads'> & Partial<Pick<TeacherConfig, 'sessions'>>,
  extra: Partial<OnnxDetectorOptions> = {},
): Promise<OnnxDetector> {
  const provider = teacher.provider ?? 'cpu';
  return createOnnxDetector({
    sessions: inferencePlan(provider, { threads: teacher.threads, sessions: teacher.sessions }).sessions,
    model: model.path,
    classNames: model.classNames,
    layout: model.layout,
    imgsz: model.imgsz,
    resize: model.resize,
    normalize: model.normalize,
    provider: teacher.provider,
    threads: teacher.threads,
    ...extra,
  });
}

/**
 * A Detector for a student model (the built-in trainer's e2e export, or anything its sidecar /
 * ONNX metadata describes): e2e layout, stretch resize, raw 0..255 input unless declared otherwise.
 * `classNames` is empty when the model does not name its classes.
 */
export async function createStudentDetector(model: string, extra: Partial<OnnxDetectorOptions> = {}): Promise<OnnxDetector> {
  const side = await readModelSidecar(model);
  return createOnnxDetector({
    model,
    classNames: side.classes ?? [],
    layout: side.layout ?? 'e2e',
    imgsz: side.imgsz ?? 320,
    resize: side.resize ?? 'stretch',
    normalize: side.normalize ?? { scale: 1 },
    ...extra,
  });
}

/**
 * Map the model's class indices onto `targetClasses` by name (a COCO-pretrained student predicts
 * 80 classes, the dataset only a few); without model class names the indices are taken as is.
 */
export function classMapper(modelClasses: readonly string[] | undefined, targetClasses: readonly string[]): (cls: number) => number {
  if (!modelClasses?.length) return (c) => (c >= 0 && c < targetClasses.length ? c : -1);
  const map = modelClasses.map((n) => targetClasses.indexOf(n));
  return (c) => map[c] ?? -1;
}
