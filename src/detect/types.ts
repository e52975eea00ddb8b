/** One detection in pixels of the original frame. */
export interface Detection {
  /** class index into the detector's class names */
  cls: number;
  score: number;
  /** [x1, y1, x2, y2] in original-frame pixels */
  box: [number, number, number, number];
}

/** A decoded RGB frame, 3 bytes per pixel, row-major, no padding. */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Detector {
  readonly classNames: readonly string[];
  detect(frames: readonly RgbFrame[]): Promise<Detection[][]>;
  close(): Promise<void>;
}
