import type { GreyGrid } from './grid.js';
import { foregroundCells } from './grid-simd.js';

export type Box = [number, number, number, number];

export interface Activity {
  /** share of the frame covered by moving blobs, 0..1 */
  score: number;
  /** boxes around moving blobs, [x1,y1,x2,y2] in frame pixels */
  motion: Box[];
}

export interface ActivityOptions {
  /** grey difference to the background that counts as foreground */
  diffThreshold?: number;
  /** blobs with fewer foreground cells are noise */
  minBlobCells?: number;
  /** cells (1) whose changes are not motion: the camera's motion mask (sample.motionMask) */
  ignore?: Uint8Array | null;
  /** counts, per cell, the frames in which it differed from the background (outside `ignore`) */
  hits?: Uint32Array | null;
}

interface Scratch {
  fg: Uint8Array;
  dil: Uint8Array;
  /** visited stamps: a cell is visited in this call when it holds this call's stamp (no clearing per frame) */
  seen: Uint32Array;
  stack: Int32Array;
  /** foreground cell indices, in index order */
  list: Int32Array;
}
let scratch: Scratch | null = null;
let stamp = 0;
/** Reused work buffers: allocating them per frame was a visible share of GC time. */
function scratchFor(n: number): Scratch {
  if (!scratch || scratch.fg.length !== n) {
    scratch = { fg: new Uint8Array(n), dil: new Uint8Array(n), seen: new Uint32Array(n), stack: new Int32Array(n), list: new Int32Array(n) };
    stamp = 0;
  }
  return scratch;
}

/** Remove the masked cells from the first `count` of `list` (in place, order kept); returns how many are left. */
function dropIgnored(list: Int32Array, count: number, ignore: Uint8Array): number {
  let kept = 0;
  for (let k = 0; k < count; k++) {
    const i = list[k]!;
    if (!ignore[i]) list[kept++] = i;
  }
  return kept;
}

/**
 * Share of the grid's cells (outside `ignore`) that differ from the background by more than
 * `threshold`, blobs or not: how much of the picture changed at once (the camera-moved check).
 */
export function changedShare(grid: GreyGrid, background: Uint8Array, threshold: number, ignore?: Uint8Array | null): number {
  const n = grid.width * grid.height;
  const { list } = scratchFor(n);
  let count = foregroundCells(grid.data.length === n ? grid.data : grid.data.subarray(0, n), background, threshold, list);
  if (ignore) count = dropIgnored(list, count, ignore);
  return n ? count / n : 0;
}

/**
 * Activity of one frame against the background: foreground mask, dilated once (3x3) so a
 * person's fragments join, connected components (4-connected, on the dilated mask), boxes around
 * each component's foreground, scaled back to frame pixels. Runs once per decoded frame on the
 * thread that reads ffmpeg's pipe, so it only touches the foreground cells and their neighbours
 * after one pass over the grid (a static scene is mostly background).
 */
export function scoreActivity(grid: GreyGrid, background: Uint8Array, frameW: number, frameH: number, opts: ActivityOptions = {}): Activity {
  const { width: w, height: h, step, data } = grid;
  const n = w * h;
  const thr = opts.diffThreshold ?? 25;
  const minBlob = opts.minBlobCells ?? Math.max(3, Math.round(n * 0.0004));
  const { fg, dil, seen, stack, list } = scratchFor(n);
  let any = foregroundCells(data.length === n ? data : data.subarray(0, n), background, thr, list);
  if (opts.ignore) any = dropIgnored(list, any, opts.ignore);
  if (opts.hits) for (let k = 0; k < any; k++) opts.hits[list[k]!]!++;
  if (any < minBlob) return { score: 0, motion: [] };
  fg.fill(0);
  dil.fill(0);
  for (let k = 0; k < any; k++) {
    const i = list[k]!;
    fg[i] = 1;
    const x = i % w;
    const y = (i - x) / w;
    const xa = x > 0 ? x - 1 : x;
    const xb = x < w - 1 ? x + 1 : x;
    const ya = y > 0 ? y - 1 : y;
    const yb = y < h - 1 ? y + 1 : y;
    for (let yy = ya; yy <= yb; yy++) {
      const o = yy * w;
      for (let xx = xa; xx <= xb; xx++) dil[o + xx] = 1;
    }
  }
  if (++stamp === 0xffffffff) {
    seen.fill(0);
    stamp = 1;
  }
  const mark = stamp;
  const motion: Box[] = [];
  let moving = 0;
  // every component of the dilated mask holds a foreground cell: seed from those, in index order
  for (let k = 0; k < any; k++) {
    const s = list[k]!;
    if (seen[s] === mark) continue;
    let sp = 0;
    stack[sp++] = s;
    seen[s] = mark;
    let x1 = w, y1 = h, x2 = -1, y2 = -1, count = 0;
    while (sp > 0) {
      const i = stack[--sp]!;
      const x = i % w;
      const y = (i - x) / w;
      if (fg[i]) {
        // the box hugs the foreground itself; dilation only joins the fragments
        count++;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
      if (x > 0 && dil[i - 1] && seen[i - 1] !== mark) { seen[i - 1] = mark; stack[sp++] = i - 1; }
      if (x < w - 1 && dil[i + 1] && seen[i + 1] !== mark) { seen[i + 1] = mark; stack[sp++] = i + 1; }
      if (y > 0 && dil[i - w] && seen[i - w] !== mark) { seen[i - w] = mark; stack[sp++] = i - w; }
      if (y < h - 1 && dil[i + w] && seen[i + w] !== mark) { seen[i + w] = mark; stack[sp++] = i + w; }
    }
    if (count < minBlob) continue;
    moving += count;
    motion.push([
      Math.min(frameW, x1 * step),
      Math.min(frameH, y1 * step),
      Math.min(frameW, (x2 + 1) * step),
      Math.min(frameH, (y2 + 1) * step),
    ]);
  }
  return { score: moving / n, motion };
}
