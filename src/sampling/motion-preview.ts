import path from 'node:path';
import sharp from 'sharp';
import type { SampleManifest } from './manifest.js';
import type { Region } from './restless.js';

/**
 * One picture to set a camera's `sample.motionMask` by: a frame of the window with every kept
 * frame's motion boxes drawn faintly over it (where motion keeps being found, they pile up: a
 * clock, a flag), the mask's regions in blue, the suggested regions (manifest
 * `stats.restlessRegions`) outlined in yellow, and lines every tenth of the frame, a thicker one at
 * the half, to read a region's fractions off. No text: SVG text needs fonts a server may not have.
 */
export async function writeMotionPreview(opts: { framesDir: string; manifest: SampleManifest; motionMask: readonly Region[]; out: string }): Promise<string> {
  const m = opts.manifest;
  if (!m.frames.length) throw new Error('no frame was kept: nothing to draw the motion on');
  // a frame with nothing moving shows the scene itself best
  const base = m.frames.find((f) => f.empty) ?? m.frames[0]!;
  const { width: W, height: H } = m;
  const rect = ([x1, y1, x2, y2]: readonly number[], style: string): string => `<rect x="${x1}" y="${y1}" width="${x2! - x1!}" height="${y2! - y1!}" ${style}/>`;
  const px = ([x1, y1, x2, y2]: Region): number[] => [x1 * W, y1 * H, x2 * W, y2 * H];
  const lines: string[] = [];
  for (let k = 1; k < 10; k++) {
    const w = k === 5 ? 2 : 1;
    lines.push(`<line x1="${(k * W) / 10}" y1="0" x2="${(k * W) / 10}" y2="${H}" stroke="white" stroke-opacity="0.45" stroke-width="${w}"/>`);
    lines.push(`<line x1="0" y1="${(k * H) / 10}" x2="${W}" y2="${(k * H) / 10}" stroke="white" stroke-opacity="0.45" stroke-width="${w}"/>`);
  }
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">`,
    ...opts.motionMask.map((r) => rect(px(r), 'fill="#2060ff" fill-opacity="0.4"')),
    ...m.frames.flatMap((f) => f.motion.map((b) => rect(b, 'fill="none" stroke="red" stroke-opacity="0.35" stroke-width="2"'))),
    ...(m.stats.restlessRegions ?? []).map((r) => rect(px(r), 'fill="none" stroke="yellow" stroke-width="3" stroke-dasharray="8 4"')),
    ...lines,
    '</svg>',
  ].join('');
  await sharp(path.join(opts.framesDir, 'images', `${base.name}.jpg`))
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toFile(opts.out);
  return opts.out;
}
