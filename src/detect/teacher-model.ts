import { builtinCenternetJson } from '../models/builtin.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeJsonAtomic } from '../artifacts/store.js';
import type { TeacherConfig } from '../config/schema.js';
import type { ActivityDeps } from '../worker/deps.js';
import type { Layout } from './decoders/index.js';
import { type Normalization, type OnnxDetectorOptions, createOnnxDetector, type OnnxDetector } from './onnx-detector.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import type { ResizeMode } from './preprocess.js';

export const BUILTIN_CENTERNET = 'builtin:centernet';

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

export async function readModelSidecar(model: string): Promise<ModelSidecar> {
  const side = `${model}.json`;
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
  const args = ['-m', 'autotuner_trainer', 'export', '--init', init, '--imgsz', String(imgsz), '--out', tmp];
  const env = { ...process.env, PYTHONPATH: path.join(deps.repoRoot, 'trainer') };
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(deps.python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(new TeacherModelError(`cannot run ${deps.python} to export the built-in teacher: ${e.message} (run \`npm run setup\`)`)));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  if (code !== 0 || !existsSync(tmp)) {
    await rm(tmp, { force: true });
    const errLine = stdout.split('\n').reverse().find((l) => l.includes('"error"'));
    throw new TeacherModelError(`exporting the built-in teacher failed (exit ${code}): ${errLine ?? stderr.trim().split('\n').slice(-3).join(' ')}`);
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
    let side: ModelSidecar;
    if (existsSync(`${file}.json`)) side = await readModelSidecar(file);
    else {
      side = await readModelSidecar(file);
      await writeJsonAtomic(`${file}.json`, side);
    }
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

/** Build the teacher Detector from a resolved model and the teacher config. */
export function createTeacherDetector(
  model: TeacherModel,
  teacher: Pick<TeacherConfig, 'provider' | 'threads'>,
  extra: Partial<OnnxDetectorOptions> = {},
): Promise<OnnxDetector> {
  return createOnnxDetector({
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
