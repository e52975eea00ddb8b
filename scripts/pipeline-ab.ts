/**
 * A/B of the capture+sample pipeline inside one process: two environment variants, run by run in an
 * ABBA order, each run on an empty store. Prints, per variant, the median wall time, the Node
 * process's CPU (all its threads) and its children's CPU (the ffmpegs), and the pairs' median
 * difference with how many pairs B won. Where `bench-ab.sh` compares the bench's ratios (each a
 * median of 5 runs against a reference), this reads the pipeline alone, with CPU beside wall time:
 * on a 2-core host a change can move CPU from one process to another and the wall time not at all.
 *
 *   node --import tsx scripts/pipeline-ab.ts [--pairs N] [--video PATH] [--a K=V,...] [--b K=V,...]
 *
 * e.g. sampling ahead off against on:  --a AUTOTUNER_SAMPLE_AHEAD=0 --b AUTOTUNER_SAMPLE_AHEAD=1
 * Variables are set in this process before each run (what the pipeline reads at run time: those
 * read once per process, such as FFMPEG_PATH, cannot be compared this way).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DirectoryArtifactStore } from '../src/artifacts/store.js';
import { cameraSchema, DEMO_VIDEO } from '../src/config/schema.js';
import { captureAndSample } from '../src/sampling/pipeline.js';

const { values } = parseArgs({
  options: { pairs: { type: 'string', default: '20' }, video: { type: 'string', default: DEMO_VIDEO }, a: { type: 'string', default: '' }, b: { type: 'string', default: '' } },
});
const pairs = Number(values.pairs);
if (!Number.isInteger(pairs) || pairs < 1) throw new Error(`--pairs takes a whole number of 1 or more, got ${values.pairs}`);
const parseEnv = (s: string): Record<string, string> =>
  Object.fromEntries(
    s.split(',').filter(Boolean).map((kv) => {
      const i = kv.indexOf('=');
      if (i < 1) throw new Error(`--a/--b take NAME=VALUE pairs separated by commas, got "${kv}"`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
const variants = { A: parseEnv(values.a), B: parseEnv(values.b) };
const saved = Object.fromEntries([...Object.keys(variants.A), ...Object.keys(variants.B)].map((k) => [k, process.env[k]]));

/** CPU of this process's waited-for children (the ffmpegs), ms: /proc/self/stat's cutime + cstime, in clock ticks. */
function childrenCpuMs(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * (1000 / 100);
}

type Sample = { wall: number; node: number; children: number };
const runs: Record<'A' | 'B', Sample[]> = { A: [], B: [] };
const root = await mkdtemp(path.join(os.tmpdir(), 'pipeline-ab-'));
const camera = cameraSchema.parse({ id: 'ab', source: values.video });
try {
  // two warm-up runs (module loading, JIT), then A B B A | A B B A ...
  const order: Array<'A' | 'B' | 'warm'> = ['warm', 'warm'];
  for (let i = 0; i < pairs; i++) order.push(...((i % 2 === 0 ? ['A', 'B'] : ['B', 'A']) as Array<'A' | 'B'>));
  for (const [i, v] of order.entries()) {
    for (const [k, val] of Object.entries(saved)) if (val === undefined) delete process.env[k]; else process.env[k] = val;
    if (v !== 'warm') Object.assign(process.env, variants[v]);
    const store = new DirectoryArtifactStore(path.join(root, `store-${i}`));
    const cpu0 = process.cpuUsage();
    const kids0 = childrenCpuMs();
    const t0 = performance.now();
    await captureAndSample({ camera, store, dataDir: root, workDir: path.join(root, `capture-${i}`) });
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (v !== 'warm') runs[v].push({ wall, node: (cpu.user + cpu.system) / 1000, children: childrenCpuMs() - kids0 });
    await rm(path.join(root, `store-${i}`), { recursive: true, force: true });
    process.stderr.write(`\r${i + 1}/${order.length} runs`);
  }
  process.stderr.write('\n');
} finally {
  await rm(root, { recursive: true, force: true });
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
console.log(`A: ${JSON.stringify(variants.A)}  B: ${JSON.stringify(variants.B)}  ${pairs} pairs on ${values.video}`);
for (const k of ['wall', 'node', 'children'] as const) {
  const a = runs.A.map((r) => r[k]);
  const b = runs.B.map((r) => r[k]);
  const d = b.map((x, i) => x - a[i]!);
  const dm = median(d);
  console.log(
    `${(k === 'wall' ? 'wall ms' : k === 'node' ? 'Node CPU ms' : 'ffmpeg CPU ms').padEnd(14)} A ${median(a).toFixed(1).padStart(7)}  B ${median(b).toFixed(1).padStart(7)}  B − A paired median ${dm >= 0 ? '+' : ''}${dm.toFixed(1)}, B lower in ${d.filter((x) => x < 0).length} of ${d.length}`,
  );
}
