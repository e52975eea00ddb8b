/**
 * Sensor noise and the motion threshold. A camera at night runs its sensor at high gain: every
 * pixel flickers by ten or more grey levels from frame to frame. The grid reads one pixel per
 * cell, so against a fixed threshold a still night scene scattered "moving" cells over every
 * frame, which the blob search joined into a dozen or more motion boxes a frame: the sampler could
 * not tell it from a scene with people walking. The threshold therefore rises with the frame's
 * noise, measured against the background the frame is compared with.
 */

/** The threshold a day picture needs (grey levels, 0..255): sample.ts's fixed one before. */
export const BASE_DIFF_THRESHOLD = 25;
/**
 * Noise deviations a cell must differ by to count as foreground. At 4, Gaussian noise puts a cell
 * over it once in ~16,000, under one cell a frame on a 96x72 grid; measured on the demo scene
 * darkened with noise (σ ≈ 13): 3 left 13 % of still frames with a box, 3.5 under 1 %, 4 none,
 * and people walking there were still found in every frame.
 */
const NOISE_DEVIATIONS = 4;
/**
 * A bound all the same: past it (σ over 24) noise hides people too. Not lower: while the
 * background is still being built from a few noisy frames, a frame differs from it by √2 σ and
 * more (~19 at night); a bound of 64 left the first second of a still night scene full of boxes.
 */
const MAX_DIFF_THRESHOLD = 96;
/** Every third cell: ~2,300 of a 96x72 grid estimate the median to a grey level or so. */
const STRIDE = 3;

const hist = new Uint32Array(256);

/**
 * The frame's noise as a standard deviation in grey levels: 1.4826 × the median of |grid −
 * background| over a sample of cells. A static camera's picture is mostly background, so the
 * median difference is the noise's (for Gaussian noise, median |x| = 0.6745 σ); people and cars,
 * a few percent of the cells, hardly move it (a tenth of the cells moving: +13 %; a quarter: +43 %,
 * a threshold that much higher in a frame full of motion anyway).
 */
export function noiseSigma(grid: Uint8Array, background: Uint8Array): number {
  const n = Math.min(grid.length, background.length);
  if (n === 0) return 0;
  hist.fill(0);
  let m = 0;
  for (let i = 0; i < n; i += STRIDE) {
    const d = grid[i]! - background[i]!;
    hist[d < 0 ? -d : d]!++;
    m++;
  }
  const half = m / 2;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[v]!;
    if (seen >= half) return 1.4826 * v;
  }
  return 1.4826 * 255;
}

/** Grey difference that counts as motion in a frame with this noise: the day threshold, raised for noisy frames. */
export function motionThreshold(sigma: number): number {
  return Math.min(MAX_DIFF_THRESHOLD, Math.max(BASE_DIFF_THRESHOLD, Math.ceil(NOISE_DEVIATIONS * sigma)));
}
