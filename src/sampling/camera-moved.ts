import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../artifacts/store.js';

/**
 * Below this spread (standard deviation, grey levels) an image has no layout to correlate: what
 * varies is sensor noise, which two views of the same featureless scene (a wall, fog, an empty lot
 * at night) do not share. Their correlation was then ~0, and such a scene was "moved" every run.
 */
const FLAT_STD = 3;

/**
 * Normalized cross-correlation of two grey images, -1..1. Insensitive to global brightness and
 * contrast (dusk, auto-exposure), sensitive to layout: what a moved camera changes. Featureless
 * images (FLAT_STD) have no layout: two of them are the same scene where their brightness is
 * alike, and one against a textured image is not (a covered lens).
 */
export function correlation(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  const flat = FLAT_STD * FLAT_STD * n;
  if (saa < flat || sbb < flat) return saa < flat && sbb < flat && Math.abs(ma - mb) < 20 ? 1 : 0;
  return sab / Math.sqrt(saa * sbb);
}

/** Below this correlation two backgrounds are different views. */
export const MOVED_CORRELATION = 0.5;

export function backgroundFile(cameraStateDir: string): string {
  return path.join(cameraStateDir, 'background.png');
}
const RUN_FILE = 'background.run';
const PREVIOUS_FILE = 'background.prev.png';
/** per cell, the share of the run's frames that differed from its background (×255): see sampling/restless.ts */
const RESTLESS_FILE = 'restless.png';
const RESTLESS_PREVIOUS_FILE = 'restless.prev.png';

/**
 * The previous run's restless grid (restless.png) at `width`x`height`, or null: none yet, another
 * aspect ratio, or unreadable. A retried sample gets the one from before its run, as with the
 * background.
 */
export async function loadPreviousRestless(cameraStateDir: string, width: number, height: number, runKey = ''): Promise<Uint8Array | null> {
  try {
    const owner = await readFile(path.join(cameraStateDir, RUN_FILE), 'utf8').catch(() => '');
    const png = await readFile(path.join(cameraStateDir, runKey && owner === runKey ? RESTLESS_PREVIOUS_FILE : RESTLESS_FILE));
    const meta = await sharp(png).metadata();
    if (!meta.width || !meta.height || Math.abs(meta.width / meta.height - width / height) >= 0.02 * (width / height)) return null;
    const { data } = await sharp(png).greyscale().resize(width, height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, width * height);
  } catch {
    return null;
  }
}

/**
 * The previous run's background resized to `width`x`height`, or null if there is none. When
 * background.png was written by this same run (a retried sample), the one before it is used,
 * so a retry reaches the same verdict as the first attempt.
 */
export async function loadPreviousBackground(cameraStateDir: string, width: number, height: number, runKey = ''): Promise<{ data: Uint8Array; sameSize: boolean } | null> {
  let png: Buffer;
  try {
    const owner = await readFile(path.join(cameraStateDir, RUN_FILE), 'utf8').catch(() => '');
    const file = runKey && owner === runKey ? path.join(cameraStateDir, PREVIOUS_FILE) : backgroundFile(cameraStateDir);
    png = await readFile(file);
  } catch {
    return null;
  }
  try {
    const meta = await sharp(png).metadata();
    const { data } = await sharp(png).greyscale().resize(width, height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    // The grid size is an implementation detail (it follows the decode width); only a change of
    // aspect ratio means the camera's image itself changed.
    const sameSize = Boolean(meta.width && meta.height) && Math.abs(meta.width! / meta.height! - width / height) < 0.02 * (width / height);
    return { data: new Uint8Array(data.buffer, data.byteOffset, width * height), sameSize };
  } catch {
    return null; // unreadable state file: treat as no previous run rather than failing the run
  }
}

export async function saveBackground(cameraStateDir: string, bg: Uint8Array, width: number, height: number, runKey = '', restless?: Uint8Array): Promise<void> {
  const owner = await readFile(path.join(cameraStateDir, RUN_FILE), 'utf8').catch(() => null);
  if (owner === null || owner !== runKey) {
    // keep the last run's state as "previous" for retries of this run
    for (const [file, previous] of [[backgroundFile(cameraStateDir), PREVIOUS_FILE], [path.join(cameraStateDir, RESTLESS_FILE), RESTLESS_PREVIOUS_FILE]] as const) {
      const prev = await readFile(file).catch(() => null);
      if (prev) await writeFileAtomic(path.join(cameraStateDir, previous), prev);
      else await rm(path.join(cameraStateDir, previous), { force: true });
    }
  }
  const grey = (data: Uint8Array): Promise<Buffer> => sharp(Buffer.from(data.buffer, data.byteOffset, width * height), { raw: { width, height, channels: 1 } }).png().toBuffer();
  const png = await grey(bg);
  // The owner before the background: a crash in between leaves "owned by this run" with the older
  // background still in PREVIOUS_FILE, so a retry compares against it. The other order made a retry
  // compare this run's background with itself (a moved camera hidden) and then lose the older one.
  await writeFileAtomic(path.join(cameraStateDir, RUN_FILE), runKey);
  await writeFileAtomic(backgroundFile(cameraStateDir), png);
  if (restless) await writeFileAtomic(path.join(cameraStateDir, RESTLESS_FILE), await grey(restless));
  else await rm(path.join(cameraStateDir, RESTLESS_FILE), { force: true });
}
