import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { globalOpts, printJson } from '../context.js';
import { positiveInt } from '../numbers.js';

export interface TrainBenchResult {
  bareImgPerSec: number;
  trainerImgPerSec: number;
  ratio: number;
  device: string;
  [key: string]: unknown;
}

/** Runs the trainer's own bench (bare PyTorch loop vs our training step, same model/data/device). */
export async function runTrainBench(o: { device: string; imgsz: number; batch: number; steps: number; data?: string; amp?: string }): Promise<TrainBenchResult> {
  const [{ builtinTrainer, builtinCenternetJson }, { defaultPython, REPO_ROOT }] = await Promise.all([import('../../models/builtin.js'), import('../../worker/deps.js')]);
  const { command, env } = builtinTrainer({ python: defaultPython(), repoRoot: REPO_ROOT });
  const [cmd, ...prefix] = command;
  const args = [...prefix, 'bench', '--init', builtinCenternetJson(), '--device', o.device, '--imgsz', String(o.imgsz), '--batch', String(o.batch), '--steps', String(o.steps), '--amp', o.amp ?? 'auto'];
  args.push(...(o.data ? ['--data', o.data] : ['--synthetic']));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let last: TrainBenchResult | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const v = JSON.parse(line) as TrainBenchResult;
        if (typeof v.ratio === 'number') last = v;
      } catch {
        /* progress text */
      }
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && last ? resolve(last) : reject(new Error(`trainer bench failed (exit ${code})`))));
  });
}

export function registerBench(bench: Command): void {
  bench
    .command('train')
    .description('training throughput: our trainer vs a bare PyTorch loop on the same model, data and device')
    .addOption(new Option('--device <d>').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .addOption(new Option('--amp <mode>', 'mixed precision (auto: fp32, TF32 on CUDA)').choices(['auto', 'off', 'bf16', 'fp16']).default('auto'))
    .option('--imgsz <n>', 'student input size', positiveInt, 256)
    .option('--batch <n>', 'batch size', positiveInt, 8)
    .option('--steps <n>', 'timed steps per side', positiveInt, 12)
    .option('--data <dir>', 'a dataset directory (default: synthetic frames)')
    .option('--json', 'last stdout line is one JSON object')
    .action(async (o: { device: string; imgsz: number; batch: number; steps: number; data?: string; amp: string }, cmd: Command) => {
      const r = await runTrainBench(o);
      console.log(`bare PyTorch loop   ${r.bareImgPerSec.toFixed(2)} img/s`);
      console.log(`autotuner trainer   ${r.trainerImgPerSec.toFixed(2)} img/s`);
      console.log(`ratio               ${r.ratio.toFixed(3)} (target >= 0.9) on ${r.device}, amp ${String(r.amp ?? 'off')}`);
      // the input side alone: when the ratio is low, says whether data loading is the limit
      if (typeof r.loaderImgPerSec === 'number') console.log(`data pipeline alone ${r.loaderImgPerSec.toFixed(0)} img/s`);
      if (globalOpts(cmd).json) printJson(r);
    });
}
