import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';

export type ProviderName = 'cpu' | 'cuda' | 'tensorrt';

export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

const require = createRequire(import.meta.url);

/** Directory holding onnxruntime-node's native libraries for this platform. */
function ortBinDir(): string | undefined {
  try {
    const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const base = path.join(pkg, 'bin');
    for (const napi of existsSync(base) ? readdirSync(base) : []) {
      const dir = path.join(base, napi, process.platform, process.arch);
      if (existsSync(dir)) return dir;
    }
  } catch {
    // fall through: unknown layout, let session creation report
  }
  return undefined;
}

/**
 * Check a requested execution provider before building a session, so the user gets a message
 * that says what to install instead of an opaque native error. CPU is always there.
 */
export function checkProvider(name: ProviderName): void {
  if (name === 'cpu') return;
  const dir = ortBinDir();
  const lib = name === 'cuda' ? 'libonnxruntime_providers_cuda.so' : 'libonnxruntime_providers_tensorrt.so';
  if (process.platform !== 'linux' && process.platform !== 'win32') {
    throw new ProviderUnavailableError(`execution provider "${name}" is not available on ${process.platform}; set teacher.provider to "cpu"`);
  }
  const found = dir && readdirSync(dir).some((f) => f.startsWith(lib.replace('.so', '')));
  if (!found) {
    throw new ProviderUnavailableError(
      `execution provider "${name}" requested but onnxruntime-node has no ${lib} in ${dir ?? 'its bin directory'}: ` +
        `reinstall with network access and \`npm install onnxruntime-node --onnxruntime-node-install-cuda=v12\` on a machine with an NVIDIA driver ` +
        `(and TensorRT for "tensorrt"), or set teacher.provider to "cpu"`,
    );
  }
}

/** How inference is spread over the machine: parallel sessions (one frame each), op threads of each. */
export interface InferencePlan {
  sessions: number;
  /** op threads of each session; the budget is shared out whole (5 threads, 4 sessions: 2,1,1,1) */
  threads: number[];
}

/** `total` op threads over `sessions` sessions, none idle: the first `total % sessions` get one more. */
export function splitThreads(total: number, sessions: number): number[] {
  const t = Math.max(1, total);
  const n = Math.max(1, sessions);
  return Array.from({ length: n }, (_, k) => Math.max(1, Math.floor(t / n) + (k < t % n ? 1 : 0)));
}

/**
 * Throughput plan for batch-1 detectors on CPU: frames in parallel beat op-level threads. The
 * built-in teacher on 2 cores ran 40-44 frames/s as 2 sessions x 1 thread vs 26-36 as 1 session x 2
 * threads (its convolutions split poorly across threads). Up to 4 sessions, the threads shared
 * out; GPU providers keep one session (the device is the parallel part).
 * `threads` (config) is the total op-thread budget; `sessions` forces the number of streams.
 */
export function inferencePlan(provider: ProviderName, o: { threads?: number; sessions?: number } = {}, cores = os.availableParallelism()): InferencePlan {
  const budget = Math.max(1, o.threads ?? cores);
  const wanted = o.sessions ?? (provider === 'cpu' ? Math.min(4, budget) : 1);
  // on CPU no more sessions than threads (each needs one); GPU sessions mostly wait on the device
  const sessions = Math.max(1, provider === 'cpu' ? Math.min(wanted, budget) : wanted);
  return { sessions, threads: splitThreads(budget, sessions) };
}

/** Session options chosen on purpose: one inference stream, its op threads sized to the machine. */
export function sessionOptions(provider: ProviderName, threads?: number): InferenceSession.SessionOptions {
  const eps: InferenceSession.SessionOptions['executionProviders'] =
    provider === 'cpu' ? ['cpu'] : provider === 'cuda' ? ['cuda', 'cpu'] : ['tensorrt', 'cuda', 'cpu'];
  return {
    executionProviders: eps,
    // Intra-op threads do the convolution work; default = all cores (annotation is the only heavy
    // work on a GPU-queue worker). Inter-op stays 1: detector graphs are sequential chains.
    intraOpNumThreads: threads ?? Math.max(1, os.availableParallelism()),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle op threads would otherwise spin after each parallel section and steal the cores the
    // main thread needs to decode and resize the next frame meanwhile.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
