import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The parts of the sample step's manifest.json that annotation reads. */
export interface SampledFrame {
  name: string;
  index: number;
  /** seconds from the start of the window */
  t: number;
  split: 'train' | 'val';
  empty: boolean;
  /** motion regions [x1,y1,x2,y2] in frame pixels */
  motion: [number, number, number, number][];
}

export interface SampleManifest {
  cameraId: string;
  source: string;
  width: number;
  height: number;
  fps: number;
  frames: SampledFrame[];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export async function readSampleManifest(framesDir: string): Promise<SampleManifest> {
  const file = path.join(framesDir, 'manifest.json');
  let raw: Partial<SampleManifest>;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as Partial<SampleManifest>;
  } catch (err) {
    throw new ManifestError(`sampled frames manifest ${file} is unreadable: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw.frames)) throw new ManifestError(`sampled frames manifest ${file} has no "frames" list`);
  const frames = raw.frames.map((f, i) => {
    if (!f || typeof f.name !== 'string') throw new ManifestError(`manifest ${file}: frame #${i} has no name`);
    return {
      name: f.name,
      index: typeof f.index === 'number' ? f.index : i,
      t: typeof f.t === 'number' ? f.t : i,
      split: f.split === 'val' ? 'val' : 'train',
      empty: Boolean(f.empty),
      motion: Array.isArray(f.motion) ? f.motion.filter((m) => Array.isArray(m) && m.length === 4) : [],
    } satisfies SampledFrame;
  });
  return {
    cameraId: String(raw.cameraId ?? ''),
    source: String(raw.source ?? ''),
    width: Number(raw.width ?? 0),
    height: Number(raw.height ?? 0),
    fps: Number(raw.fps ?? 0),
    frames,
  };
}

export function frameImagePath(framesDir: string, name: string): string {
  return path.join(framesDir, 'images', `${name}.jpg`);
}
