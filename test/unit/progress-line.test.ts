import assert from 'node:assert/strict';
import test from 'node:test';
import { formatActivityDetails, formatProgressLine, type LiveStatus } from '../../src/client/tune.js';

const status = (details: unknown, attempt = 1): LiveStatus => ({
  workflowId: 'tune/demo',
  runId: 'r',
  status: 'RUNNING',
  progress: {
    stage: 'train',
    stages: [
      { stage: 'capture', state: 'done' },
      { stage: 'sample', state: 'done' },
      { stage: 'annotate', state: 'done' },
      { stage: 'train', state: 'running' },
    ],
  } as unknown as LiveStatus['progress'],
  activities: [{ type: 'train', attempt, details }],
});

test('the progress line shows a training step inside an epoch, then the finished epoch with its loss', () => {
  assert.equal(formatProgressLine(status({ stage: 'train', event: 'progress', epoch: 1, epochs: 12, phase: 'train', step: 5, steps: 11, images: 40 })),
    '[3/4] train epoch 1/12 step 5/11');
  assert.equal(formatProgressLine(status({ stage: 'train', event: 'progress', epoch: 2, epochs: 12, phase: 'val', step: 1, steps: 4, images: 8 })),
    '[3/4] train epoch 2/12 validation 1/4');
  assert.equal(formatProgressLine(status({ stage: 'train', event: 'epoch', epoch: 2, epochs: 12, loss: 0.81234 })),
    '[3/4] train epoch 2/12 loss 0.8123');
  // a custom trainer's details without steps still read as epochs; other stages keep their counters
  assert.equal(formatProgressLine(status({ stage: 'train', event: 'progress', epoch: 3, epochs: 12 })), '[3/4] train epoch 3/12');
  assert.equal(formatProgressLine(status({ done: 7, total: 111 })), '[3/4] train 7/111');
  assert.equal(formatProgressLine(status({ stage: 'train', event: 'epoch', epoch: 1, epochs: 12, loss: 1 }, 2)),
    '[3/4] train epoch 1/12 loss 1.0000 (attempt 2)');
});

test('activity details in words for `status`; nothing for details it does not know', () => {
  assert.equal(formatActivityDetails({ stage: 'train', event: 'progress', epoch: 4, epochs: 12, phase: 'train', step: 2, steps: 11 }), 'epoch 4/12 step 2/11');
  assert.equal(formatActivityDetails({ framesSoFar: 120 }), '120 frames recorded');
  assert.equal(formatActivityDetails({ decoded: 300 }), '300 frames scored');
  assert.equal(formatActivityDetails({ stage: 'train', custom: 'x' }), '');
  assert.equal(formatActivityDetails(undefined), '');
  assert.equal(formatActivityDetails('text'), '');
});
