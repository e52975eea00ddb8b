import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { NumericArray, OutputTensor } from './decoders/common.js';

/**
 * onnxruntime-node's `session.run` returns a promise but runs the graph synchronously on the
 * calling thread (inside a setImmediate), blocking the event loop for the whole inference. A
 * Temporal worker must keep polling, heartbeating and receiving cancellation meanwhile, so the
 * session lives in a worker thread. The worker is plain JS evaluated from a string: it needs no
 * TypeScript loader and works the same from `tsx` and from compiled output.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'init') {
      session = await ort.InferenceSession.create(workerData.model, workerData.options);
      const meta = (list) => list.map((v) => ({ name: v.name, shape: v.isTensor ? Array.from(v.shape) : [], type: v.isTensor ? v.type : 'other' }));
      parentPort.postMessage({ id: m.id, ok: true, inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });
    } else if (m.op === 'run') {
      const feeds = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const res = await session.run(feeds);
      const out = [];
      const transfer = [];
      for (const name of session.outputNames) {
        const t = res[name];
        // copy: the tensor may view memory owned by onnxruntime, which cannot be transferred
        const data = t.data.slice();
        out.push({ name, dims: Array.from(t.dims), data });
        transfer.push(data.buffer);
      }
      // hand the input buffers back too: the caller refills them for its next frame instead of
      // allocating (and the GC then freeing) a few MB per run
      const back = Object.values(m.feeds).map((t) => t.data);
      for (const d of back) transfer.push(d.buffer);
      parentPort.postMessage({ id: m.id, ok: true, out, back }, transfer);
    } else if (m.op === 'close') {
      if (session) await session.release();
      parentPort.postMessage({ id: m.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, error: String((e && e.message) || e) });
  }
});
`;

export interface ValueInfo {
  name: string;
  shape: (number | string)[];
  type: string;
}

export interface FeedTensor {
  type: 'float32';
  data: Float32Array;
  dims: number[];
}

/** What a run gives back: the outputs, and the feed arrays, free to be refilled. */
export interface RunResult {
  outputs: OutputTensor[];
  /** the feeds' data arrays in feed order (a worker thread transfers them back) */
  inputs: Float32Array[];
}

/** The part of a session the detector needs, wherever the session runs. */
export interface SessionRunner {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /** the feeds' buffers are transferred to the session's thread: use `RunResult.inputs` afterwards */
  run(feeds: Record<string, FeedTensor>): Promise<RunResult>;
  close(): Promise<void>;
}

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  inputs?: ValueInfo[];
  outputs?: ValueInfo[];
  out?: { name: string; dims: number[]; data: NumericArray }[];
  back?: Float32Array[];
}

const require = createRequire(import.meta.url);

export async function createThreadRunner(model: string, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: require.resolve('onnxruntime-node'), model, options } });
  let next = 1;
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let dead: Error | undefined;
  const failAll = (err: Error) => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r);
    else p.reject(new Error(r.error ?? 'onnxruntime worker failed'));
  });
  worker.on('error', (e) => failAll(e));
  worker.on('exit', (code) => failAll(new Error(`onnxruntime worker thread exited (code ${code})`)));
  // Let the process exit while a detector is idle (CLI commands that forget to close it).
  worker.unref();

  const call = (msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> => {
    if (dead) return Promise.reject(dead);
    const id = next++;
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...msg, id }, transfer);
    }).finally(() => {
      if (pending.size === 0) worker.unref();
    });
  };

  let init: Reply;
  try {
    init = await call({ op: 'init' });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    inputs: init.inputs!,
    outputs: init.outputs!,
    async run(feeds) {
      const transfer = Object.values(feeds).map((f) => f.data.buffer as ArrayBuffer);
      const r = await call({ op: 'run', feeds }, transfer);
      return { outputs: r.out!, inputs: r.back ?? [] };
    },
    async close() {
      if (!dead) {
        try {
          await call({ op: 'close' });
        } catch {
          // already gone
        }
      }
      dead ??= new Error('detector closed');
      await worker.terminate();
    },
  };
}

/** Same session on the calling thread: used by the bench's bare-model reference. */
export async function createInlineRunner(model: string, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(model, options);
  let closed = false;
  const meta = (list: readonly InferenceSession.ValueMetadata[]): ValueInfo[] =>
    list.map((v) => ({ name: v.name, shape: v.isTensor ? [...v.shape] : [], type: v.isTensor ? v.type : 'other' }));
  return {
    inputs: meta(session.inputMetadata),
    outputs: meta(session.outputMetadata),
    async run(feeds) {
      const f: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = new ort.Tensor(t.type, t.data, t.dims);
      const res = await session.run(f);
      const outputs = session.outputNames.map((name) => {
        const t = res[name]!;
        return { name, dims: [...t.dims], data: t.data as NumericArray };
      });
      return { outputs, inputs: Object.values(feeds).map((t) => t.data) };
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}

/**
 * Several sessions of one model behind one runner: each run goes to an idle session (or waits for
 * one), so up to `runners.length` frames are inferred at once. Metadata comes from the first.
 * (Queueing runs on busy sessions' threads instead, so they start without waiting for this thread,
 * measured no faster.)
 */
export function createRunnerPool(runners: readonly SessionRunner[]): SessionRunner {
  if (!runners.length) throw new Error('createRunnerPool needs at least one runner');
  if (runners.length === 1) return runners[0]!;
  const idle = [...runners];
  const waiting: Array<(r: SessionRunner) => void> = [];
  let closed = false;
  const acquire = (): Promise<SessionRunner> => {
    const r = idle.pop();
    return r ? Promise.resolve(r) : new Promise((resolve) => waiting.push(resolve));
  };
  const release = (r: SessionRunner): void => {
    const w = waiting.shift();
    if (w) w(r);
    else idle.push(r);
  };
  return {
    inputs: runners[0]!.inputs,
    outputs: runners[0]!.outputs,
    async run(feeds) {
      if (closed) throw new Error('detector closed');
      const r = await acquire();
      try {
        return await r.run(feeds);
      } finally {
        release(r);
      }
    },
    async close() {
      closed = true;
      await Promise.all(runners.map((r) => r.close()));
    },
  };
}
