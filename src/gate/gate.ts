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
  const maxLatency = baseline.latencyMs * gate.maxLatencyRatio;
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
