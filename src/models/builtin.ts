import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ActivityDeps } from '../worker/deps.js';

export const BUILTIN_CENTERNET = 'builtin:centernet';

/** The COCO-trained MobileNetV3 CenterNet (TensorFlow.js graph) shipped inside @vladmandic/human. */
export function builtinCenternetJson(): string {
  // The package's "exports" hide its files from require.resolve: locate its directory from the main entry.
  const require = createRequire(import.meta.url);
  const main = require.resolve('@vladmandic/human');
  const pkg = main.slice(0, main.lastIndexOf(`${path.sep}@vladmandic${path.sep}human${path.sep}`) + `/@vladmandic/human`.length);
  const file = path.join(pkg, 'models', 'centernet.json');
  if (!existsSync(file)) throw new Error(`built-in CenterNet weights missing at ${file}: run "npm install" (package @vladmandic/human)`);
  return file;
}

/** Weights a student starts from: the built-in pretrained net, or the user's checkpoint/ONNX path. */
export function resolveStudentInit(init: string, baseDir: string): string {
  if (init === BUILTIN_CENTERNET) return builtinCenternetJson();
  const p = path.resolve(baseDir, init);
  if (!existsSync(p)) throw new Error(`student.init "${init}" not found at ${p}: use "${BUILTIN_CENTERNET}" or a trainer checkpoint (.pt)`);
  return p;
}

/** argv prefix and environment for the built-in Python trainer. */
export function builtinTrainer(deps: Pick<ActivityDeps, 'python' | 'repoRoot'>): { command: string[]; env: NodeJS.ProcessEnv } {
  const trainerDir = path.join(deps.repoRoot, 'trainer');
  const pp = process.env.PYTHONPATH ? `${trainerDir}${path.delimiter}${process.env.PYTHONPATH}` : trainerDir;
  return { command: [deps.python, '-m', 'autotuner_trainer'], env: {
      ...process.env,
      PYTHONPATH: pp,
      PYTHONUNBUFFERED: '1',
      // The trainer exits when this process dies (kill -9 of a worker), so a retried attempt never
      // races an orphaned trainer over the same checkpoint directory.
      AUTOTUNER_PARENT_PID: String(process.pid),
    },
  };
}
