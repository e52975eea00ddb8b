import type { Command } from 'commander';
import { globalOpts, printJson } from '../context.js';
import { positiveInt } from '../numbers.js';

export function registerBench(bench: Command): void {
  bench
    .command('annotate')
    .description('teacher throughput: the bare ONNX model vs our annotate loop on the same frames, plus the cost of crops and TTA')
    .option('--camera <id>', 'camera whose teacher settings and source to use (default: the first)')
    .option('--frames <n>', 'frames to time', positiveInt, 20)
    .option('--frames-dir <dir>', 'a sampled frames directory (images/ + manifest.json) instead of extracting from the source')
    .option('--json', 'last stdout line is one JSON object')
    .action(async (o: { camera?: string; frames: number; framesDir?: string }, cmd: Command) => {
      const g = globalOpts(cmd);
      const [{ runAnnotateBench }, { findCamera, loadConfig }, { makeDeps }] = await Promise.all([
        import('../../bench/annotate.js'),
        import('../../config/load.js'),
        import('../../worker/deps.js'),
      ]);
      const loaded = await loadConfig(g.config);
      const camera = o.camera ? findCamera(loaded.config, o.camera) : loaded.config.cameras[0]!;
      const deps = makeDeps(loaded.config, loaded.dir);
      const r = await runAnnotateBench({ deps, camera, frames: o.frames, framesDir: o.framesDir, log: (l) => console.error(l) });
      console.log(`teacher ${r.model} (${r.layout}), ${r.frames} frames, ${r.sessions} session(s), op threads ${r.threads.join('+')}`);
      console.log(`bare model          ${r.bareFps.toFixed(2)} frames/s (same sessions and threads, tensors made beforehand)`);
      console.log(`annotate loop       ${r.teacherFps.toFixed(2)} frames/s`);
      console.log(`overhead            ${r.overhead.toFixed(3)} (target <= 1.10)`);
      console.log(`bare model, plain   ${r.bareSerialFps.toFixed(2)} frames/s (1 session, all threads, one frame at a time): loop is ${r.speedupVsSerial.toFixed(2)}x that`);
      console.log(`crops               +${(r.cropsCostSec * 1000).toFixed(1)} ms/frame (${r.avgCrops.toFixed(1)} regions/frame)`);
      console.log(`tta (flip)          +${(r.ttaCostSec * 1000).toFixed(1)} ms/frame`);
      console.log(`tta (scales ${r.ttaScales.join(',')})`.padEnd(20) + `+${(r.ttaScalesCostSec * 1000).toFixed(1)} ms/frame`);
      if (g.json) {
        printJson({
          bareFps: r.bareFps,
          teacherFps: r.teacherFps,
          overhead: r.overhead,
          bareSerialFps: r.bareSerialFps,
          speedupVsSerial: r.speedupVsSerial,
          sessions: r.sessions,
          threads: r.threads,
          cropsCostSec: r.cropsCostSec,
          ttaCostSec: r.ttaCostSec,
          ttaScalesCostSec: r.ttaScalesCostSec,
          ttaScales: r.ttaScales,
        });
      }
    });
}
