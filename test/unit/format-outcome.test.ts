import assert from 'node:assert/strict';
import test from 'node:test';
import { formatOutcome } from '../../src/cli/commands/tune.js';
import type { TuneOutcome } from '../../src/pipeline/progress.js';

const outcome = (baseline: TuneOutcome['metrics']['baseline'], pretrained?: { map50: number; map5095: number }): TuneOutcome => ({
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
