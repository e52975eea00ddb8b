import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeJsonAtomic } from '../artifacts/store.js';
import type { Detection } from '../detect/types.js';

/** dataset.json (DESIGN.md "Dataset"). */
export interface DatasetMeta {
  cameraId: string;
  source: string;
  /** class names, label `cls` indexes into this */
  classes: string[];
  teacher: { model: string; imgsz: number; minScore: number; classScores: Record<string, number>; crops: boolean; tta: boolean; ttaScales?: number[] };
  frames: { name: string; t: number; split: 'train' | 'val' }[];
  width: number;
  height: number;
  stats: Record<string, unknown>;
}

export interface DatasetFrameInput {
  name: string;
  t: number;
  split: 'train' | 'val';
  /** the JPEG to copy into images/ */
  image: string;
  width: number;
  height: number;
  /** boxes in frame pixels, cls = index into meta.classes */
  labels: readonly Detection[];
}

const f6 = (v: number) => (Math.round(v * 1e6) / 1e6).toFixed(6);

/** One YOLO label line: `cls cx cy w h score`, coordinates normalized to 0..1. */
export function labelLine(d: Detection, width: number, height: number): string {
  const x1 = Math.max(0, Math.min(width, d.box[0]));
  const y1 = Math.max(0, Math.min(height, d.box[1]));
  const x2 = Math.max(0, Math.min(width, d.box[2]));
  const y2 = Math.max(0, Math.min(height, d.box[3]));
  return `${d.cls} ${f6((x1 + x2) / 2 / width)} ${f6((y1 + y2) / 2 / height)} ${f6((x2 - x1) / width)} ${f6((y2 - y1) / height)} ${f6(d.score)}`;
}

/** Write a YOLO-layout dataset into `dir` (images/, labels/, dataset.json). Empty frames get empty label files. */
export async function writeYoloDataset(dir: string, meta: Omit<DatasetMeta, 'frames'>, frames: readonly DatasetFrameInput[]): Promise<DatasetMeta> {
  await mkdir(path.join(dir, 'images'), { recursive: true });
  await mkdir(path.join(dir, 'labels'), { recursive: true });
  for (const f of frames) {
    await copyFile(f.image, path.join(dir, 'images', `${f.name}.jpg`));
    const lines = f.labels.filter((d) => d.box[2] > d.box[0] && d.box[3] > d.box[1]).map((d) => labelLine(d, f.width, f.height));
    await writeFile(path.join(dir, 'labels', `${f.name}.txt`), lines.length ? lines.join('\n') + '\n' : '');
  }
  const full: DatasetMeta = { ...meta, frames: frames.map((f) => ({ name: f.name, t: f.t, split: f.split })) };
  await writeJsonAtomic(path.join(dir, 'dataset.json'), full);
  return full;
}

export interface DatasetLabel {
  cls: number;
  /** normalized centre/size as stored */
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** teacher score (1 when the file has no score column, e.g. human labels) */
  score: number;
  /** [x1,y1,x2,y2] in pixels of the dataset's frame size */
  box: [number, number, number, number];
}

export interface DatasetFrame {
  name: string;
  t: number;
  split: 'train' | 'val';
  /** absolute path of the image */
  image: string;
  labels: DatasetLabel[];
}

export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** Parse one label file's text (5 or 6 columns per line). */
export function parseLabels(text: string, width: number, height: number, where = 'labels'): DatasetLabel[] {
  const out: DatasetLabel[] = [];
  text.split('\n').forEach((line, n) => {
    const s = line.trim();
    if (!s) return;
    const v = s.split(/\s+/).map(Number);
    if ((v.length !== 5 && v.length !== 6) || v.some((x) => !Number.isFinite(x))) {
      throw new DatasetError(`${where}:${n + 1}: expected "cls cx cy w h [score]", got "${s}"`);
    }
    const [cls, cx, cy, w, h] = v as [number, number, number, number, number];
    out.push({
      cls,
      cx,
      cy,
      w,
      h,
      score: v[5] ?? 1,
      box: [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height],
    });
  });
  return out;
}

/** Read a dataset written by writeYoloDataset (the validate step reads labels back with this). */
export async function readYoloDataset(dir: string): Promise<{ meta: DatasetMeta; frames: DatasetFrame[] }> {
  let meta: DatasetMeta;
  try {
    meta = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8')) as DatasetMeta;
  } catch (err) {
    throw new DatasetError(`dataset ${dir} has no readable dataset.json: ${(err as Error).message}`);
  }
  const frames: DatasetFrame[] = [];
  for (const f of meta.frames) {
    const lf = path.join(dir, 'labels', `${f.name}.txt`);
    let text: string;
    try {
      text = await readFile(lf, 'utf8');
    } catch {
      throw new DatasetError(`dataset ${dir} is missing labels/${f.name}.txt`);
    }
    frames.push({ ...f, image: path.join(dir, 'images', `${f.name}.jpg`), labels: parseLabels(text, meta.width, meta.height, lf) });
  }
  return { meta, frames };
}
