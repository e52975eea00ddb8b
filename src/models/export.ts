import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRef } from '../artifacts/ref.js';
import type { CameraConfig } from '../config/schema.js';
import type { ActivityDeps } from '../worker/deps.js';
import { builtinTrainer } from './builtin.js';

/** Run `python -m autotuner_trainer export ...` (no shell); rejects with the tail of stderr. */
export function runTrainerExport(deps: Pick<ActivityDeps, 'python' | 'repoRoot'>, args: string[]): Promise<void> {
  const { command, env } = builtinTrainer(deps);
  const [cmd, ...prefix] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...prefix, 'export', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const tail: string[] = [];
    const keep = (b: Buffer) => {
      tail.push(...b.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 20));
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => reject(new Error(`cannot run the model exporter (${cmd}): ${err.message}; run "npm run setup"`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`model export failed (exit ${code}):\n${tail.join('\n')}`))));
  });
}

/**
 * The pre-trained student (same architecture, input size and classes as the candidate, before
 * fine-tuning): the "before" of every before → after comparison. Cached per init/imgsz/classes.
 */
export async function exportPretrainedStudent(deps: ActivityDeps, camera: CameraConfig, init: string): Promise<ArtifactRef> {
  const key = createHash('sha256').update(JSON.stringify([init, camera.student.imgsz, camera.classes])).digest('hex').slice(0, 16);
  const file = path.join(deps.dataDir, 'models', `pretrained-student-${camera.student.imgsz}-${key}.onnx`);
  if (!existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true });
    // unique per call: two activities of one worker may export the same model at once
    const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp.onnx`;
    try {
      await runTrainerExport(deps, ['--init', init, '--imgsz', String(camera.student.imgsz), '--classes', camera.classes.join(','), '--out', tmp]);
      await rename(tmp, file);
    } finally {
      await rm(tmp, { force: true });
    }
  }
  return deps.store.putFile(file, 'model');
}
