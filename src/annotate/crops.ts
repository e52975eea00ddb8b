import { cropFrame } from '../detect/preprocess.js';
import type { Detection, Detector, RgbFrame } from '../detect/types.js';

export interface CropOptions {
  /** crop side = this × the motion region's longer side (context around the object) */
  context: number;
  /** smallest crop side in pixels (below that the teacher sees too little) */
  minSide: number;
  /** skip crops bigger than this share of the frame's shorter side: no zoom gained */
  maxShare: number;
  maxCrops: number;
}

export const DEFAULT_CROPS: CropOptions = { context: 2, minSide: 96, maxShare: 0.6, maxCrops: 4 };

export type Rect = [number, number, number, number];

/**
 * Square crops around motion regions, smallest regions first (distant, small objects gain the
 * most from zooming), overlapping crops merged.
 */
export function planCrops(motion: readonly Rect[], width: number, height: number, o: CropOptions = DEFAULT_CROPS): Rect[] {
  const maxSide = o.maxShare * Math.min(width, height);
  const rects: Rect[] = [];
  const sorted = [...motion].sort((a, b) => (a[2] - a[0]) * (a[3] - a[1]) - (b[2] - b[0]) * (b[3] - b[1]));
  for (const m of sorted) {
    const side = Math.max(o.minSide, o.context * Math.max(m[2] - m[0], m[3] - m[1]));
    if (side > maxSide) continue;
    const cx = (m[0] + m[2]) / 2;
    const cy = (m[1] + m[3]) / 2;
    const x1 = Math.round(Math.min(Math.max(cx - side / 2, 0), width - side));
    const y1 = Math.round(Math.min(Math.max(cy - side / 2, 0), height - side));
    const r: Rect = [x1, y1, x1 + Math.round(side), y1 + Math.round(side)];
    // a crop mostly inside an earlier one adds nothing
    const covered = rects.some((c) => {
      const ix = Math.max(0, Math.min(c[2], r[2]) - Math.max(c[0], r[0]));
      const iy = Math.max(0, Math.min(c[3], r[3]) - Math.max(c[1], r[1]));
      return ix * iy > 0.7 * (r[2] - r[0]) * (r[3] - r[1]);
    });
    if (!covered) rects.push(r);
    if (rects.length >= o.maxCrops) break;
  }
  return rects;
}

/**
 * Run the detector on the crops and map boxes back to the frame. Boxes cut by a crop edge (that
 * is not also the frame edge) are dropped: they are partial objects the full frame sees whole.
 */
export async function detectCrops(detector: Detector, frame: RgbFrame, crops: readonly Rect[]): Promise<Detection[]> {
  if (!crops.length) return [];
  const images = crops.map((c) => cropFrame(frame, c[0], c[1], c[2] - c[0], c[3] - c[1]));
  const results = await detector.detect(images);
  const out: Detection[] = [];
  const edge = 2;
  results.forEach((dets, i) => {
    const [cx, cy] = crops[i]!;
    const cw = images[i]!.width;
    const ch = images[i]!.height;
    for (const d of dets) {
      const [x1, y1, x2, y2] = d.box;
      const cut =
        (x1 <= edge && cx > 0) ||
        (y1 <= edge && cy > 0) ||
        (x2 >= cw - edge && cx + cw < frame.width) ||
        (y2 >= ch - edge && cy + ch < frame.height);
      if (cut) continue;
      out.push({ cls: d.cls, score: d.score, box: [x1 + cx, y1 + cy, x2 + cx, y2 + cy] });
    }
  });
  return out;
}
