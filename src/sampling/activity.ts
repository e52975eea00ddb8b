import type { GreyGrid } from './grid.js';

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
}

interface Scratch {
  fg: Uint8Array;
  rows: Uint8Array;
  dil: Uint8Array;
  label: Int32Array;
  stack: Int32Array;
}
let scratch: Scratch | null = null;
/** Reused work buffers: allocating them per frame was a visible share of GC time. */
function scratchFor(n: number): Scratch {
  if (!scratch || scratch.fg.length !== n) {
    scratch = { fg: new Uint8Array(n), rows: new Uint8Array(n), dil: new Uint8Array(n), label: new Int32Array(n), stack: new Int32Array(n) };
  }
  return scratch;
}

/**
 * Activity of one frame against the background: foreground mask, dilated once so a person's
 * fragments join, connected components, boxes scaled back to frame pixels.
 */
export function scoreActivity(grid: GreyGrid, background: Uint8Array, frameW: number, frameH: number, opts: ActivityOptions = {}): Activity {
  const { width: w, height: h, step, data } = grid;
  const n = w * h;
  const thr = opts.diffThreshold ?? 25;
  const minBlob = opts.minBlobCells ?? Math.max(3, Math.round(n * 0.0004));
  const { fg, rows, dil, label, stack } = scratchFor(n);
  fg.fill(0);
  let any = 0;
  for (let i = 0; i < n; i++) {
    if (Math.abs(data[i]! - background[i]!) > thr) {
      fg[i] = 1;
      any++;
    }
  }
  if (any < minBlob) return { score: 0, motion: [] };
  // 3x3 dilation (separable: rows then columns)
  rows.fill(0);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      if (fg[o + x] || (x > 0 && fg[o + x - 1]) || (x < w - 1 && fg[o + x + 1])) rows[o + x] = 1;
    }
  }
  dil.fill(0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (rows[i] || (y > 0 && rows[i - w]) || (y < h - 1 && rows[i + w])) dil[i] = 1;
    }
  }
  label.fill(0);
  const motion: Box[] = [];
  let moving = 0;
  let next = 0;
  for (let s = 0; s < n; s++) {
    if (!dil[s] || label[s]) continue;
    next++;
    let sp = 0;
    stack[sp++] = s;
    label[s] = next;
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
      if (x > 0 && dil[i - 1] && !label[i - 1]) { label[i - 1] = next; stack[sp++] = i - 1; }
      if (x < w - 1 && dil[i + 1] && !label[i + 1]) { label[i + 1] = next; stack[sp++] = i + 1; }
      if (y > 0 && dil[i - w] && !label[i - w]) { label[i - w] = next; stack[sp++] = i - w; }
      if (y < h - 1 && dil[i + w] && !label[i + w]) { label[i + w] = next; stack[sp++] = i + w; }
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
