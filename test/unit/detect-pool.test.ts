import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inferencePlan } from '../../src/detect/providers.js';
import { createRunnerPool, type FeedTensor, type SessionRunner } from '../../src/detect/session-worker.js';

/** A fake session: echoes its feed after a delay, records how many of its siblings run at once. */
function fakeRunners(n: number, state: { running: number; peak: number; closed: number }): SessionRunner[] {
  return Array.from({ length: n }, (_, id) => ({
    inputs: [{ name: 'images', shape: [1, 3, 8, 8], type: 'float32' }],
    outputs: [{ name: 'out', shape: [1], type: 'float32' }],
    async run(feeds: Record<string, FeedTensor>) {
      state.running++;
      state.peak = Math.max(state.peak, state.running);
      const x = feeds.images!.data;
      await sleep(5 + (x[0]! % 3) * 5);
      state.running--;
      return { outputs: [{ name: 'out', dims: [2], data: new Float32Array([x[0]!, id]) }], inputs: [x] };
    },
    async close() {
      state.closed++;
    },
  }));
}

const feed = (v: number): Record<string, FeedTensor> => ({ images: { type: 'float32', data: new Float32Array([v]), dims: [1] } });

test('runner pool: runs go to idle sessions, never more at once than sessions, each caller gets its own result', async () => {
  const state = { running: 0, peak: 0, closed: 0 };
  const pool = createRunnerPool(fakeRunners(2, state));
  const res = await Promise.all(Array.from({ length: 9 }, (_, i) => pool.run(feed(i))));
  assert.deepEqual(res.map((r) => r.outputs[0]!.data[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(state.peak, 2, 'both sessions were used, never more');
  assert.deepEqual(new Set(res.map((r) => r.outputs[0]!.data[1])), new Set([0, 1]));
  await pool.close();
  assert.equal(state.closed, 2);
  await assert.rejects(pool.run(feed(1)), /closed/);
});

test('runner pool: a failing run frees its session for the next caller', async () => {
  const state = { running: 0, peak: 0, closed: 0 };
  const [ok] = fakeRunners(1, state);
  let calls = 0;
  const flaky: SessionRunner = { ...ok!, run: (f) => (++calls === 1 ? Promise.reject(new Error('bad input')) : ok!.run(f)) };
  const pool = createRunnerPool([flaky, { ...flaky }]);
  await assert.rejects(pool.run(feed(1)), /bad input/);
  const r = await Promise.all([pool.run(feed(2)), pool.run(feed(3)), pool.run(feed(4))]);
  assert.deepEqual(r.map((x) => x.outputs[0]!.data[0]), [2, 3, 4]);
});

test('inference plan: frames in parallel on CPU, every op thread used; one session on GPUs', () => {
  assert.deepEqual(inferencePlan('cpu', {}, 2), { sessions: 2, threads: [1, 1] });
  assert.deepEqual(inferencePlan('cpu', {}, 16), { sessions: 4, threads: [4, 4, 4, 4] });
  assert.deepEqual(inferencePlan('cpu', {}, 7), { sessions: 4, threads: [2, 2, 2, 1] }, 'no core left idle');
  assert.deepEqual(inferencePlan('cpu', {}, 1), { sessions: 1, threads: [1] });
  assert.deepEqual(inferencePlan('cpu', { threads: 1 }, 16), { sessions: 1, threads: [1] });
  assert.deepEqual(inferencePlan('cpu', { sessions: 1 }, 8), { sessions: 1, threads: [8] });
  assert.deepEqual(inferencePlan('cpu', { threads: 2, sessions: 3 }, 8), { sessions: 2, threads: [1, 1] }, 'no more sessions than threads');
  assert.deepEqual(inferencePlan('cuda', {}, 16), { sessions: 1, threads: [16] });
  assert.deepEqual(inferencePlan('cuda', { sessions: 2 }, 16), { sessions: 2, threads: [8, 8] });
});
