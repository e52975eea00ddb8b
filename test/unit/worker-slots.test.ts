import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activitySlots } from '../../src/worker/run.js';

test('activities at once per queue: the option, else the environment (checked), else one per camera of an edge site, at least 4', () => {
  // an edge site's captures record in real time: all of its cameras at once
  assert.equal(activitySlots('edge', undefined, {}, 10), 10);
  assert.equal(activitySlots('edge', undefined, {}, 2), 4);
  assert.equal(activitySlots('gpu', undefined, {}), 2);
  assert.equal(activitySlots('edge', undefined, { AUTOTUNER_EDGE_CONCURRENCY: '16' }, 10), 16);
  assert.equal(activitySlots('gpu', undefined, { AUTOTUNER_GPU_CONCURRENCY: '1' }), 1);
  assert.equal(activitySlots('edge', 3, { AUTOTUNER_EDGE_CONCURRENCY: '16' }, 10), 3, 'the option wins');
  // a typo does not become NaN slots or the SDK's default: the worker refuses to start and says which variable
  assert.throws(() => activitySlots('edge', undefined, { AUTOTUNER_EDGE_CONCURRENCY: 'eight' }, 3), /AUTOTUNER_EDGE_CONCURRENCY=eight is not a whole number of 1 or more/);
  assert.throws(() => activitySlots('gpu', undefined, { AUTOTUNER_GPU_CONCURRENCY: '0' }), /AUTOTUNER_GPU_CONCURRENCY=0/);
  assert.equal(activitySlots('gpu', undefined, { AUTOTUNER_GPU_CONCURRENCY: '' }), 2, 'empty is unset');
});
