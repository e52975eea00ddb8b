/**
 * Inference latency of ONNX models on onnxruntime-node CPU with a fixed number of intra-op threads.
 * Models are measured in the same process, interleaved run by run, so a noisy neighbour or CPU
 * frequency change hits all of them alike and the ratio the gate uses stays fair.
 */
import { loadE2eModel, runRaw, type E2eModel } from './e2e-runner.js';

export interface LatencyOptions {
  /** intra-op threads, fixed so numbers are comparable between runs (default 1, like a small edge box) */
  threads?: number;
  warmup?: number;
  runs?: number;
  /** called after every round (heartbeats) */
  onProgress?: (done: number, total: number) => void;
}

export interface LatencyResult {
  path: string;
  medianMs: number;
  minMs: number;
  runs: number;
  threads: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Median latency (ms) of each model; the result order follows `modelPaths`. */
export async function measureLatency(modelPaths: readonly string[], opts: LatencyOptions = {}): Promise<LatencyResult[]> {
  const threads = opts.threads ?? 1;
  const warmup = opts.warmup ?? 3;
  const runs = opts.runs ?? 20;
  const models: E2eModel[] = [];
  try {
    for (const p of modelPaths) models.push(await loadE2eModel(p, { threads }));
    // Deterministic non-zero input: some kernels take shortcuts on all-zero data.
    const inputs = models.map((m) => Float32Array.from({ length: 3 * m.imgsz * m.imgsz }, (_, i) => (i * 7919) % 256));
    const times: number[][] = models.map(() => []);
    for (let r = 0; r < warmup + runs; r++) {
      for (let k = 0; k < models.length; k++) {
        const t0 = process.hrtime.bigint();
        await runRaw(models[k]!, inputs[k]!);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r >= warmup) times[k]!.push(ms);
      }
      opts.onProgress?.(r + 1, warmup + runs);
    }
    return models.map((m, k) => ({ path: m.path, medianMs: median(times[k]!), minMs: Math.min(...times[k]!), runs, threads }));
  } finally {
    await Promise.all(models.map((m) => m.session.release()));
  }
}
