import { flipHorizontal } from '../detect/preprocess.js';
import type { Detection, Detector, RgbFrame } from '../detect/types.js';
import { detectCrops, type Rect } from './crops.js';

/** Test-time augmentation: detect on the mirrored frame and mirror the boxes back. */
export async function detectFlipped(detector: Detector, frame: RgbFrame): Promise<Detection[]> {
  const [dets] = await detector.detect([flipHorizontal(frame)]);
  const w = frame.width;
  return (dets ?? []).map((d) => ({ cls: d.cls, score: d.score, box: [w - d.box[2], d.box[1], w - d.box[0], d.box[3]] }));
}

/**
 * Overlapping tiles that show the frame `scale` times larger at the model's input size: each tile
 * is 1/scale of the frame's width and height, and there are enough per axis that neighbours
 * overlap by at least a quarter of a tile (an object cut by one tile's edge is whole in the next).
 */
export function planScaleTiles(width: number, height: number, scale: number): Rect[] {
  const tw = Math.max(1, Math.round(width / scale));
  const th = Math.max(1, Math.round(height / scale));
  const per = (full: number, tile: number): number[] => {
    if (tile >= full) return [0];
    // stride at most 3/4 of a tile
    const n = Math.ceil((full - tile) / (0.75 * tile)) + 1;
    return Array.from({ length: n }, (_, i) => Math.round((i * (full - tile)) / (n - 1)));
  };
  const rects: Rect[] = [];
  for (const y of per(height, th)) for (const x of per(width, tw)) rects.push([x, y, x + tw, y + th]);
  return rects;
}

/** The frame in the middle of a `1/scale` times larger canvas of grey 114 (the YOLO pad colour). */
function padCanvas(frame: RgbFrame, scale: number): { canvas: RgbFrame; dx: number; dy: number } {
  const cw = Math.round(frame.width / scale);
  const ch = Math.round(frame.height / scale);
  const dx = Math.floor((cw - frame.width) / 2);
  const dy = Math.floor((ch - frame.height) / 2);
  const data = new Uint8Array(cw * ch * 3).fill(114);
  const row = frame.width * 3;
  for (let y = 0; y < frame.height; y++) data.set(frame.data.subarray(y * row, (y + 1) * row), ((y + dy) * cw + dx) * 3);
  return { canvas: { width: cw, height: ch, data }, dx, dy };
}

/**
 * Test-time augmentation at another scale, for a detector with a fixed input size:
 * - scale > 1 (zoom in): the detector runs on overlapping tiles (planScaleTiles), so objects
 *   reach it `scale` times larger: small, distant objects. Boxes cut by a tile's inner edge are
 *   dropped (another tile, or the full frame, has them whole).
 * - scale < 1 (zoom out): the frame is padded to 1/scale its size, so objects reach it smaller:
 *   people close to the camera that overflow the model's view at full scale.
 * Boxes come back in frame pixels, clipped to the frame.
 */
export async function detectScaled(detector: Detector, frame: RgbFrame, scale: number): Promise<Detection[]> {
  if (!(scale > 0) || scale === 1) return [];
  if (scale > 1) return detectCrops(detector, frame, planScaleTiles(frame.width, frame.height, scale));
  const { canvas, dx, dy } = padCanvas(frame, scale);
  const [dets] = await detector.detect([canvas]);
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  const out: Detection[] = [];
  for (const d of dets ?? []) {
    const box: Detection['box'] = [clip(d.box[0] - dx, frame.width), clip(d.box[1] - dy, frame.height), clip(d.box[2] - dx, frame.width), clip(d.box[3] - dy, frame.height)];
    // nothing left inside the frame: a detection in the padding
    if (box[2] - box[0] >= 1 && box[3] - box[1] >= 1) out.push({ cls: d.cls, score: d.score, box });
  }
  return out;
}
