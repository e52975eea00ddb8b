import type { Command } from 'commander';
import { DEMO_VIDEO } from '../../config/demo-video.js';
import { globalOpts, printJson } from '../context.js';
import { positiveInt } from '../numbers.js';

export function registerBench(bench: Command): void {
  bench
    .command('capture')
    .description('capture+sample throughput vs bare ffmpeg decoding of the same video (target ratio >= 0.8)')
    .option('--video <path>', 'video to use', DEMO_VIDEO)
    .option('--camera <id>', 'camera whose capture/sample settings to use (default: built-in defaults)')
    .option('--iterations <n>', 'alternating runs of each; medians are reported', positiveInt, 5)
    .option('--json', 'last stdout line is one JSON object')
    .action(async (o: { video: string; camera?: string; iterations: number }, cmd: Command) => {
      const g = globalOpts(cmd);
      const [{ runCaptureBench }, { findCamera, loadConfig }] = await Promise.all([import('../../bench/capture.js'), import('../../config/load.js')]);
      const camera = o.camera ? findCamera((await loadConfig(g.config)).config, o.camera) : undefined;
      const r = await runCaptureBench({ video: o.video, iterations: o.iterations, camera, log: (l) => console.error(l) });
      console.log(`ffmpeg ${r.ffmpeg}, ${r.frames} frames (both rates count the video's own frames)`);
      console.log(`bare ffmpeg decode  ${r.ffmpegFps.toFixed(1)} frames/s`);
      const keptShare = r.sampledFrames ? r.selected / r.sampledFrames : 0;
      // each kept frame is converted and JPEG-encoded (~2 ms of CPU, ~7 frames' worth of decoding): the ratio depends on this share
      console.log(`capture+sample      ${r.pipelineFps.toFixed(1)} frames/s (${r.sampledFrames} scored at the camera's rate, ${r.selected} kept = ${(keptShare * 100).toFixed(1)} %, each JPEG-encoded; 1 frame in ${r.candidateStride} piped whole)`);
      console.log(`  of which          capture ${r.captureSeconds.toFixed(3)} s (record + store the clip), sample ${r.sampleSeconds.toFixed(3)} s (decode, score, encode, store) a run`);
      console.log(`  ffmpeg start      ${r.ffmpegStartSeconds.toFixed(3)} s a process (\`ffmpeg -version\`): the pipeline starts 2 a run (the sample's during the capture in ${r.warmSampleDecodes} of ${r.iterations}), the reference 1`);
      console.log(`  sampled ahead     ${r.sampledAhead} of ${r.iterations} runs sampled the file while its clip was recorded (AUTOTUNER_SAMPLE_AHEAD=0: after)`);
      console.log(`ratio               ${r.ratio.toFixed(3)} (target >= 0.8; medians of ${r.iterations} runs, each run's own: ${r.runRatios.map((x) => x.toFixed(2)).join(' ')})`);
      console.log(`peak RSS            ${r.peakRssMb} MB`);
      if (g.json) printJson({ ffmpegFps: r.ffmpegFps, pipelineFps: r.pipelineFps, ratio: r.ratio, peakRssMb: r.peakRssMb, keptShare: Math.round(keptShare * 1e4) / 1e4, frames: r.frames, sampledFrames: r.sampledFrames, captureSeconds: r.captureSeconds, sampleSeconds: r.sampleSeconds, candidateStride: r.candidateStride, ffmpegStartSeconds: r.ffmpegStartSeconds, warmSampleDecodes: r.warmSampleDecodes, sampledAhead: r.sampledAhead, runRatios: r.runRatios });
    });
}
