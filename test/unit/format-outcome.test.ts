import assert from 'node:assert/strict';
import test from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState, TerminatedFailure } from '@temporalio/common';
import { formatOutcome } from '../../src/cli/commands/tune.js';
import { failureSummary } from '../../src/client/tune.js';
import type { TuneOutcome } from '../../src/pipeline/progress.js';

const outcome = (baseline: NonNullable<TuneOutcome['metrics']>['baseline'], pretrained?: { map50: number; map5095: number }): TuneOutcome => ({
  state: 'rejected',
  cameraId: 'demo',
  workflowId: 'tune/demo',
  runId: 'r',
  modelVersion: 'v3',
  metrics: { candidate: { map50: 0.904, map5095: 0.592, latencyMs: 18.4 }, baseline, pretrained, gain: 0 },
  reason: 'mAP@[.5:.95] gain 0.000 over the deployed model (0.592 → 0.592) is below minGain 0.010',
  reportPath: '/r/report.html',
  cameraMoved: false,
});

test('formatOutcome: against a deployed model, the untuned student is shown too (a re-run of the same window is rejected, not lost)', () => {
  const text = formatOutcome(outcome({ map50: 0.904, map5095: 0.592, latencyMs: 18.3, version: 'v1' }, { map50: 0.901, map5095: 0.523 }));
  assert.match(text, /^camera demo: REJECTED v3$/m);
  assert.match(text, /^ {2}mAP@\.5:\.95 {4}0\.592 -> 0\.592 \(\+0\.000\)$/m);
  assert.match(text, /^ {2}pretrained {4}mAP@\.5:\.95 0\.523, mAP@0\.5 0\.901 \(the student before any tuning; candidate \+0\.069\)$/m);
});

test('formatOutcome: no pretrained line when the pretrained student is the baseline, or for an older run without it', () => {
  const first = formatOutcome(outcome({ map50: 0.901, map5095: 0.523, latencyMs: 18.3, version: 'pretrained' }, { map50: 0.901, map5095: 0.523 }));
  assert.match(first, /0\.901 \(pretrained\) -> 0\.904/);
  assert.doesNotMatch(first, /^ {2}pretrained /m);
  const older = formatOutcome(outcome({ map50: 0.904, map5095: 0.592, latencyMs: 18.3, version: 'v1' }));
  assert.doesNotMatch(older, /^ {2}pretrained /m);
});

test('formatOutcome: a skipped run (an empty scene) says why, with no metrics or report', () => {
  const text = formatOutcome({
    state: 'skipped',
    cameraId: 'gate',
    workflowId: 'tune/gate',
    runId: 'r',
    modelVersion: null,
    reason: 'nothing to learn: the teacher found no person in the 24 sampled frames (an empty scene); a window with them in view will train',
    cameraMoved: false,
  });
  assert.equal(text, 'camera gate: SKIPPED\n  reason        nothing to learn: the teacher found no person in the 24 sampled frames (an empty scene); a window with them in view will train');
});

test('formatOutcome: a suggested motion mask is a hint after the reason, and absent without one', () => {
  const base = outcome({ map50: 0.904, map5095: 0.592, latencyMs: 18.3, version: 'v1' });
  const text = formatOutcome({ ...base, restlessRegions: [[0.32, 0.01, 0.39, 0.05]] });
  assert.match(text, /^ {2}HINT {10}\[0\.32, 0\.01, 0\.39, 0\.05\] changed in most frames of this run and the last with nothing moving there$/m);
  assert.match(text, /sample\.motionMask/);
  assert.ok(text.indexOf('HINT') > text.indexOf('reason'));
  assert.doesNotMatch(formatOutcome(base), /HINT/);
});

test('failureSummary: a failed run names the failing activity and the root cause, not the SDK wrappers', () => {
  const root = ApplicationFailure.nonRetryable('trainer: dataset /d has no labels at all\n  at stack', 'TrainerInputError');
  const activity = new ActivityFailure('Activity task failed', 'train', '7', RetryState.NON_RETRYABLE_FAILURE, 'worker@host', root);
  const failed = new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
  assert.equal(failureSummary(failed), 'train failed: trainer: dataset /d has no labels at all');
  // a failure the workflow raised itself (no activity), and a terminated run
  assert.equal(failureSummary(new WorkflowFailedError('Workflow execution failed', ApplicationFailure.nonRetryable('tuneCamera needs {"cameraId"}', 'ConfigError'), RetryState.NON_RETRYABLE_FAILURE)), 'tuneCamera needs {"cameraId"}');
  assert.equal(failureSummary(new WorkflowFailedError('Workflow execution terminated', new TerminatedFailure('stopped by ops'), RetryState.NON_RETRYABLE_FAILURE)), 'stopped by ops');
  assert.equal(failureSummary(new Error('plain')), 'plain');
});
