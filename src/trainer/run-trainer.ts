import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { StudentConfig } from '../config/schema.js';

/** One line of the trainer contract's stdout (DESIGN.md "Trainer"). */
export interface TrainerEvent {
  event: string;
  [key: string]: unknown;
}
export interface TrainerDone extends TrainerEvent {
  event: 'done';
  onnx: string;
  checkpoint?: string;
  metrics?: Record<string, number>;
}

export class TrainerError extends Error {
  override name = 'TrainerError';
  constructor(
    message: string,
    /** false for bad input (empty dataset, NaN loss, unknown class): retrying cannot help */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface TrainerRunOptions {
  /** argv prefix of the trainer: the built-in one is [python, '-m', 'autotuner_trainer'] */
  command: string[];
  data: string;
  init: string;
  out: string;
  epochs: number;
  imgsz: number;
  device: 'auto' | 'cpu' | 'cuda';
  resume: boolean;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: TrainerEvent) => void;
  signal?: AbortSignal;
  /** how long to wait after SIGTERM before SIGKILL on cancellation */
  killGraceMs?: number;
  /**
   * Stop the trainer when it writes nothing (stdout or stderr) for this long: a deadlocked data
   * loader or GPU would otherwise hold the GPU until the activity's 12 h timeout (heartbeats go on
   * regardless). Retryable: the next attempt resumes from the last checkpoint.
   */
  stallMs?: number;
}

/** `node PARENT_WATCHDOG <launcher pid> cmd...` runs a custom trainer that stops when its launcher dies. */
export const PARENT_WATCHDOG = fileURLToPath(new URL('./parent-watchdog.cjs', import.meta.url));

export function trainerArgs(o: TrainerRunOptions): string[] {
  const args = ['--data', o.data, '--init', o.init, '--out', o.out, '--epochs', String(o.epochs), '--imgsz', String(o.imgsz), '--device', o.device];
  if (o.resume) args.push('--resume');
  return [...args, ...(o.extraArgs ?? [])];
}

/** The built-in trainer's options beyond the contract's, from the camera's `student` config. */
export function builtinTrainerExtraArgs(
  student: Pick<StudentConfig, 'batch' | 'lr' | 'amp' | 'deterministic'> & { seed?: number; cudaGraphs?: boolean },
): string[] {
  return [
    '--batch', String(student.batch), '--lr', String(student.lr), '--amp', student.amp,
    ...(student.cudaGraphs ? ['--cuda-graphs', 'on'] : []),
    ...(student.deterministic ? ['--deterministic'] : []),
    ...(student.seed ? ['--seed', String(student.seed)] : []),
  ];
}

/**
 * Runs a trainer process under the contract: JSON lines on stdout, checkpoints in --out.
 * The process gets its own process group so cancellation kills the trainer and its data-loader
 * workers together.
 */
export function runTrainer(o: TrainerRunOptions): Promise<TrainerDone> {
  const [cmd, ...prefix] = o.command;
  if (!cmd) throw new TrainerError('trainer command is empty: set student.command or install the built-in trainer', false);
  const args = [...prefix, ...trainerArgs(o)];
  // cancelled before it started (an 'abort' listener added now would never fire)
  if (o.signal?.aborted) return Promise.reject(new TrainerError('training cancelled', true));
  return new Promise<TrainerDone>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: o.env ?? process.env });
    let done: TrainerDone | undefined;
    let failure: TrainerError | undefined;
    const stderrTail: string[] = [];
    let settled = false;

    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), o.killGraceMs ?? 10_000).unref();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });

    let lastOutput = Date.now();
    const stallMs = o.stallMs;
    const watchdog = stallMs
      ? setInterval(() => {
          if (failure || Date.now() - lastOutput < stallMs) return;
          const minutes = Math.round(stallMs / 6000) / 10;
          failure = new TrainerError(`trainer wrote nothing for ${minutes} min and was stopped (hung?); if its epochs really take longer, raise student.stallMinutes`, true);
          onAbort();
        }, Math.min(30_000, Math.max(100, stallMs / 4)))
      : null;
    watchdog?.unref();

    createInterface({ input: child.stdout }).on('line', (line) => {
      lastOutput = Date.now();
      const trimmed = line.trim();
      if (!trimmed) return;
      let ev: TrainerEvent;
      try {
        ev = JSON.parse(trimmed) as TrainerEvent;
      } catch {
        stderrTail.push(`(stdout) ${trimmed}`);
        return;
      }
      if (typeof ev?.event !== 'string') return;
      if (ev.event === 'done') done = ev as TrainerDone;
      if (ev.event === 'error') failure = new TrainerError(`trainer: ${String(ev.message ?? 'unknown error')}`, ev.retryable === true);
      o.onEvent?.(ev);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      lastOutput = Date.now();
      stderrTail.push(line);
      if (stderrTail.length > 40) stderrTail.shift();
    });

    child.on('error', (err) => {
      if (watchdog) clearInterval(watchdog);
      if (settled) return;
      settled = true;
      reject(new TrainerError(`cannot start trainer "${cmd}": ${err.message}. Run "autotuner doctor" or set student.command.`, false));
    });
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (watchdog) clearInterval(watchdog);
      if (settled) return;
      settled = true;
      if (o.signal?.aborted) return reject(new TrainerError('training cancelled', true));
      if (failure) return reject(failure);
      if (code === 0 && done) {
        if (typeof done.onnx !== 'string') return reject(new TrainerError('trainer "done" event has no "onnx" path', false));
        return resolve(done);
      }
      const tail = stderrTail.slice(-12).join('\n');
      // Exit code 2 is the contract's "bad input"; anything else (crash, OOM kill) may succeed on retry.
      const retryable = code !== 2;
      const why = signal ? `killed by ${signal}` : code === 0 ? 'exited without a "done" event' : `exited with code ${code}`;
      reject(new TrainerError(`trainer ${why}${tail ? `:\n${tail}` : ''}`, retryable));
    });
  });
}
