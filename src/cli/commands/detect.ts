import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { Command } from 'commander';
import { findCamera } from '../../config/load.js';
import type { CameraConfig } from '../../config/schema.js';
import { createOnnxDetector } from '../../detect/onnx-detector.js';
import { createTeacherDetector, readModelSidecar, resolveTeacherModel } from '../../detect/teacher-model.js';
import type { Detector, RgbFrame } from '../../detect/types.js';
import { readCurrent } from '../../edge/deploy.js';
import { resolveStudentInit } from '../../models/builtin.js';
import { exportPretrainedStudent } from '../../models/export.js';
import { ModelRegistry } from '../../registry/registry.js';
import { decodeFrames } from '../../video/decode.js';
import { makeDeps, type ActivityDeps } from '../../worker/deps.js';
import { loadFor } from '../context.js';

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

export function register(program: Command): void {
  program
    .command('detect')
    .description('run one model over a video and write every detection as CSV frame,class,x1,y1,x2,y2,score')
    .requiredOption('--camera <id>', 'camera whose config (classes, teacher, registry) to use')
    .option('--model <which>', 'deployed | pretrained | teacher | VERSION (v3) | PATH to an ONNX model', 'deployed')
    .option('--source <url>', 'video file or stream (default: the camera source)')
    .option('--out <file>', 'CSV file (default: stdout)')
    .option('--frames <n>', 'stop after this many frames', (v) => Number(v))
    .option('--min-score <s>', 'drop detections below this score', (v) => Number(v), 0.25)
    .action(async (o: { camera: string; model: string; source?: string; out?: string; frames?: number; minScore: number }, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const camera = findCamera(loaded.config, o.camera);
      const deps = makeDeps(loaded.config, loaded.dir);
      const detector = await resolveDetector(deps, camera, o.model);
      const out = o.out ? createWriteStream(o.out) : process.stdout;
      const write = async (s: string) => {
        if (!out.write(s)) await once(out, 'drain');
      };
      await write('frame,class,x1,y1,x2,y2,score\n');
      const batch: { n: number; frame: RgbFrame }[] = [];
      let total = 0;
      let boxes = 0;
      const flush = async () => {
        const items = batch.splice(0);
        if (items.length === 0) return;
        const dets = await detector.detect(items.map((i) => i.frame));
        for (let k = 0; k < items.length; k++) {
          for (const d of dets[k]!) {
            if (d.score < o.minScore) continue;
            boxes++;
            const [x1, y1, x2, y2] = d.box.map((v) => v.toFixed(1));
            await write(`${items[k]!.n},${detector.classNames[d.cls] ?? d.cls},${x1},${y1},${x2},${y2},${d.score.toFixed(4)}\n`);
          }
        }
        process.stderr.write(`\rdetect: ${total} frames, ${boxes} detections`);
      };
      // Returning the batch's promise pauses the decoder until it is detected (backpressure), so a
      // long video never piles up frames in memory.
      try {
        await decodeFrames({ source: o.source ?? camera.source, maxFrames: o.frames }, (f) => {
          batch.push({ n: f.index + 1, frame: f.toRgb() });
          total++;
          return batch.length >= 4 ? flush() : undefined;
        });
        await flush();
      } finally {
        await detector.close();
        process.stderr.write('\n');
        if (o.out) (out as ReturnType<typeof createWriteStream>).end();
      }
    });
}
