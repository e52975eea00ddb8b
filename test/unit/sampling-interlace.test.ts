/**
 * Interlaced cameras (analog CCTV through a DVR): the capture reads the field order off the
 * header, and the sample step and the edge server deinterlace, so neither the teacher, the
 * student in training nor the student at the edge sees combed frames.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { cameraSchema, type CameraConfig } from '../../src/config/schema.js';
import { ffmpegArgs, probeSize } from '../../src/edge/serve.js';
import { captureAndSample } from '../../src/sampling/pipeline.js';
import { sampledAheadStats } from '../../src/sampling/sample-step.js';
import { decodeArgs } from '../../src/video/decode.js';
import { deinterlaceFor, fieldOrderOf, locateFfmpeg, parseHeader } from '../../src/video/ffmpeg.js';
import { describeSource, formatSourceDescription } from '../../src/video/probe.js';
import { combing, interlacedClip, tempDir } from '../fixtures/clips.js';

const runFile = promisify(execFile);
const fx = await tempDir('interlace');
test.after(() => fx.cleanup());
const W = 384;
const H = 288;
// 4 s at 25 fps, the box crossing the scene several times
const tff = await interlacedClip(fx.dir, 'dvr.mp4', { seconds: 4 });

let n = 0;
const fresh = (): { store: DirectoryArtifactStore; dataDir: string; workDir: string } => {
  const dir = path.join(fx.dir, `run-${n++}`);
  return { store: new DirectoryArtifactStore(path.join(dir, 'store')), dataDir: dir, workDir: path.join(dir, 'cap') };
};
const camera = (source: string, o: Record<string, unknown> = {}): CameraConfig =>
  cameraSchema.parse({ id: 'dvr', source, sample: { budget: 6, emptyShare: 0 }, ...o });

const grey = async (file: string): Promise<Buffer> =>
  (await runFile(process.env.FFMPEG_PATH || 'ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer', maxBuffer: 1 << 22 })).stdout;

/** The kept frames' combing, each: from their JPEGs as stored. */
async function keptCombing(r: Awaited<ReturnType<typeof captureAndSample>>, store: DirectoryArtifactStore): Promise<number[]> {
  const dir = await store.localPath(r.sample.frames);
  const out: number[] = [];
  for (const f of r.manifest.frames) out.push(combing(await grey(path.join(dir, 'images', `${f.name}.jpg`)), W, H));
  return out;
}

test('the field order is read off the header, as ffmpeg prints it', () => {
  assert.equal(fieldOrderOf('Stream #0:0: Video: h264 (High), yuv420p(top first), 720x576 [SAR 16:15 DAR 4:3], 25 fps'), 'tff');
  assert.equal(fieldOrderOf('Stream #0:0: Video: mpeg2video (Main), yuv420p(tv, bottom first), 720x480, 29.97 fps'), 'bff');
  // the swapped kinds name the coded order: shown, it is the other field first
  assert.equal(fieldOrderOf('Stream #0:0: Video: h264, yuv420p(tv, bt709, top coded first (swapped)), 1920x1080'), 'bff');
  assert.equal(fieldOrderOf('Stream #0:0: Video: h264, yuv420p(tv, bottom coded first (swapped)), 1920x1080'), 'tff');
  assert.equal(fieldOrderOf('Stream #0:0: Video: h264 (High), yuv420p(progressive), 384x288, 25 fps'), null);
  assert.equal(fieldOrderOf('Stream #0:0: Video: msmpeg4v3 (div3 / 0x33766964), yuv420p, 768x576, 10 fps'), null);
  const h = parseHeader("Input #0, mpegts, from 'dvr.ts':\n  Duration: 00:01:00.00, start: 1.4, bitrate: 4000 kb/s\n    Stream #0:0[0x100]: Video: mpeg2video (Main), yuv420p(tv, top first), 720x576 [SAR 16:15 DAR 4:3], 25 fps, 25 tbr, 90k tbn\n");
  assert.equal(h.input?.interlaced, 'tff');
  assert.equal(h.input?.fps, 25);
});

test('capture.deinterlace: auto follows the header, always also treats unflagged video, never leaves it', () => {
  assert.equal(deinterlaceFor('auto', 'tff'), 'tff');
  assert.equal(deinterlaceFor('auto', 'bff'), 'bff');
  assert.equal(deinterlaceFor('auto', null), undefined);
  assert.equal(deinterlaceFor(undefined, 'bff'), 'bff');
  assert.equal(deinterlaceFor('always', 'bff'), 'bff');
  assert.equal(deinterlaceFor('always', null), 'auto');
  assert.equal(deinterlaceFor('never', 'tff'), undefined);
  assert.throws(() => cameraSchema.parse({ id: 'x', source: 'a.mp4', capture: { deinterlace: 'yes' } }), /deinterlace/);
  assert.equal(cameraSchema.parse({ id: 'x', source: 'a.mp4' }).capture.deinterlace, 'auto');
});

test('the deinterlacer comes first in a decode, before the turn, the rate and the scale', () => {
  const args = decodeArgs({ source: 'a.mp4', deinterlace: 'tff', rotate: 90, fps: 10, width: 320 });
  const vf = args[args.indexOf('-vf') + 1]!;
  assert.equal(vf, 'bwdif=mode=send_frame:parity=tff:deint=all,transpose=clock,fps=10,scale=320:-2:flags=area');
  const grid = decodeArgs({ source: 'a.mp4', deinterlace: 'bff', fps: 10, grid: { every: 2, step: 4 } });
  const graph = grid[grid.indexOf('-filter_complex') + 1]!;
  assert.match(graph, /^\[0:v:0\]bwdif=mode=send_frame:parity=bff:deint=all,fps=10,/);
  // whole-frame work: the graph's filter threads are not held to one
  assert.ok(!grid.includes('-filter_complex_threads'));
  assert.ok(!decodeArgs({ source: 'a.mp4', fps: 10 }).join(' ').includes('bwdif'));
  // the edge server's decode: deinterlaced, then pinned to the probed size
  const edge = ffmpegArgs('rtsp://cam/1', { width: 720, height: 576 }, 'tcp', 'tff');
  assert.ok(edge.indexOf('-vf') < edge.indexOf('-s'));
  assert.equal(edge[edge.indexOf('-vf') + 1], 'bwdif=mode=send_frame:parity=tff:deint=all');
  assert.ok(!ffmpegArgs('rtsp://cam/1', { width: 720, height: 576 }).includes('-vf'));
});

test('an interlaced camera is sampled into whole frames, whether sampled ahead or from its clip', async () => {
  const runs = {
    // the whole file: sampled while its clip is recorded
    ahead: { cam: camera(tff), ...fresh() },
    // a window of it: sampled from the stored clip (a stream copy into Matroska, flags and all)
    clip: { cam: camera(tff, { capture: { seconds: 2 } }), ...fresh() },
    never: { cam: camera(tff, { capture: { deinterlace: 'never' } }), ...fresh() },
  };
  const results = new Map<string, { combs: number[]; r: Awaited<ReturnType<typeof captureAndSample>> }>();
  for (const [name, { cam, ...where }] of Object.entries(runs)) {
    const taken = sampledAheadStats().taken;
    const r = await captureAndSample({ camera: cam, ...where });
    assert.equal(sampledAheadStats().taken - taken, name === 'clip' ? 0 : 1, `${name}: sampled ahead`);
    assert.equal(r.capture.interlaced, 'tff', name);
    assert.deepEqual([r.manifest.width, r.manifest.height], [W, H]);
    assert.ok(r.sample.selected >= 3, `${name}: ${r.sample.selected} kept`);
    results.set(name, { combs: await keptCombing(r, where.store), r });
  }
  for (const name of ['ahead', 'clip']) {
    const { combs, r } = results.get(name)!;
    assert.equal(r.manifest.stats.deinterlaced, 'tff');
    // one frame per frame: the camera's 25 fps sampled at capture.fps 10
    assert.ok(Math.abs(r.manifest.stats.decoded - (name === 'clip' ? 20 : 40)) <= 1, `${name}: ${r.manifest.stats.decoded} decoded`);
    assert.ok(combs.every((c) => c < 0.8), `${name}: kept frames' combing ${combs.map((c) => c.toFixed(2))}`);
  }
  // left as decoded, every kept frame shows the box's edges combed
  const never = results.get('never')!;
  assert.equal(never.r.manifest.stats.deinterlaced, undefined);
  assert.ok(never.combs.every((c) => c > 2), `combing left in: ${never.combs.map((c) => c.toFixed(2))}`);
  // doctor's line for such a camera
  assert.equal(formatSourceDescription(await describeSource(tff)), 'h264 384x288 @ 25 fps, interlaced (top field first), 4.0 s');
});

test('bottom field first, and woven frames flagged progressive with deinterlace "always"', async () => {
  const bff = await interlacedClip(fx.dir, 'bff.mp4', { seconds: 2, order: 'bff' });
  const a = fresh();
  const r = await captureAndSample({ camera: camera(bff), ...a });
  assert.equal(r.capture.interlaced, 'bff');
  assert.equal(r.manifest.stats.deinterlaced, 'bff');
  const bffCombs = await keptCombing(r, a.store);
  assert.ok(bffCombs.every((c) => c < 0.8), `bottom first: ${bffCombs.map((c) => c.toFixed(2))}`);

  // an encoder that weaves the fields into progressive frames: the header cannot tell
  const woven = await interlacedClip(fx.dir, 'woven.mp4', { seconds: 2, flagged: false });
  const b = fresh();
  const plain = await captureAndSample({ camera: camera(woven), ...b });
  assert.equal(plain.capture.interlaced, undefined);
  assert.equal(plain.manifest.stats.deinterlaced, undefined);
  assert.ok((await keptCombing(plain, b.store)).every((c) => c > 2), 'auto leaves unflagged video as it is');
  const c = fresh();
  const always = await captureAndSample({ camera: camera(woven, { capture: { deinterlace: 'always' } }), ...c });
  assert.equal(always.manifest.stats.deinterlaced, 'auto');
  const alwaysCombs = await keptCombing(always, c.store);
  assert.ok(alwaysCombs.every((x) => x < 0.8), `always: ${alwaysCombs.map((x) => x.toFixed(2))}`);
});

test('the edge server decodes an interlaced camera into whole frames, as the student learnt them', async () => {
  const ffmpeg = (await locateFfmpeg()).path;
  const size = await probeSize(ffmpeg, tff);
  assert.deepEqual(size, { width: W, height: H, interlaced: 'tff' });
  /** The edge decode's frames 5..9 (the replay runs in real time: 0.4 s), as grey. */
  const frames = async (args: string[]): Promise<number[]> => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const bytes = W * H * 3;
    const chunks: Buffer[] = [];
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.stdout!.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got >= bytes * 10) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('close', () => resolve());
    });
    const all = Buffer.concat(chunks);
    const out: number[] = [];
    for (let f = 5; f < 10; f++) {
      const rgb = all.subarray(f * bytes, (f + 1) * bytes);
      const g = new Uint8Array(W * H);
      for (let i = 0; i < g.length; i++) g[i] = rgb[i * 3 + 1]!;
      out.push(combing(g, W, H));
    }
    return out;
  };
  const served = await frames(ffmpegArgs(tff, size, undefined, deinterlaceFor('auto', size.interlaced)));
  assert.ok(served.every((c) => c < 0.8), `edge frames: ${served.map((c) => c.toFixed(2))}`);
  const combed = await frames(ffmpegArgs(tff, size, undefined, deinterlaceFor('never', size.interlaced)));
  assert.ok(combed.every((c) => c > 2), `edge frames, deinterlace never: ${combed.map((c) => c.toFixed(2))}`);
});
