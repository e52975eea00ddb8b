import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideGate } from '../../src/gate/gate.js';

const gate = { metric: 'map50' as const, minGain: 0.02, maxLatencyRatio: 1.25 };

test('accepts a better candidate within the latency budget, against the deployed model', () => {
  const d = decideGate({ candidate: { map50: 0.6, map5095: 0, latencyMs: 11 }, deployed: { map50: 0.5, map5095: 0, latencyMs: 10 }, pretrained: { map50: 0.9, map5095: 0, latencyMs: 1 }, gate });
  assert.equal(d.accepted, true);
  assert.ok(Math.abs(d.gain - 0.1) < 1e-12);
  assert.match(d.reason, /deployed/);
});

test('uses the pre-trained model as baseline when nothing is deployed', () => {
  const d = decideGate({ candidate: { map50: 0.3, map5095: 0, latencyMs: 10 }, deployed: null, pretrained: { map50: 0.2, map5095: 0, latencyMs: 10 }, gate });
  assert.equal(d.accepted, true);
  assert.ok(Math.abs(d.gain - 0.1) < 1e-12);
  const r = decideGate({ candidate: { map50: 0.21, map5095: 0, latencyMs: 10 }, deployed: null, pretrained: { map50: 0.2, map5095: 0, latencyMs: 10 }, gate });
  assert.equal(r.accepted, false);
  assert.match(r.reason, /below minGain/);
});

test('a gain exactly at minGain is accepted; just below is rejected', () => {
  assert.equal(decideGate({ candidate: { map50: 0.52, map5095: 0, latencyMs: 10 }, deployed: { map50: 0.5, map5095: 0, latencyMs: 10 }, pretrained: { map50: 0, map5095: 0, latencyMs: 10 }, gate }).accepted, true);
  assert.equal(decideGate({ candidate: { map50: 0.519, map5095: 0, latencyMs: 10 }, deployed: { map50: 0.5, map5095: 0, latencyMs: 10 }, pretrained: { map50: 0, map5095: 0, latencyMs: 10 }, gate }).accepted, false);
});

test('rejects a candidate that is too slow relative to the baseline or the absolute budget', () => {
  const slow = decideGate({ candidate: { map50: 0.9, map5095: 0, latencyMs: 13 }, deployed: { map50: 0.5, map5095: 0, latencyMs: 10 }, pretrained: { map50: 0, map5095: 0, latencyMs: 1 }, gate });
  assert.equal(slow.accepted, false);
  assert.match(slow.reason, /1.25×/);
  const overBudget = decideGate({ candidate: { map50: 0.9, map5095: 0, latencyMs: 12 }, deployed: { map50: 0.5, map5095: 0, latencyMs: 10 }, pretrained: { map50: 0, map5095: 0, latencyMs: 1 }, gate: { ...gate, maxLatencyMs: 11 } });
  assert.equal(overBudget.accepted, false);
  assert.match(overBudget.reason, /maxLatencyMs/);
});

test('sub-millisecond latency noise does not fail the ratio check; above the noise floor the ratio applies', () => {
  const tiny = decideGate({ candidate: { map50: 0.9, map5095: 0, latencyMs: 0.12 }, deployed: null, pretrained: { map50: 0.5, map5095: 0, latencyMs: 0.04 }, gate });
  assert.equal(tiny.accepted, true, tiny.reason);
  const beyondNoise = decideGate({ candidate: { map50: 0.9, map5095: 0, latencyMs: 0.6 }, deployed: null, pretrained: { map50: 0.5, map5095: 0, latencyMs: 0.04 }, gate });
  assert.equal(beyondNoise.accepted, false);
  const slow = decideGate({ candidate: { map50: 0.9, map5095: 0, latencyMs: 2.6 }, deployed: null, pretrained: { map50: 0.5, map5095: 0, latencyMs: 2 }, gate });
  assert.equal(slow.accepted, false, 'at 2 ms, 1.25x (2.5 ms) is the limit, above the 0.5 ms floor');
});

test('a regression is rejected with a negative gain', () => {
  const d = decideGate({ candidate: { map50: 0.4, map5095: 0, latencyMs: 10 }, deployed: { map50: 0.5, map5095: 0, latencyMs: 10 }, pretrained: { map50: 0, map5095: 0, latencyMs: 10 }, gate: { ...gate, minGain: 0 } });
  assert.equal(d.accepted, false);
  assert.ok(d.gain < 0);
});

test('gate.metric map5095: tighter boxes can pass where mAP@0.5 alone would not', () => {
  const base = { minGain: 0.01, maxLatencyRatio: 1.25 };
  const candidate = { map50: 0.80, map5095: 0.60, latencyMs: 10 };
  const pretrained = { map50: 0.80, map5095: 0.50, latencyMs: 10 };
  assert.equal(decideGate({ candidate, deployed: null, pretrained, gate: { ...base, metric: 'map50' } }).accepted, false);
  const d = decideGate({ candidate, deployed: null, pretrained, gate: { ...base, metric: 'map5095' } });
  assert.equal(d.accepted, true);
  assert.ok(Math.abs(d.gain - 0.1) < 1e-9);
  assert.match(d.reason, /mAP@\[\.5:\.95\] 0\.500 → 0\.600/);
});
