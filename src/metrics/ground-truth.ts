/**
 * Human ground truth readers: MOTChallenge `gt.txt` and COCO JSON → boxes per frame key, with
 * class names, in the ground truth's own pixel space (callers rescale to the dataset's frames).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Box } from './map.js';

export interface GtObject {
  className: string;
  box: Box;
}

export interface GroundTruth {
  /** frame key → boxes. MOT: the 1-based frame number as a string; COCO: the file name without extension (and its number, if numeric). */
  frames: Map<string, GtObject[]>;
  width?: number;
  height?: number;
  /** frame rate of the annotated sequence (MOT seqinfo.ini) */
  fps?: number;
}

export class GroundTruthError extends Error {
  override name = 'GroundTruthError';
}

/** MOT classes (MOT16/17/20): 1 pedestrian, 2 person on vehicle, 7 static person. Distractors and vehicles are left out. */
const MOT_PERSON = new Set([1, 2, 7]);

async function readSeqinfo(gtFile: string): Promise<{ width?: number; height?: number; fps?: number }> {
  for (const p of [path.join(path.dirname(gtFile), 'seqinfo.ini'), path.join(path.dirname(gtFile), '..', 'seqinfo.ini')]) {
    try {
      const text = await readFile(p, 'utf8');
      const get = (k: string) => {
        const m = new RegExp(`^\\s*${k}\\s*=\\s*([\\d.]+)`, 'mi').exec(text);
        return m ? Number(m[1]) : undefined;
      };
      const out: { width?: number; height?: number; fps?: number } = {};
      const w = get('imWidth');
      const h = get('imHeight');
      const f = get('frameRate');
      if (w) out.width = w;
      if (h) out.height = h;
      if (f) out.fps = f;
      return out;
    } catch {
      // no seqinfo.ini here
    }
  }
  return {};
}

/**
 * MOT `frame,id,left,top,width,height,conf[,class,visibility]`. Rows with conf 0 are "ignore"
 * rows in MOT16+ and are dropped; 7+ column rows without a class (MOT15) are all persons.
 */
export async function readMotGroundTruth(file: string): Promise<GroundTruth> {
  const frames = new Map<string, GtObject[]>();
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const f = line.split(',').map((x) => Number(x.trim()));
    if (f.length < 6 || f.slice(0, 6).some((x) => !Number.isFinite(x))) throw new GroundTruthError(`${file}:${i + 1}: expected "frame,id,left,top,width,height,conf,class,visibility"`);
    const [frame, , x, y, w, h] = f as [number, number, number, number, number, number];
    if (f.length >= 7 && f[6] === 0) return;
    if (f.length >= 9 && !MOT_PERSON.has(f[7]!)) return;
    const key = String(frame);
    const list = frames.get(key) ?? [];
    list.push({ className: 'person', box: [x, y, x + w, y + h] });
    frames.set(key, list);
  });
  return { frames, ...(await readSeqinfo(file)) };
}

interface CocoJson {
  images?: { id: number; file_name: string; width?: number; height?: number }[];
  annotations?: { image_id: number; category_id: number; bbox: [number, number, number, number]; iscrowd?: number }[];
  categories?: { id: number; name: string }[];
}

export async function readCocoGroundTruth(file: string): Promise<GroundTruth> {
  let json: CocoJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as CocoJson;
  } catch (err) {
    throw new GroundTruthError(`${file} is not valid COCO JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(json.images) || !Array.isArray(json.annotations) || !Array.isArray(json.categories)) {
    throw new GroundTruthError(`${file}: COCO JSON needs "images", "annotations" and "categories" arrays`);
  }
  const cats = new Map(json.categories.map((c) => [c.id, c.name]));
  const keysOf = new Map<number, string[]>();
  const frames = new Map<string, GtObject[]>();
  for (const img of json.images) {
    const stem = path.basename(img.file_name).replace(/\.[^.]+$/, '');
    const keys = [stem];
    if (/^\d+$/.test(stem)) keys.push(String(Number(stem)));
    keysOf.set(img.id, keys);
    for (const k of keys) if (!frames.has(k)) frames.set(k, []);
  }
  for (const a of json.annotations) {
    if (a.iscrowd) continue;
    const name = cats.get(a.category_id);
    const keys = keysOf.get(a.image_id);
    if (!name || !keys) continue;
    const [x, y, w, h] = a.bbox;
    // the same object list is shared by both keys of an image
    frames.get(keys[0]!)!.push({ className: name, box: [x, y, x + w, y + h] });
    if (keys[1]) frames.set(keys[1], frames.get(keys[0]!)!);
  }
  const first = json.images[0];
  return { frames, ...(first?.width ? { width: first.width } : {}), ...(first?.height ? { height: first.height } : {}) };
}

export async function readGroundTruth(file: string, format: 'mot' | 'coco'): Promise<GroundTruth> {
  return format === 'mot' ? readMotGroundTruth(file) : readCocoGroundTruth(file);
}

/**
 * Ground truth of one dataset frame: by its name, else by its source frame number
 * (round(t · fps) + 1, MOT numbering), rescaled to the dataset's frame size.
 * Returns null when the frame is not annotated (it is then left out of the evaluation).
 */
export function groundTruthForFrame(
  gt: GroundTruth,
  frame: { name: string; t: number },
  opts: { fps: number; width: number; height: number },
): GtObject[] | null {
  const byNumber = String(Math.round(frame.t * (gt.fps ?? opts.fps)) + 1);
  const objs = gt.frames.get(frame.name) ?? gt.frames.get(byNumber);
  if (!objs) return null;
  const sx = gt.width ? opts.width / gt.width : 1;
  const sy = gt.height ? opts.height / gt.height : 1;
  return objs.map((o) => ({ className: o.className, box: [o.box[0] * sx, o.box[1] * sy, o.box[2] * sx, o.box[3] * sy] }));
}
