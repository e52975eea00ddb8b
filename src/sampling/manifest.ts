import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeError } from '../artifacts/store.js';

export interface ManifestFrame {
  /** image file stem: images/<name>.jpg; f000123 = decoded frame index 123 */
  name: string;
  /** decoded frame index (at the decode fps) */
  index: number;
  /** seconds since the start of the window (of video, gaps left out, where the capture reports footageSeconds) */
  t: number;
  /** activity: share of the frame covered by moving blobs, 0..1 */
  score: number;
  split: 'train' | 'val';
  /** nothing moving in the frame (kept so the student learns the background) */
  empty: boolean;
  /** boxes around moving blobs, [x1,y1,x2,y2] in pixels of the image */
  motion: Array<[number, number, number, number]>;
}

export interface SampleStats {
  decoded: number;
  selected: number;
  train: number;
  val: number;
  emptyKept: number;
  duplicatesDropped: number;
  /** mean activity over all decoded frames */
  meanScore: number;
  /** share of decoded frames with nothing moving */
  emptyFrameShare: number;
  blockSeconds: number;
  blocks: number;
  valBlocks: number[];
  /** correlation of the end-of-window background with the start's (1 = same view) */
  backgroundCorrelation: number;
  /** correlation with the previous run's background, when there was one */
  previousCorrelation: number | null;
  /** every k-th decoded frame came out of ffmpeg whole and could be kept (1: every frame; see sample.candidatesPerSlot) */
  candidateStride?: number;
  /**
   * Regions ([x1, y1, x2, y2], fractions of the image) that differed from the background in most
   * frames without anything moving there, as far as the sampler can tell: an on-screen clock, a
   * blinking light. Candidates for the camera's sample.motionMask (see sampling/restless.ts).
   */
  restlessRegions?: Array<[number, number, number, number]>;
  /** grid cells the camera's sample.motionMask covers (their changes are not motion) */
  maskedCells?: number;
  /**
   * The frames' noise against the background, as a standard deviation in grey levels (median over
   * the window; sampling/noise.ts): a camera at night shows 10 or more, a day picture 1–3.
   */
  noiseSigma?: number;
  /**
   * Times the whole picture changed light at once and stayed so, the scene the same (a camera
   * switching to or from its night picture): the background started again there. Absent when none.
   */
  lightChanges?: number;
  /** grey difference that counted as motion (median over the window): 25, raised for noisy pictures */
  motionThreshold?: number;
  /** the frames were deinterlaced, this field first ('auto': each frame's own flag); absent when not */
  deinterlaced?: 'tff' | 'bff' | 'auto';
  seconds: number;
}

export interface SampleManifest {
  version: 1;
  cameraId: string;
  /** the source with credentials redacted */
  source: string;
  width: number;
  height: number;
  fps: number;
  frames: ManifestFrame[];
  cameraMoved: boolean;
  cameraMovedReason: string;
  stats: SampleStats;
}

export const MANIFEST_FILE = 'manifest.json';

export function frameName(index: number): string {
  return `f${String(index).padStart(6, '0')}`;
}

/**
 * Write manifest.json into a frames directory that is still being filled. Not flushed, like the
 * JPEGs beside it: the directory becomes an artifact only when the store takes it whole, and the
 * store does not flush trees file by file (they are made again from the stored clip). Flushing the
 * manifest alone (file and directory) was ~8 ms at the end of every sample step.
 */
export async function writeManifest(dir: string, manifest: SampleManifest): Promise<string> {
  const file = path.join(dir, MANIFEST_FILE);
  try {
    await writeFile(file, JSON.stringify(manifest, null, 2) + '\n');
  } catch (err) {
    throw writeError(file, err);
  }
  return file;
}
