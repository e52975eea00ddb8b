import { flipHorizontal } from '../detect/preprocess.js';
import type { Detection, Detector, RgbFrame } from '../detect/types.js';

/** Test-time augmentation: detect on the mirrored frame and mirror the boxes back. */
export async function detectFlipped(detector: Detector, frame: RgbFrame): Promise<Detection[]> {
  const [dets] = await detector.detect([flipHorizontal(frame)]);
  const w = frame.width;
  return (dets ?? []).map((d) => ({ cls: d.cls, score: d.score, box: [w - d.box[2], d.box[1], w - d.box[0], d.box[3]] }));
}
