import path from 'node:path';
import type { CameraConfig } from '../config/schema.js';
import { readCurrent } from '../edge/deploy.js';
import { resolveStudentInit } from '../models/builtin.js';
import { exportPretrainedStudent } from '../models/export.js';
import { ModelRegistry } from '../registry/registry.js';
import type { ActivityDeps } from '../worker/deps.js';
import { createOnnxDetector } from './onnx-detector.js';
import { createTeacherDetector, readModelSidecar, resolveTeacherModel } from './teacher-model.js';
import type { Detector } from './types.js';

/** Resolve --model to a detector: deployed | pretrained | teacher | vN | a path to an ONNX file. */
export async function resolveDetector(deps: ActivityDeps, camera: CameraConfig, which: string): Promise<Detector> {
  // one frame at a time here: one session with every thread (lowest latency)
  if (which === 'teacher') return createTeacherDetector(await resolveTeacherModel(deps, camera.teacher), camera.teacher, { sessions: 1 });
  let file: string;
  if (which === 'deployed') {
    const current = await readCurrent(deps.dataDir, camera.id);
    if (!current) throw new Error(`camera "${camera.id}" has no deployed model yet: run "autotuner tune ${camera.id}" or pick --model pretrained`);
    file = current.path;
  } else if (which === 'pretrained') {
    file = await deps.store.localPath(await exportPretrainedStudent(deps, camera, resolveStudentInit(camera.student.init, path.dirname(deps.dataDir))));
  } else if (/^v\d+$/.test(which)) {
    const version = await new ModelRegistry(deps.dataDir).get(camera.id, which);
    file = await deps.store.localPath(version.model);
  } else {
    file = path.resolve(which);
  }
  const side = await readModelSidecar(file).catch(() => ({}) as Awaited<ReturnType<typeof readModelSidecar>>);
  return createOnnxDetector({
    model: file,
    classNames: side.classes ?? camera.classes,
    layout: side.layout ?? 'auto',
    imgsz: side.imgsz,
    resize: side.resize ?? 'stretch',
  });
}
