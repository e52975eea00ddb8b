import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogEntry } from '@temporalio/worker';
import { CAMERA_MOVED_WARNING } from '../../src/pipeline/progress.js';
import { REPORTED_BY_THE_DEMO, WorkerLogger } from '../../src/worker/logger.js';

const EDGE_WARNING = 'No workflows registered, not polling for workflow tasks';

function capture(level: 'INFO' | 'DEBUG'): { logger: WorkerLogger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { logger: new WorkerLogger(level, (e) => entries.push(e)), entries };
}

test('WorkerLogger: the edge worker\'s expected "no workflows" warning is demoted to DEBUG, other warnings stay', () => {
  const info = capture('INFO');
  info.logger.warn(EDGE_WARNING, { taskQueue: 'autotuner-edge-default' });
  info.logger.warn('Activity heartbeat timed out');
  info.logger.error('worker failed');
  info.logger.debug('hidden at INFO');
  assert.deepEqual(
    info.entries.map((e) => [e.level, e.message]),
    [
      ['WARN', 'Activity heartbeat timed out'],
      ['ERROR', 'worker failed'],
    ],
  );
  // still there for whoever asks for DEBUG, with its metadata
  const debug = capture('DEBUG');
  debug.logger.warn(EDGE_WARNING, { taskQueue: 'autotuner-edge-default' });
  assert.equal(debug.entries.length, 1);
  assert.equal(debug.entries[0]!.level, 'DEBUG');
  assert.deepEqual(debug.entries[0]!.meta, { taskQueue: 'autotuner-edge-default' });
});

test("WorkerLogger: the demo's own workers leave failures and a moved camera to the demo's summary; other workers keep them", () => {
  const entries: LogEntry[] = [];
  const demo = new WorkerLogger('WARN', (e) => entries.push(e), REPORTED_BY_THE_DEMO);
  demo.warn('Activity failed', { error: new Error('x') });
  demo.warn('Workflow failed', { error: new Error('x') });
  demo.warn(CAMERA_MOVED_WARNING, { reason: 'the background changed' });
  demo.warn('Activity heartbeat timed out');
  assert.deepEqual(entries.map((e) => e.message), ['Activity heartbeat timed out']);
  const plain: LogEntry[] = [];
  const worker = new WorkerLogger('WARN', (e) => plain.push(e));
  worker.warn('Workflow failed', { error: new Error('x') });
  worker.warn(CAMERA_MOVED_WARNING);
  assert.deepEqual(plain.map((e) => [e.level, e.message]), [['WARN', 'Workflow failed'], ['WARN', CAMERA_MOVED_WARNING]]);
});
