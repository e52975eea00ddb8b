/**
 * Inference latency of ONNX models on onnxruntime-node CPU with a fixed number of intra-op threads.
 * Models are measured in the same process, interleaved run by run, so a noisy neighbour or CPU
 * frequency change hits all of them alike and the ratio the gate uses stays fair.
 */
import type { OnnxDetector, PreparedBatch } from '../detect/onnx-detector.js';
import { createStudentDetector } from '../detect/teacher-model.js';

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
  const models: OnnxDetector[] = [];
  try {
    // In-process sessions (no worker-thread hop) so only session.run is timed.
    for (const p of modelPaths) models.push(await createStudentDetector(p, { threads, workerThread: false }));
    // Deterministic non-zero frame at the input size (some kernels take shortcuts on all-zero data),
    // preprocessed once per model the way the model expects.
    const inputs: PreparedBatch[] = models.map((m) =>
      m.prepare([{ width: m.inputW, height: m.inputH, data: Uint8Array.from({ length: 3 * m.inputW * m.inputH }, (_, i) => (i * 7919) % 256) }]),
    );
    const times: number[][] = models.map(() => []);
    for (let r = 0; r < warmup + runs; r++) {
      for (let k = 0; k < models.length; k++) {
        const ms = await models[k]!.timeRun(inputs[k]!);
        if (r >= warmup) times[k]!.push(ms);
      }
      opts.onProgress?.(r + 1, warmup + runs);
    }
    return modelPaths.map((p, k) => ({ path: p, medianMs: median(times[k]!), minMs: Math.min(...times[k]!), runs, threads }));
  } finally {
    await Promise.all(models.map((m) => m.close()));
  }
}
