import { iou } from '../detect/nms.js';
import type { Detection } from '../detect/types.js';

export interface TimedDetections {
  t: number;
  dets: Detection[];
}

export interface TemporalOptions {
  /** neighbouring sampled frames within ± this many seconds are compared */
  windowSec: number;
  /** same class and at least this IoU = the same object in a neighbour (objects move a little) */
  matchIou: number;
  /** score factor for a detection no neighbour confirms */
  isolatedFactor: number;
  /** score gain at full confirmation (every neighbour matches): score × (1 + gain × share) */
  confirmedGain: number;
}

export const DEFAULT_TEMPORAL: TemporalOptions = { windowSec: 2, matchIou: 0.3, isolatedFactor: 0.6, confirmedGain: 0.25 };

/**
 * Temporal consistency on a static camera: a real object is seen again in neighbouring frames,
 * a flicker is not. Isolated detections are down-weighted (and fall under the threshold unless
 * confident), persistent ones gain a little. Frames without neighbours are left as they are.
 */
export function temporalConsistency(frames: readonly TimedDetections[], o: TemporalOptions = DEFAULT_TEMPORAL): Detection[][] {
  return frames.map((f, i) => {
    const neighbours = frames.filter((g, j) => j !== i && Math.abs(g.t - f.t) <= o.windowSec);
    if (!neighbours.length) return f.dets.map((d) => ({ ...d }));
    return f.dets.map((d) => {
      let matches = 0;
      for (const g of neighbours) if (g.dets.some((e) => e.cls === d.cls && iou(e.box, d.box) >= o.matchIou)) matches++;
      const score = matches === 0 ? d.score * o.isolatedFactor : Math.min(1, d.score * (1 + (o.confirmedGain * matches) / neighbours.length));
      return { cls: d.cls, score, box: d.box };
    });
  });
}

export interface StaticOptions {
  /** same class and at least this IoU = the same place */
  iou: number;
  /** static when found at the same place in at least this share of the other frames */
  share: number;
  /** too few frames to tell what never moves */
  minFrames: number;
}

export const DEFAULT_STATIC: StaticOptions = { iou: 0.8, share: 0.6, minFrames: 5 };

/**
 * Static false positives: a "person" that sits at the same place in most frames of the window is
 * a poster, a statue or a parked thing the teacher mislabels. Returns which detections are static.
 */
export function findStatic(frames: readonly TimedDetections[], o: StaticOptions = DEFAULT_STATIC): boolean[][] {
  const n = frames.length;
  if (n < o.minFrames) return frames.map((f) => f.dets.map(() => false));
  return frames.map((f, i) =>
    f.dets.map((d) => {
      let same = 0;
      for (let j = 0; j < n; j++) {
        if (j !== i && frames[j]!.dets.some((e) => e.cls === d.cls && iou(e.box, d.box) >= o.iou)) same++;
      }
      return same / (n - 1) >= o.share;
    }),
  );
}
