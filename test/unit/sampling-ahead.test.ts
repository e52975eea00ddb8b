import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { cameraSchema, type CameraConfig } from '../../src/config/schema.js';
import { captureAndSample } from '../../src/sampling/pipeline.js';
import { captureSamplingAhead, samplesAhead } from '../../src/sampling/sample-ahead.js';
import { sampleCapture, sampledAheadStats } from '../../src/sampling/sample-step.js';
import { SourceInvalidError } from '../../src/video/errors.js';
import { describeSource, formatSourceDescription } from '../../src/video/probe.js';
import { cutDemo, DEMO_VIDEO, ffmpeg, gappyClip, rotatedClip, tempDir, truncated } from '../fixtures/clips.js';

const runFile = promisify(execFile);
const fx = await tempDir('sample-ahead');
test.after(() => fx.cleanup());
// 8 s of people walking, 80 frames at 10 fps
const clip = await cutDemo(fx.dir, 'walk.avi', { start: 20, seconds: 8, width: 384 });
let n = 0;
const fresh = (): { store: DirectoryArtifactStore; dataDir: string; workDir: string } => {
  const dir = path.join(fx.dir, `run-${n++}`);
  return { store: new DirectoryArtifactStore(path.join(dir, 'store')), dataDir: dir, workDir: path.join(dir, 'cap') };
};
async function withAhead<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  if (on) delete process.env.AUTOTUNER_SAMPLE_AHEAD;
  else process.env.AUTOTUNER_SAMPLE_AHEAD = '0';
  try {
    return await fn();
  } finally {
    delete process.env.AUTOTUNER_SAMPLE_AHEAD;
  }
}
const camera = (o: Record<string, unknown> = {}): CameraConfig => cameraSchema.parse({ id: 'ahead', source: clip, ...o });

test('a local file sampled while its clip is recorded gives the very sample the stored clip gives', async () => {
  // budget 8 over 80 frames: grid mode, 1 frame in 5 whole; the default budget: every frame whole
  for (const cam of [camera({ sample: { budget: 8 } }), camera()]) {
    const before = sampledAheadStats();
    const ahead = await withAhead(true, () => captureAndSample({ camera: cam, ...fresh(), runKey: 'r1' }));
    assert.equal(sampledAheadStats().taken, before.taken + 1, 'the sample step took the sample taken ahead');
    assert.equal(sampledAheadStats().waiting, before.waiting);
    const after = await withAhead(false, () => captureAndSample({ camera: cam, ...fresh(), runKey: 'r1' }));
    assert.equal(sampledAheadStats().taken, before.taken + 1, 'turned off: sampled after the capture');
    // (each recording is its own Matroska file: the container gets a random segment UID)
    const { clip: _a, ...aheadCapture } = ahead.capture;
    const { clip: _b, ...afterCapture } = after.capture;
    assert.deepEqual(aheadCapture, afterCapture);
    // the same JPEGs and manifest byte for byte: the frames directory's content address is the same
    assert.equal(ahead.sample.frames.sha256, after.sample.frames.sha256);
    assert.deepEqual(ahead.manifest, after.manifest);
    assert.equal(ahead.manifest.stats.decoded, 80);
    assert.ok(ahead.sample.selected > 0);
    // the sampling happened in the capture step
    assert.ok(ahead.timings.sampleSec < ahead.timings.captureSec);
  }
});

test('an H.264 MP4 with B-frames, whose recorded window ends two frames after its header says, is sampled ahead', async () => {
  // 8 s at 25 fps with B-frames: the clip's window is 8.08 s, the header's 8.0 s
  const mp4 = path.join(fx.dir, 'bframes.mp4');
  await ffmpeg(['-i', clip, '-vf', 'fps=25', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '50', '-pix_fmt', 'yuv420p', mp4]);
  const cam = camera({ source: mp4, sample: { budget: 8 } });
  const outcomes: Array<{ kept: boolean; reason?: string }> = [];
  const { store, dataDir, workDir } = fresh();
  const before = sampledAheadStats();
  const captured = await captureSamplingAhead({ camera: cam, store, dataDir, workDir, onSampledAhead: (o) => outcomes.push(o) });
  assert.equal(captured.frames, 200);
  assert.notEqual(captured.seconds, 8, 'the recorded window differs from the header (else this tests nothing)');
  assert.deepEqual(outcomes, [{ kept: true }]);
  const ahead = await sampleCapture({ camera: cam, captured, store, dataDir });
  assert.equal(sampledAheadStats().taken, before.taken + 1);
  // the same frames decoded (resampled to 10 fps) as from the clip, and a sample of them as full
  const off = await withAhead(false, () => captureAndSample({ camera: cam, ...fresh() }));
  assert.equal(ahead.decoded, 80);
  assert.equal(ahead.decoded, off.sample.decoded);
  assert.equal(ahead.manifest.stats.candidateStride, off.manifest.stats.candidateStride);
  assert.equal(ahead.selected, off.sample.selected);
});

test('a phone video (its display matrix turns it a quarter) gives upright frames, sampled ahead or from its clip', async () => {
  const phone = await rotatedClip(fx.dir, 'phone.mp4', clip);
  const cam = camera({ source: phone, sample: { budget: 8 } });
  const [a, b, c] = [fresh(), fresh(), fresh()];
  const ahead = await withAhead(true, () => captureAndSample({ camera: cam, ...a }));
  const after = await withAhead(false, () => captureAndSample({ camera: cam, ...b }));
  // a window shorter than the file is sampled from its clip, whose Matroska loses the matrix on ffmpeg 5.1
  const part = await captureAndSample({ camera: camera({ source: phone, capture: { seconds: 3 }, sample: { budget: 6 } }), ...c });
  for (const r of [ahead, after, part]) {
    // 384x288 coded, shown turned counter-clockwise: 288 wide, 384 high
    assert.deepEqual([r.capture.width, r.capture.height, r.capture.rotation], [288, 384, 270]);
    assert.deepEqual([r.manifest.width, r.manifest.height], [288, 384]);
  }
  // (an MP4's header and its recorded window differ by a frame or two, so the time blocks may
  // too: the same frames, not necessarily the same choice)
  assert.equal(ahead.manifest.stats.decoded, 80);
  assert.equal(after.manifest.stats.decoded, 80);
  // doctor's line for such a camera
  assert.equal(formatSourceDescription(await describeSource(phone)), 'h264 288x384 (turned from 384x288) @ 10 fps, 8.0 s');
  // the pixels as ffmpeg shows the file (its own autorotation), not merely the size: a kept frame
  // against the same frame of the file, and against it upside down
  const grey = async (args: string[]): Promise<Buffer> =>
    (await runFile(process.env.FFMPEG_PATH || 'ffmpeg', ['-v', 'error', ...args, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { encoding: 'buffer', maxBuffer: 1 << 22 })).stdout;
  const mad = (a: Buffer, b: Buffer): number => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;
  for (const [r, { store }] of [[ahead, a], [after, b], [part, c]] as const) {
    const kept = r.manifest.frames[0]!;
    const dir = await store.localPath(r.sample.frames);
    const jpeg = await grey(['-i', path.join(dir, 'images', `${kept.name}.jpg`)]);
    const shown = await grey(['-i', phone, '-vf', `select=eq(n\\,${kept.index})`]);
    const upsideDown = await grey(['-i', phone, '-vf', `select=eq(n\\,${kept.index}),hflip,vflip`]);
    assert.equal(jpeg.length, 288 * 384);
    assert.ok(mad(jpeg, shown) < 4, `kept frame vs the file as shown: ${mad(jpeg, shown)}`);
    assert.ok(mad(jpeg, upsideDown) > 4 * mad(jpeg, shown), `kept frame vs the file upside down: ${mad(jpeg, upsideDown)}`);
  }
});

test('a file with gaps (an NVR export of motion-triggered recording) is sampled over its video, gaps left out', async () => {
  // 5 s of video, 120 s of nothing, 5 s of video: 100 frames over 130 s
  const nvr = await gappyClip(fx.dir, 'nvr.mp4', { seconds: 5, gap: 120 });
  const outcomes: Array<{ kept: boolean; reason?: string }> = [];
  const { store, dataDir, workDir } = fresh();
  const cam = camera({ source: nvr, sample: { budget: 20 } });
  const captured = await captureSamplingAhead({ camera: cam, store, dataDir, workDir, onSampledAhead: (o) => outcomes.push(o) });
  assert.equal(captured.frames, 100);
  assert.ok(captured.seconds > 125, `window ${captured.seconds} s`);
  // its own rate, not the average the gap pulls down to 0.77 fps
  assert.equal(captured.fps, 10);
  assert.ok(Math.abs(captured.footageSeconds! - 10) < 0.5, `footage ${captured.footageSeconds} s`);
  assert.equal(outcomes.length, 0, 'a file with gaps is not sampled ahead');
  // doctor's line for such a camera
  assert.match(formatSourceDescription(await describeSource(nvr)), /^h264 384x288 @ 10 fps, 13\d\.\d s with gaps \(video only part of the time\)$/);
  const r = await sampleCapture({ camera: cam, captured, store, dataDir });
  // the video there is, once: not 130 s of frames with the gap filled by repeats of one frame
  assert.ok(r.decoded >= 95 && r.decoded <= 105, `decoded ${r.decoded}`);
  // the budget goes to the video (slots over the 130 s left most of them in the gap: 2 of 20 kept)
  assert.ok(r.selected >= 15, `selected ${r.selected} of 20`);
  assert.ok(r.manifest.frames.every((f) => f.t <= 10.5), 'frames are timed in seconds of video');
  assert.ok(r.manifest.stats.seconds < 11);
  // a file without gaps keeps its own window, as before
  const plain = await captureAndSample({ camera: camera({ sample: { budget: 8 } }), ...fresh() });
  assert.equal(plain.capture.footageSeconds, undefined);
});

test('a window shorter than the file is sampled from its clip (a copy and a decode may cut it at different frames)', async () => {
  const cam = camera({ capture: { seconds: 3 }, sample: { budget: 6 } });
  const before = sampledAheadStats();
  const r = await captureAndSample({ camera: cam, ...fresh() });
  assert.equal(sampledAheadStats().kept, before.kept);
  assert.equal(r.manifest.stats.decoded, 30);
  assert.ok(r.sample.selected > 0 && r.sample.selected <= 6);
});

test('the sample step takes a sample taken ahead only with its own run, settings and clip', async () => {
  const cam = camera({ sample: { budget: 8 } });
  const { store, dataDir, workDir } = fresh();
  const captured = await captureSamplingAhead({ camera: cam, store, dataDir, workDir, runKey: 'run-a' });
  assert.equal(sampledAheadStats().waiting, 1);
  const taken = sampledAheadStats().taken;
  // another run's sample step (its background state is another's), other settings: sampled afresh
  const other = await sampleCapture({ camera: cam, captured, store, dataDir, runKey: 'run-b' });
  const budget3 = await sampleCapture({ camera: camera({ sample: { budget: 3 } }), captured, store, dataDir, runKey: 'run-a' });
  assert.equal(sampledAheadStats().taken, taken);
  assert.ok(budget3.selected <= 3);
  // its own: taken, once
  const own = await sampleCapture({ camera: cam, captured, store, dataDir, runKey: 'run-a' });
  assert.equal(sampledAheadStats().taken, taken + 1);
  assert.equal(sampledAheadStats().waiting, 0);
  // the same frames (the manifests differ in what each run compared its background with)
  const picked = async (frames: { uri: string }): Promise<string[]> => (await readdir(path.join(fileURLToPath(frames.uri), 'images'))).sort();
  assert.deepEqual(await picked(own.frames), await picked(other.frames));

  // a sample taken ahead whose frames left the store meanwhile: the clip is sampled again
  const again = await captureSamplingAhead({ camera: cam, store, dataDir, workDir: path.join(dataDir, 'cap2'), runKey: 'run-c' });
  assert.equal(sampledAheadStats().waiting, 1);
  const expected = await picked(own.frames);
  await rm(path.join(store.root, 'trees'), { recursive: true, force: true });
  const resampled = await sampleCapture({ camera: cam, captured: again, store, dataDir, runKey: 'run-c' });
  assert.equal(sampledAheadStats().taken, taken + 1);
  assert.equal(sampledAheadStats().waiting, 0);
  assert.deepEqual(await picked(resampled.frames), expected);
});

test('a file whose header plans another window (audio outlasting the video) is sampled from its clip, and the capture says why', async () => {
  // 8 s of video, 9.5 s of audio: the header's duration is the audio's, the clip holds the video's 8 s
  const longAudio = path.join(fx.dir, 'long-audio.mp4');
  await ffmpeg(['-i', clip, '-f', 'lavfi', '-i', 'sine=duration=9.5', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', longAudio]);
  const cam = camera({ source: longAudio, sample: { budget: 8 } });
  const outcomes: unknown[] = [];
  const { store, dataDir, workDir } = fresh();
  const before = sampledAheadStats();
  const captured = await captureSamplingAhead({ camera: cam, store, dataDir, workDir, runKey: 'r', onSampledAhead: (o) => outcomes.push(o) });
  assert.equal(captured.seconds, 8);
  assert.equal(outcomes.length, 1);
  const [o] = outcomes as Array<{ kept: boolean; reason?: string }>;
  assert.equal(o!.kept, false);
  assert.match(o!.reason ?? '', /recorded window \(8 s .* differs from the file's header \(9\.5 s/);
  assert.equal(sampledAheadStats().kept, before.kept);
  // the sample step samples the clip, as with sampling ahead turned off
  const r = await sampleCapture({ camera: cam, captured, store, dataDir, runKey: 'r' });
  assert.equal(sampledAheadStats().taken, before.taken);
  assert.equal(r.decoded, 80);
  const off = await withAhead(false, () => captureAndSample({ camera: cam, ...fresh(), runKey: 'r' }));
  assert.deepEqual(r.manifest, off.manifest);
});

test('a capture that fails leaves no sample ahead behind', async () => {
  const cut = await truncated(DEMO_VIDEO, path.join(fx.dir, 'half.avi'), 0.3);
  const before = sampledAheadStats();
  const { store, dataDir, workDir } = fresh();
  await assert.rejects(captureAndSample({ camera: camera({ source: cut }), store, dataDir, workDir }), (e: Error) => {
    assert.ok(e instanceof SourceInvalidError, `${e.name}: ${e.message}`);
    return true;
  });
  assert.equal(sampledAheadStats().kept, before.kept);
  assert.equal(sampledAheadStats().waiting, before.waiting);
  // nothing half-written in the store's scratch
  assert.deepEqual(await readdir(path.join(store.root, 'tmp')).catch(() => []), []);
});

test('only local files are sampled ahead', () => {
  assert.equal(samplesAhead('/videos/cam1.mp4'), true);
  assert.equal(samplesAhead('relative/cam.mkv'), true);
  for (const live of ['rtsp://cam/stream', 'http://cam/mjpg', 'https://cdn/live.m3u8', 'udp://239.0.0.1:1234', '/dev/video0', 'file:/videos/a.mp4', 'concat:a.ts|b.ts']) {
    assert.equal(samplesAhead(live), false, live);
  }
  process.env.AUTOTUNER_SAMPLE_AHEAD = '0';
  try {
    assert.equal(samplesAhead('/videos/cam1.mp4'), false);
  } finally {
    delete process.env.AUTOTUNER_SAMPLE_AHEAD;
  }
});
