/**
 * Validation report: `<dataDir>/reports/<cameraId>/<runId>/report.{json,html}`. The HTML is
 * self-contained (inline SVG curves, base64 JPEG frames with SVG box overlays) so it can be
 * mailed or opened from the artifact store without a server.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../artifacts/store.js';
import type { Box, PrCurve } from '../metrics/map.js';

export interface ReportModelRow {
  name: string; // 'pretrained' | 'deployed vN' | 'candidate vN'
  against: 'teacher' | 'ground truth';
  map50: number;
  map5095: number;
  latencyMs: number;
  perClass: Record<string, { ap50: number; ap5095: number }>;
}

export interface ReportFrame {
  name: string;
  jpegPath: string;
  width: number;
  height: number;
  boxes: Record<string, { box: Box; score?: number; label: string }[]>;
}

export interface ReportInput {
  cameraId: string;
  runId: string;
  version: string;
  decision: { accepted: boolean; reason: string; gain: number };
  rows: ReportModelRow[];
  /** model name → class → PR curve at IoU 0.5 (teacher labels) */
  curves: Record<string, Record<string, PrCurve>>;
  frames: ReportFrame[];
  extra?: Record<string, unknown>;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const h = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');

function prSvg(curves: Record<string, Record<string, PrCurve>>): string {
  const W = 360;
  const H = 260;
  const P = 36;
  const series = Object.entries(curves).flatMap(([model, byClass]) => Object.entries(byClass).map(([cls, c]) => ({ label: `${model} · ${cls}`, c })));
  const x = (r: number) => P + r * (W - P - 10);
  const y = (p: number) => H - P - p * (H - P - 10);
  const lines = series.map((s, i) => {
    const pts = s.c.recall.map((r, k) => `${x(r).toFixed(1)},${y(s.c.precision[k]!).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${pts}"/>`;
  });
  const legend = series.map((s, i) => `<text x="${W + 10}" y="${20 + i * 16}" fill="${COLORS[i % COLORS.length]}" font-size="12">${h(s.label)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 220}" height="${H}" role="img" aria-label="precision-recall curves">
<rect x="${P}" y="10" width="${W - P - 10}" height="${H - P - 10}" fill="none" stroke="#999"/>
<text x="${W / 2}" y="${H - 6}" font-size="12" text-anchor="middle">recall</text>
<text x="12" y="${H / 2}" font-size="12" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">precision</text>
${lines.join('\n')}
${legend.join('\n')}
</svg>`;
}

async function frameHtml(f: ReportFrame): Promise<string> {
  const b64 = (await readFile(f.jpegPath)).toString('base64');
  const panels = Object.entries(f.boxes).map(([who, boxes], i) => {
    const color = COLORS[i % COLORS.length];
    const rects = boxes
      .map((b) => `<rect x="${b.box[0]}" y="${b.box[1]}" width="${b.box[2] - b.box[0]}" height="${b.box[3] - b.box[1]}" fill="none" stroke="${color}" stroke-width="2"/><text x="${b.box[0]}" y="${Math.max(10, b.box[1] - 2)}" fill="${color}" font-size="12">${h(b.label)}${b.score !== undefined ? ` ${b.score.toFixed(2)}` : ''}</text>`)
      .join('');
    return `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" width="${Math.min(f.width, 400)}"><image href="data:image/jpeg;base64,${b64}" width="${f.width}" height="${f.height}"/>${rects}</svg><figcaption>${h(who)} (${boxes.length})</figcaption></figure>`;
  });
  return `<h3>${h(f.name)}</h3><div class="frames">${panels.join('')}</div>`;
}

export function reportDir(dataDir: string, cameraId: string, runId: string): string {
  return path.join(path.resolve(dataDir), 'reports', cameraId, runId.replace(/[^a-zA-Z0-9_.-]/g, '_'));
}

/** Write report.json and report.html; returns their paths. */
export async function writeReport(dataDir: string, input: ReportInput): Promise<{ dir: string; json: string; html: string }> {
  const dir = reportDir(dataDir, input.cameraId, input.runId);
  const json = path.join(dir, 'report.json');
  const html = path.join(dir, 'report.html');
  await writeJsonAtomic(json, { ...input, frames: input.frames.map(({ jpegPath, ...rest }) => ({ ...rest, image: path.basename(jpegPath) })) });
  const classes = [...new Set(input.rows.flatMap((r) => Object.keys(r.perClass)))];
  const table = `<table><tr><th>model</th><th>against</th><th>mAP@0.5</th><th>mAP@[.5:.95]</th><th>latency ms</th>${classes.map((c) => `<th>AP50 ${h(c)}</th>`).join('')}</tr>
${input.rows.map((r) => `<tr><td>${h(r.name)}</td><td>${r.against}</td><td>${f3(r.map50)}</td><td>${f3(r.map5095)}</td><td>${Number.isFinite(r.latencyMs) ? r.latencyMs.toFixed(1) : '–'}</td>${classes.map((c) => `<td>${f3(r.perClass[c]?.ap50 ?? NaN)}</td>`).join('')}</tr>`).join('\n')}</table>`;
  const frames = (await Promise.all(input.frames.map(frameHtml))).join('\n');
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>Edge AutoTuner report ${h(input.cameraId)} ${h(input.version)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.frames{display:flex;gap:8px;flex-wrap:wrap}figure{margin:0}.ok{color:#2ca02c}.no{color:#d62728}</style></head><body>
<h1>Camera ${h(input.cameraId)} — candidate ${h(input.version)}</h1>
<p class="${input.decision.accepted ? 'ok' : 'no'}"><b>${input.decision.accepted ? 'accepted' : 'rejected'}</b>: ${h(input.decision.reason)}</p>
<h2>Before / after</h2>${table}
<h2>Precision–recall (IoU 0.5, teacher labels)</h2>${prSvg(input.curves)}
<h2>Frames</h2>${frames}
</body></html>`;
  await writeFileAtomic(html, page);
  return { dir, json, html };
}
