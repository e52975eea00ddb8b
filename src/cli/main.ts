import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { register as registerServer } from './commands/server.js';
import { register as registerWorker } from './commands/worker.js';
import { register as registerTune } from './commands/tune.js';
import { register as registerSchedule } from './commands/schedule.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerCapture } from './commands/capture.js';
import { register as registerModels } from './commands/models.js';
import { register as registerEdge } from './commands/edge.js';
import { register as registerDetect } from './commands/detect.js';
import { registerBench as registerBenchCapture } from './commands/bench-capture.js';
import { registerBench as registerBenchAnnotate } from './commands/bench-annotate.js';
import { registerBench as registerBenchTrain } from './commands/bench-train.js';

/** The package's version (package.json at the repository root: the CLI runs from its sources). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export function buildProgram(): Command {
  const program = new Command('autotuner')
    .description('Specialize a light edge detector to each static camera with a heavy teacher, on Temporal.')
    .version(packageVersion(), '-V, --version', 'print the autotuner version')
    .option('-c, --config <path>', 'config file (default: $AUTOTUNER_CONFIG or ./autotuner.config.json, created with the demo camera)')
    .showHelpAfterError();
  registerServer(program);
  registerWorker(program);
  registerTune(program);
  registerSchedule(program);
  registerDemo(program);
  registerDoctor(program);
  registerCapture(program);
  registerModels(program);
  registerEdge(program);
  registerDetect(program);
  const bench = program.command('bench').description('benchmarks that print numbers and ratios against a reference measured in the same run');
  registerBenchCapture(bench);
  registerBenchAnnotate(bench);
  registerBenchTrain(bench);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    // Known failures get one clear line; unexpected ones keep their stack for bug reports.
    const e = err as Error;
    const known = ['ConfigError', 'TemporalUnreachableError', 'TuneAlreadyRunningError', 'SourceInvalidError', 'SourceUnreachableError', 'EmptySourceError', 'DiskFullError', 'TuneFailedError'];
    console.error(`autotuner: ${known.includes(e.name) || process.env.AUTOTUNER_DEBUG !== '1' ? e.message : e.stack}`);
    process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
  }
  // Connections, timers and worker threads can keep the loop alive after a command is done.
  if (!['server', 'worker', 'edge'].includes(process.argv[2] ?? '')) setTimeout(() => process.exit(), 200).unref();
}

await main();
