/**
 * Parts of a fixed camera's picture that change all the time without anything moving there: the
 * on-screen clock most CCTV cameras burn into their video, a blinking LED, a screen, a flag.
 * Left alone they make every frame "moving" (an empty scene then keeps no empty frames) and give
 * most kept frames a motion box around the clock. Such a region is masked by the camera's
 * `sample.motionMask`; this module turns that config into grid cells and, for a window without a
 * mask there, finds the regions to suggest for it.
 *
 * Why a suggestion and not an automatic mask: how often a cell differs from the background does
 * not tell a clock from a busy walkway reliably. On the demo video the heads along the walkway
 * differ in up to 46 % of the frames; the seconds digits of a burned-in clock in 40–86 %. Masking
 * the walkway would hide the very people the student is to learn, and within one window a person
 * who lingers in one spot differs as often as a clock's digits. So a region is suggested only
 * where a cell differed in 60 % of the frames of this window and of the previous run's (a clock
 * is there in every window, a lingering person in one), grown over the touching cells that
 * differed in a fifth of this window's frames (across one-cell gaps: the digits' spacing), and a
 * person decides.
 */

export type Region = [number, number, number, number];

/** Grid geometry: cells of `step` frame pixels, frame size as decoded (the grid covers whole cells only). */
export interface GridGeometry {
  width: number;
  height: number;
  step: number;
  frameWidth: number;
  frameHeight: number;
}

/** Cells whose centre lies in any region (fractions of the frame); null for no regions. */
export function maskCells(regions: readonly Region[], g: GridGeometry): Uint8Array | null {
  if (!regions.length) return null;
  const mask = new Uint8Array(g.width * g.height);
  for (let y = 0; y < g.height; y++) {
    const cy = ((y + 0.5) * g.step) / g.frameHeight;
    for (let x = 0; x < g.width; x++) {
      const cx = ((x + 0.5) * g.step) / g.frameWidth;
      if (regions.some(([x1, y1, x2, y2]) => cx >= x1 && cx < x2 && cy >= y1 && cy < y2)) mask[y * g.width + x] = 1;
    }
  }
  return mask;
}

export interface RestlessOptions {
  /** a region starts at a cell that differed from the background in at least this share of frames (0.6) */
  seed?: number;
  /** and takes in the cells within two cells that differed in at least this share (0.2) */
  grow?: number;
  /** fewer frames than this tell nothing (a person standing in view for a short window) */
  minFrames?: number;
}

/** Per cell, the share of `frames` in which it differed from the background, ×255 (what the camera's state keeps). */
export function restlessRates(hits: Uint32Array, frames: number): Uint8Array {
  return Uint8Array.from(hits, (h) => (frames > 0 ? Math.round((255 * h) / frames) : 0));
}

/**
 * Regions (fractions of the frame, rounded outward to 0.01) of cells that differed from the
 * background in most of the `frames` scored (`hits[i]` counts the frames in which cell i did)
 * and in most of the previous run's (`previous`: restlessRates of that run, same grid). Without a
 * previous run there are none: within one window a person lingering in one spot can differ as
 * often as a clock's digits (the demo's first 20 s: 67 % at one cell), in two windows hours
 * apart it does not.
 */
export function restlessRegions(hits: Uint32Array, frames: number, g: GridGeometry, previous: Uint8Array | null, opts: RestlessOptions = {}): Region[] {
  const seed = opts.seed ?? 0.6;
  const grow = opts.grow ?? 0.2;
  if (frames < (opts.minFrames ?? 100) || !previous || previous.length !== hits.length) return [];
  const { width: w, height: h } = g;
  const seen = new Uint8Array(w * h);
  const regions: Region[] = [];
  const stack: number[] = [];
  for (let s = 0; s < w * h; s++) {
    if (seen[s] || hits[s]! < seed * frames || previous[s]! < seed * 255) continue;
    let x1 = w, y1 = h, x2 = -1, y2 = -1;
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      x1 = Math.min(x1, x);
      x2 = Math.max(x2, x);
      y1 = Math.min(y1, y);
      y2 = Math.max(y2, y);
      // across a one-cell gap: a clock's digits are apart by their spacing
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const j = ny * w + nx;
          if (!seen[j] && hits[j]! >= grow * frames) {
            seen[j] = 1;
            stack.push(j);
          }
        }
      }
    }
    const down = (v: number): number => Math.max(0, Math.floor(v * 100) / 100);
    const up = (v: number): number => Math.min(1, Math.ceil(v * 100) / 100);
    regions.push([
      down((x1 * g.step) / g.frameWidth),
      down((y1 * g.step) / g.frameHeight),
      up(((x2 + 1) * g.step) / g.frameWidth),
      up(((y2 + 1) * g.step) / g.frameHeight),
    ]);
  }
  return regions;
}

/** What to tell the camera's owner about restless regions: what they may be and the config that masks them. */
export function restlessHint(regions: readonly Region[]): string {
  const list = regions.map((r) => `[${r.join(', ')}]`).join(', ');
  const one = regions.length === 1;
  return (
    `${list} (fractions of the frame) changed in most frames with nothing moving there: an on-screen clock, a blinking light? ` +
    `Add ${one ? 'it' : 'them'} to the camera's sample.motionMask (for a clock, its whole line) so ${one ? 'it stops' : 'they stop'} counting as motion`
  );
}
