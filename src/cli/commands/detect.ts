import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { RgbFrame } from '../../detect/types.js';
import { loadFor } from '../context.js';
import { positiveInt, unitInterval } from '../numbers.js';

export function register(program: Command): void {
  program
    .command('detect')
    .description('run one model over a video and write every detection as CSV frame,class,x1,y1,x2,y2,score')
    .requiredOption('--camera <id>', 'camera whose config (classes, teacher, registry) to use')
    .option('--model <which>', 'deployed | pretrained | teacher | VERSION (v3) | PATH to an ONNX model', 'deployed')
    .option('--source <url>', 'video file or stream (default: the camera source)')
    .option('--out <file>', 'CSV file (default: stdout)')
    .option('--frames <n>', 'stop after this many frames', positiveInt)
    .option('--min-score <s>', 'drop detections below this score', unitInterval, 0.25)
    .action(async (o: { camera: string; model: string; source?: string; out?: string; frames?: number; minScore: number }, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const [{ findCamera }, { resolveDetector }, { decodeFrames }, { makeDeps }, { describeSource }, { deinterlaceFor }] = await Promise.all([
        import('../../config/load.js'),
        import('../../detect/resolve.js'),
        import('../../video/decode.js'),
        import('../../worker/deps.js'),
        import('../../video/probe.js'),
        import('../../video/ffmpeg.js'),
      ]);
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
        const source = o.source ?? camera.source;
        // frames as the camera's student learnt them: an interlaced source deinterlaced, as the
        // sample step and the edge runtime do (a source the probe cannot read fails in the decode)
        const interlaced = camera.capture.deinterlace === 'never' ? null : await describeSource(source, { rtspTransport: camera.capture.rtspTransport }).then((d) => d.interlaced, () => null);
        const deinterlace = deinterlaceFor(camera.capture.deinterlace, interlaced);
        await decodeFrames({ source, maxFrames: o.frames, ...(deinterlace ? { deinterlace } : {}) }, (f) => {
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
