/** The accept/reject decision for a candidate model. Pure, so the workflow and tests can call it. */
import type { GateConfig } from '../config/schema.js';

export interface GateModel {
  map50: number;
  map5095: number;
  latencyMs: number;
}

export interface GateInput {
  candidate: GateModel;
  /** the model on the edge now; null when nothing is deployed yet */
  deployed: GateModel | null;
  /** the pre-trained student: the baseline when nothing is deployed */
  pretrained: GateModel;
  gate: Pick<GateConfig, 'minGain' | 'maxLatencyRatio' | 'maxLatencyMs'> & { metric?: GateConfig['metric'] };
}

export interface GateDecision {
  accepted: boolean;
  reason: string;
  /** candidate minus baseline on the gate's metric (absolute) */
  gain: number;
}

/**
 * Latency differences below this are timer and scheduling noise, not a slower model: the ratio
 * check never rejects a candidate within this many ms of the baseline (it matters only for
 * sub-millisecond models, where 0.04 → 0.1 ms would otherwise read as 2.5× slower).
 */
export const LATENCY_NOISE_MS = 0.5;

const f3 = (x: number): string => x.toFixed(3);
const f1 = (x: number): string => x.toFixed(1);

export function decideGate(input: GateInput): GateDecision {
  const { candidate, deployed, pretrained, gate } = input;
  const baseline = deployed ?? pretrained;
  const baselineName = deployed ? 'deployed' : 'pre-trained';
  const metric = gate.metric ?? 'map5095';
  const label = metric === 'map50' ? 'mAP@0.5' : 'mAP@[.5:.95]';
  const gain = candidate[metric] - baseline[metric];
  if (!Number.isFinite(candidate[metric]) || !Number.isFinite(candidate.latencyMs)) {
    return { accepted: false, reason: 'candidate metrics are missing or not finite', gain: Number.isFinite(gain) ? gain : 0 };
  }
  // A tiny epsilon so a gain equal to minGain is not lost to float rounding.
  if (gain + 1e-12 < gate.minGain) {
    return {
      accepted: false,
      reason: `${label} gain ${f3(gain)} over the ${baselineName} model (${f3(baseline[metric])} → ${f3(candidate[metric])}) is below minGain ${f3(gate.minGain)}`,
      gain,
    };
  }
  const maxLatency = Math.max(baseline.latencyMs * gate.maxLatencyRatio, baseline.latencyMs + LATENCY_NOISE_MS);
  if (candidate.latencyMs > maxLatency) {
    return {
      accepted: false,
      reason: `latency ${f1(candidate.latencyMs)} ms exceeds ${gate.maxLatencyRatio}× the ${baselineName} model's ${f1(baseline.latencyMs)} ms`,
      gain,
    };
  }
  if (gate.maxLatencyMs !== undefined && candidate.latencyMs > gate.maxLatencyMs) {
    return { accepted: false, reason: `latency ${f1(candidate.latencyMs)} ms exceeds maxLatencyMs ${gate.maxLatencyMs}`, gain, };
  }
  return {
    accepted: true,
    reason: `${label} ${f3(baseline[metric])} → ${f3(candidate[metric])} (+${f3(gain)}) over the ${baselineName} model at ${f1(candidate.latencyMs)} ms (${baselineName}: ${f1(baseline.latencyMs)} ms)`,
    gain,
  };
}
