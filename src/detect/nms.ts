import type { Detection } from './types.js';

export function iou(a: readonly number[], b: readonly number[]): number {
  const ix = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const iy = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const ua = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return ua > 0 ? inter / ua : 0;
}

/**
 * Greedy class-aware NMS: a box only suppresses lower-scored boxes of its own class
 * (a person next to a bicycle must survive). Returns detections sorted by score.
 */
export function nms(dets: readonly Detection[], iouThreshold = 0.5, maxDetections = 300): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const keep: Detection[] = [];
  const removed = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length && keep.length < maxDetections; i++) {
    if (removed[i]) continue;
    const a = sorted[i]!;
    keep.push(a);
    for (let j = i + 1; j < sorted.length; j++) {
      if (removed[j]) continue;
      const b = sorted[j]!;
      if (b.cls === a.cls && iou(a.box, b.box) > iouThreshold) removed[j] = 1;
    }
  }
  return keep;
}

/**
 * Weighted box fusion (class-aware): overlapping boxes from several passes (full frame, crops,
 * flipped) are averaged with their scores as weights instead of keeping only the best one, so
 * agreeing passes refine the box. The fused score is the best member's score: a box seen by one
 * pass only is not penalised (a crop may be the only pass that sees a small object).
 */
export function weightedBoxFusion(dets: readonly Detection[], iouThreshold = 0.55): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const clusters: { cls: number; members: Detection[]; fused: Detection }[] = [];
  for (const d of sorted) {
    let best = -1;
    let bestIou = iouThreshold;
    for (let c = 0; c < clusters.length; c++) {
      const cl = clusters[c]!;
      if (cl.cls !== d.cls) continue;
      const v = iou(cl.fused.box, d.box);
      if (v > bestIou) {
        bestIou = v;
        best = c;
      }
    }
    if (best < 0) {
      clusters.push({ cls: d.cls, members: [d], fused: { cls: d.cls, score: d.score, box: [...d.box] } });
      continue;
    }
    const cl = clusters[best]!;
    cl.members.push(d);
    const w = cl.members.reduce((s, m) => s + m.score, 0);
    const box: [number, number, number, number] = [0, 0, 0, 0];
    for (const m of cl.members) for (let k = 0; k < 4; k++) box[k] += (m.box[k]! * m.score) / w;
    cl.fused = { cls: cl.cls, score: Math.max(cl.fused.score, d.score), box };
  }
  return clusters.map((c) => c.fused).sort((a, b) => b.score - a.score);
}
