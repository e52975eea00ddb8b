/**
 * Detection mAP, computed the way pycocotools' COCOeval does for bbox, area 'all', maxDets 100:
 * greedy matching by score, 101-point interpolated precision, IoU thresholds .50:.05:.95.
 * Kept numerically identical to COCOeval so numbers in reports agree with the tools users know.
 */

export type Box = [number, number, number, number];

export interface GtBox {
  cls: number;
  /** [x1, y1, x2, y2] pixels */
  box: Box;
}

export interface DetBox extends GtBox {
  score: number;
}

/** Ground truth and detections of one image (frame). */
export interface EvalImage {
  gts: readonly GtBox[];
  dets: readonly DetBox[];
}

export interface ClassAp {
  ap50: number;
  ap5095: number;
  /** number of ground-truth boxes */
  gts: number;
  /** number of detections considered (after the per-image maxDets cut) */
  dets: number;
}

export interface PrCurve {
  /** the 101 recall thresholds 0, 0.01, ..., 1 */
  recall: number[];
  /** interpolated precision at IoU 0.5 (0 where that recall is never reached) */
  precision: number[];
}

export interface MapResult {
  map50: number;
  map5095: number;
  /** classes that have ground truth; classes without any are left out of the means (as COCOeval does) */
  perClass: Record<string, ClassAp>;
  prCurves: Record<string, PrCurve>;
  /** number of classes that entered the means */
  evaluatedClasses: number;
}

export interface MapOptions {
  maxDets?: number;
}

// Same float construction as np.linspace so threshold comparisons behave identically.
export const IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : 0.5 + i * ((0.95 - 0.5) / 9)));
export const RECALL_THRESHOLDS: readonly number[] = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * (1 / 100)));

/** IoU as COCO computes it for boxes (no +1 pixel convention). */
export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? inter / ua : 0;
}

/** Index of the first element >= x in a non-decreasing array (np.searchsorted side='left'). */
function searchLeft(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Scored {
  score: number;
  /** matched per IoU threshold */
  tp: boolean[];
}

/** 101-point interpolated precision for one class and one IoU threshold (COCOeval.accumulate). */
function interpolatedPrecision(sorted: readonly Scored[], t: number, nGt: number): number[] {
  const nd = sorted.length;
  const rc = new Array<number>(nd);
  const pr = new Array<number>(nd);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < nd; i++) {
    if (sorted[i]!.tp[t]) tp++;
    else fp++;
    rc[i] = tp / nGt;
    pr[i] = tp / (fp + tp + Number.EPSILON);
  }
  for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
  return RECALL_THRESHOLDS.map((r) => {
    const k = searchLeft(rc, r);
    return k < nd ? pr[k]! : 0;
  });
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/**
 * mAP@0.5 and mAP@[.5:.95] over `images`, per class and overall. `classNames[i]` names class i.
 * Overall values are means over classes with ground truth (0 when no class has any).
 */
export function evaluateDetections(images: readonly EvalImage[], classNames: readonly string[], opts: MapOptions = {}): MapResult {
  const maxDets = opts.maxDets ?? 100;
  const T = IOU_THRESHOLDS.length;
  const perClass: Record<string, ClassAp> = {};
  const prCurves: Record<string, PrCurve> = {};
  const ap50s: number[] = [];
  const ap5095s: number[] = [];

  for (let c = 0; c < classNames.length; c++) {
    const scored: Scored[] = [];
    let nGt = 0;
    for (const img of images) {
      const gts = img.gts.filter((g) => g.cls === c);
      nGt += gts.length;
      // COCOeval: stable sort by descending score, then keep the top maxDets per image and class.
      const dets = img.dets
        .filter((d) => d.cls === c)
        .map((d, i) => ({ d, i }))
        .sort((a, b) => b.d.score - a.d.score || a.i - b.i)
        .slice(0, maxDets)
        .map((x) => x.d);
      if (!dets.length) continue;
      const ious = dets.map((d) => gts.map((g) => iou(d.box, g.box)));
      const matched = IOU_THRESHOLDS.map(() => new Array<boolean>(gts.length).fill(false));
      const tps = dets.map(() => new Array<boolean>(T).fill(false));
      for (let t = 0; t < T; t++) {
        for (let di = 0; di < dets.length; di++) {
          let best = Math.min(IOU_THRESHOLDS[t]!, 1 - 1e-10);
          let m = -1;
          for (let gi = 0; gi < gts.length; gi++) {
            if (matched[t]![gi]) continue;
            if (ious[di]![gi]! < best) continue;
            best = ious[di]![gi]!;
            m = gi;
          }
          if (m >= 0) {
            matched[t]![m] = true;
            tps[di]![t] = true;
          }
        }
      }
      dets.forEach((d, di) => scored.push({ score: d.score, tp: tps[di]! }));
    }
    if (nGt === 0) continue;
    // Stable: ties keep image order, as np.argsort(kind='mergesort') does.
    const order = scored.map((s, i) => ({ s, i })).sort((a, b) => b.s.score - a.s.score || a.i - b.i).map((x) => x.s);
    const precisions = IOU_THRESHOLDS.map((_, t) => interpolatedPrecision(order, t, nGt));
    const apPerT = precisions.map(mean);
    const name = classNames[c]!;
    perClass[name] = { ap50: apPerT[0]!, ap5095: mean(apPerT), gts: nGt, dets: order.length };
    prCurves[name] = { recall: [...RECALL_THRESHOLDS], precision: precisions[0]! };
    ap50s.push(apPerT[0]!);
    ap5095s.push(mean(apPerT));
  }
  return { map50: mean(ap50s), map5095: mean(ap5095s), perClass, prCurves, evaluatedClasses: ap50s.length };
}
