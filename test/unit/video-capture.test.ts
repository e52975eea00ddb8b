import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { makeCaptureActivities } from '../../activities/capture.js';
import { makeSampleActivities } from '../../activities/sample.js';
import { DirectoryArtifactStore } from '../../src/artifacts/store.js';
import { parseConfig } from '../../src/config/load.js';
import type { CaptureResult, RunContext, SampleResult } from '../../src/pipeline/types.js';
import type { SampleManifest } from '../../src/sampling/manifest.js';
import { sampledAheadStats } from '../../src/sampling/sample-step.js';
import { captureWorkDir } from '../../src/video/capture-step.js';
import { decodeFrames } from '../../src/video/decode.js';
import { muxedVideoFrames, recordSource, type RecordAttempt } from '../../src/video/record.js';
import type { ActivityDeps } from '../../src/worker/deps.js';
import { classifyFfmpegFailure, DiskFullError, EmptySourceError, SourceInvalidError, SourceUnreachableError, stderrTail, toSourceFailure } from '../../src/video/errors.js';
import { hasNoTimestamps, inputArgs, parseHeader, TailBuffer } from '../../src/video/ffmpeg.js';
import { closedPort, cutDemo, ffmpeg, serveHls, serveMjpeg, tempDir } from '../fixtures/clips.js';
import { serveRtsp } from '../fixtures/rtsp.js';
import { describeSource, formatSourceDescription } from '../../src/video/probe.js';

const fx = await tempDir('capture');
test.after(() => fx.cleanup());
const clip = await cutDemo(fx.dir, 'gop10.avi', { seconds: 6 }); // keyframe every 10 frames (1 s)

test('records the frames/seconds window by stream copy and counts frames', async () => {
  const r = await recordSource({ source: clip, fps: 10, frames: 25, workDir: path.join(fx.dir, 'win') });
  assert.equal(r.reencoded, false);
  // stream copy cuts at packets: 2.5 s of a 10 fps clip
  assert.equal(r.frames, 25);
  assert.equal(r.seconds, 2.5);
  assert.deepEqual([r.width, r.height, r.fps, r.codec], [384, 288, 10, 'mpeg4']);
  const decoded = await decodeFrames({ source: r.path }, () => {});
  assert.equal(decoded.frames, 25);
});

test('a crashed capture resumes with the remaining segments, never re-recording finished ones', async () => {
  const workDir = path.join(fx.dir, 'resume');
  // first attempt: got through 2 one-second segments, then "crashed" (no completion marker,
  // a half-written third segment left behind)
  const first = await recordSource({ source: clip, fps: 10, seconds: 2, segmentSeconds: 1, workDir });
  assert.equal(first.segments, 2);
  await rm(path.join(workDir, 'complete'));
  await rm(path.join(workDir, 'clip.mkv'));
  await writeFile(path.join(workDir, 'seg-00002.mkv'), 'partial garbage');
  const before = await Promise.all(['seg-00000.mkv', 'seg-00001.mkv'].map(async (f) => (await stat(path.join(workDir, f))).mtimeMs));

  const progress: number[] = [];
  const second = await recordSource({ source: clip, fps: 10, seconds: 5, segmentSeconds: 1, workDir, onProgress: (p) => progress.push(p.segmentsDone) });
  assert.equal(second.resumedSegments, 2);
  assert.equal(second.segments, 5);
  assert.equal(second.frames, 50);
  assert.equal(second.seconds, 5);
  const after = await Promise.all(['seg-00000.mkv', 'seg-00001.mkv'].map(async (f) => (await stat(path.join(workDir, f))).mtimeMs));
  assert.deepEqual(after, before, 'finished segments were rewritten');
  assert.ok(progress.every((d) => d >= 2));
  // the joined clip has each window once: frame i of the clip == frame i of the source
  const grey = async (src: string): Promise<number[]> => {
    const out: number[] = [];
    await decodeFrames({ source: src, maxFrames: 50 }, (f) => {
      const d = f.toRgb().data;
      let s = 0;
      for (let i = 0; i < d.length; i += 97) s += d[i]!;
      out.push(s);
    });
    return out;
  };
  const [a, b] = [await grey(second.path), await grey(clip)];
  assert.equal(a.length, 50);
  const mismatched = a.filter((v, i) => Math.abs(v - b[i]!) > 0.01 * b[i]!).length;
  assert.equal(mismatched, 0);
  assert.deepEqual((await readdir(workDir)).filter((n) => n.startsWith('seg-')).length, 5);
});

function ctxFor(source: string, extra: Record<string, unknown> = {}): { deps: ActivityDeps; ctx: RunContext } {
  const config = parseConfig({ dataDir: path.join(fx.dir, 'data'), cameras: [{ id: 'cam1', source, capture: { seconds: 3, fps: 10 }, sample: { budget: 5 }, ...extra }] });
  const dataDir = path.join(fx.dir, 'data');
  const deps: ActivityDeps = { config, dataDir, store: new DirectoryArtifactStore(path.join(dataDir, 'artifacts')), python: 'python3', repoRoot: process.cwd() };
  return { deps, ctx: { cameraId: 'cam1', workflowId: 'tune/cam1', runId: `run-${Math.random().toString(36).slice(2)}`, camera: config.cameras[0]! } };
}

test('capture and sample activities: heartbeats, stored artifacts, work dir cleaned', async () => {
  // the whole of a 3 s file (a window shorter than the file is not sampled ahead)
  const { deps, ctx } = ctxFor(await cutDemo(fx.dir, 'three.avi', { seconds: 3 }), { capture: { fps: 10 } });
  const env = new MockActivityEnvironment();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const captured: CaptureResult = await env.run(() => makeCaptureActivities(deps).capture(ctx));
  assert.equal(captured.frames, 30);
  assert.equal(captured.clip.kind, 'other');
  await deps.store.verify(captured.clip);
  assert.ok(beats.length > 0 && beats.every((b) => typeof (b as { framesSoFar: number }).framesSoFar === 'number'));
  await assert.rejects(stat(captureWorkDir(deps.dataDir, ctx)));
  // the file was sampled while its clip was recorded (src/sampling/sample-ahead.ts): the capture
  // heartbeats that sample's progress, and the sample activity takes it
  assert.ok(beats.some((b) => (b as { sampledAhead?: number }).sampledAhead === 30), JSON.stringify(beats));
  const taken = sampledAheadStats().taken;
  const sampled: SampleResult = await env.run(() => makeSampleActivities(deps).sample(ctx, captured));
  assert.equal(sampledAheadStats().taken, taken + 1);
  assert.equal(sampled.frames.kind, 'frames');
  assert.equal(sampled.decoded, 30);
  assert.ok(sampled.selected > 0 && sampled.selected <= 5);
  assert.equal(sampled.train + sampled.val, sampled.selected);
  // 30 frames for a budget of 5 with 2 candidates a slot: the activity planned 1 whole frame in 3
  const manifest = JSON.parse(await readFile(path.join(await deps.store.localPath(sampled.frames), 'manifest.json'), 'utf8')) as SampleManifest;
  assert.equal(manifest.stats.candidateStride, 3);
  assert.ok(manifest.frames.every((f) => f.index % 3 === 0));
  assert.ok(!('manifest' in sampled), 'the manifest stays in the artifact, not in workflow history');
});

test('activity failures: unreachable is retryable, a missing file is not', async () => {
  const port = await closedPort();
  const env = new MockActivityEnvironment();
  const un = ctxFor(`rtsp://u:leakme@127.0.0.1:${port}/x`);
  await assert.rejects(env.run(makeCaptureActivities(un.deps).capture, un.ctx), (e: unknown) => {
    assert.ok(e instanceof ApplicationFailure);
    assert.equal(e.type, 'SourceUnreachable');
    assert.equal(e.nonRetryable, false);
    assert.ok(!e.message.includes('leakme'));
    return true;
  });
  const missing = ctxFor(path.join(fx.dir, 'missing.mp4'));
  await assert.rejects(env.run(makeCaptureActivities(missing.deps).capture, missing.ctx), (e: unknown) => {
    assert.ok(e instanceof ApplicationFailure);
    assert.equal(e.type, 'SourceInvalid');
    assert.equal(e.nonRetryable, true);
    return true;
  });
});

test('capture activity retried after a crash continues from the finished segments', async () => {
  const { deps, ctx } = ctxFor(clip);
  const workDir = captureWorkDir(deps.dataDir, ctx);
  // the crashed attempt: 2 of the 3 seconds recorded in finished segments
  await recordSource({ source: clip, fps: 10, seconds: 2, segmentSeconds: 1, workDir });
  await rm(path.join(workDir, 'complete'));
  await rm(path.join(workDir, 'clip.mkv'));
  const env = new MockActivityEnvironment({ heartbeatDetails: { framesSoFar: 20, segmentsDone: 2 } });
  const beats: Array<{ segmentsDone: number }> = [];
  env.on('heartbeat', (d: { segmentsDone: number }) => beats.push(d));
  const kept = sampledAheadStats().kept;
  const captured: CaptureResult = await env.run(() => makeCaptureActivities(deps).capture(ctx));
  assert.equal(captured.frames, 30);
  assert.equal(captured.seconds, 3);
  // recording only the rest of the window: no sample ahead (it would miss the finished segments)
  assert.equal(sampledAheadStats().kept, kept);
  assert.ok(beats.length > 0 && beats.every((b) => b.segmentsDone >= 2), JSON.stringify(beats));
  const frames: number[] = [];
  await decodeFrames({ source: await deps.store.localPath(captured.clip) }, (f) => frames.push(f.index));
  assert.equal(frames.length, 30);
});

// ffmpeg >= 6.1 prints no frame= in -progress for a stream copy, so the count comes from the -v verbose end
// summary. These are the real summaries of Debian's ffmpeg 5.1 and the static ffmpeg 7.0 on vtest.avi.
test('a live MJPEG camera (frames without timestamps) is recorded by wall-clock time, not at a guessed 25 fps', async () => {
  // 10 fps, served in real time as multipart JPEG over HTTP, the way IP cameras serve it
  const camera = await serveMjpeg(clip);
  try {
    const spawned: RecordAttempt[] = [];
    const r = await recordSource({ source: camera.url, fps: 10, seconds: 3, workDir: path.join(fx.dir, 'mjpeg-1'), onRecording: (a) => spawned.push(a) });
    // Read at ffmpeg's guess of 25 fps, a 3 s window was 75 frames (7.5 s of the camera's time),
    // labelled 25 fps. Timed by arrival: ~30 frames, at the camera's rate.
    assert.ok(r.frames >= 15 && r.frames <= 45, `frames ${r.frames}`);
    assert.ok(r.fps >= 6 && r.fps <= 14, `fps ${r.fps}`);
    assert.ok(Math.abs(r.seconds - 3) < 0.5, `seconds ${r.seconds}`);
    assert.equal(r.source, camera.url.replace('viewer:mjpeg-secret@', '***@'));
    // the first ffmpeg was stopped at the header (nothing recorded), the second recorded the window
    assert.equal(spawned.length, 2);
    assert.equal(camera.viewers(), 2);
    assert.deepEqual((await readdir(path.join(fx.dir, 'mjpeg-1'))).filter((n) => n.startsWith('seg-')).length, 1);
    // the clip's own timestamps span the window: the sample step's fps filter and time blocks read them
    const decoded = await decodeFrames({ source: r.path, fps: 10 }, () => {});
    assert.ok(Math.abs(decoded.frames - 30) <= 12, `decoded ${decoded.frames} frames at 10 fps`);

    // this process remembers the source: its next capture starts with arrival times at once
    const again: RecordAttempt[] = [];
    const r2 = await recordSource({ source: camera.url, fps: 10, seconds: 2, workDir: path.join(fx.dir, 'mjpeg-2'), onRecording: (a) => again.push(a) });
    assert.equal(again.length, 1);
    assert.equal(camera.viewers(), 3);
    assert.ok(r2.frames >= 10 && r2.frames <= 30, `frames ${r2.frames}`);
  } finally {
    await camera.close();
  }
});

test('a live RTSP camera (H.264 over RTP, interleaved on TCP): stream copy on its own timestamps, a wrong password refused, credentials in no message', async () => {
  // a password URLs must percent-encode: ffmpeg decodes it for the camera, redaction hides both forms
  const password = 'p@ss:w/rd% 1';
  const camera = await serveRtsp(clip, { password });
  const shown = camera.url.replace(/\/\/[^@]*@/, '//***@');
  try {
    const spawned: RecordAttempt[] = [];
    const r = await recordSource({ source: camera.url, fps: 10, seconds: 3, workDir: path.join(fx.dir, 'rtsp-1'), onRecording: (a) => spawned.push(a) });
    assert.equal(r.codec, 'h264');
    assert.equal(r.reencoded, false);
    assert.equal(r.source, shown);
    assert.ok(Math.abs(r.seconds - 3) < 0.6, `seconds ${r.seconds}`);
    // the stream is joined at any point and copied from its next keyframe (one a second here)
    assert.ok(r.frames >= 15 && r.frames <= 40, `frames ${r.frames}`);
    // RTP carries timestamps: recorded at once, at the camera's rate
    assert.equal(spawned.length, 1);
    assert.equal(r.fps, 10);
    const decoded = await decodeFrames({ source: r.path }, () => {});
    assert.equal(decoded.frames, r.frames);

    const wrong = camera.url.replace(encodeURIComponent(password), 'not-the-password');
    await assert.rejects(recordSource({ source: wrong, fps: 10, seconds: 2, workDir: path.join(fx.dir, 'rtsp-auth') }), (e: Error) => {
      assert.ok(e instanceof SourceInvalidError && !e.retryable, String(e));
      assert.match(e.message, /authorization failed \(check the camera user and password\)/);
      assert.ok(!e.message.includes('not-the-password') && !(e as SourceInvalidError).stderrTail?.includes('not-the-password'), e.message);
      return true;
    });

    // a camera that accepts the connection and closes it unanswered (rebooting, out of viewers) is an outage
    camera.setOffline(true);
    await assert.rejects(recordSource({ source: camera.url, fps: 10, seconds: 2, workDir: path.join(fx.dir, 'rtsp-off') }), (e: Error) => {
      assert.ok(e instanceof SourceUnreachableError && e.retryable, String(e));
      assert.match(e.message, /closed the connection without an RTSP answer/);
      for (const secret of [password, encodeURIComponent(password)]) assert.ok(!e.message.includes(secret) && !(e as SourceUnreachableError).stderrTail?.includes(secret), e.message);
      return true;
    });
  } finally {
    await camera.close();
  }
});

test('a camera that refuses RTSP over TCP (461) is a config error that says what to set; over UDP it records', async () => {
  const camera = await serveRtsp(clip, { transport: 'udp' });
  try {
    await assert.rejects(recordSource({ source: camera.url, fps: 10, seconds: 2, workDir: path.join(fx.dir, 'rtsp-461') }), (e: Error) => {
      // before: "failed (ffmpeg exit 1)", retryable: retried for the camera's whole outage window, never to work
      assert.ok(e instanceof SourceInvalidError && !e.retryable, String(e));
      assert.match(e.message, /refuses the RTSP transport asked for \(461 Unsupported Transport\): set the camera's capture\.rtspTransport/);
      return true;
    });
    const r = await recordSource({ source: camera.url, fps: 10, seconds: 3, rtspTransport: 'udp', workDir: path.join(fx.dir, 'rtsp-udp') });
    assert.equal(r.codec, 'h264');
    assert.ok(Math.abs(r.seconds - 3) < 0.6, `seconds ${r.seconds}`);
    assert.ok(r.frames >= 15 && r.frames <= 40, `frames ${r.frames}`);
  } finally {
    await camera.close();
  }
  assert.deepEqual(inputArgs('rtsp://cam/x', { timeoutSec: 1, rtspTransport: 'udp' }).slice(0, 2), ['-rtsp_transport', 'udp']);
  assert.deepEqual(parseConfig({ cameras: [{ id: 'c', source: 'rtsp://cam/x' }] }).cameras[0]!.capture.rtspTransport, 'tcp');
});

test('a camera that drops off the network mid-window fails the capture as retryable; the retry records only the rest', async () => {
  const camera = await serveRtsp(clip);
  const workDir = path.join(fx.dir, 'rtsp-drop');
  try {
    // 1 s segments (the camera's keyframe interval), so the part before the drop is on disk
    const window = { source: camera.url, fps: 10, seconds: 5, segmentSeconds: 1, workDir };
    const drop = setTimeout(() => camera.dropClients(), 2500);
    await assert.rejects(recordSource(window), (e: Error) => {
      clearTimeout(drop);
      // before: ffmpeg ended cleanly at the stream's end and the capture returned ~2 s as the window
      assert.ok(e instanceof SourceUnreachableError && e.retryable, String(e));
      assert.match(e.message, /was cut short: the stream ended after [\d.]+ s of the 5\.0 s to record/);
      return true;
    });
    const kept = (await readdir(workDir)).filter((n) => /^seg-\d+\.mkv$/.test(n));
    assert.ok(kept.length >= 1, `segments kept: ${kept.join(', ')}`);
    // the retry (what the activity's retry policy does) records the rest of the window and joins it
    const r = await recordSource(window);
    assert.equal(r.resumedSegments, kept.length);
    assert.ok(r.segments > kept.length);
    assert.ok(Math.abs(r.seconds - 5) < 1, `seconds ${r.seconds}`);
    assert.equal(camera.plays(), 2);
    // every recorded frame decodes (a constant-rate decode also repeats frames across the outage's gap)
    const decoded = await decodeFrames({ source: r.path }, () => {});
    assert.ok(decoded.frames >= r.frames, `decoded ${decoded.frames} of ${r.frames}`);
  } finally {
    await camera.close();
  }
});

test('a camera that hangs (connection open, no packets) times out as a retryable outage that keeps what it recorded', async () => {
  const camera = await serveRtsp(clip);
  const workDir = path.join(fx.dir, 'rtsp-hung');
  try {
    // ffmpeg's own socket timeout (2 s here, `timeoutSec`) ends the read; the capture's watchdog (20 s) is the backstop
    const window = { source: camera.url, fps: 10, seconds: 6, segmentSeconds: 1, timeoutSec: 2, workDir };
    const hang = setTimeout(() => camera.setFrozen(true), 2500);
    await assert.rejects(recordSource(window), (e: Error) => {
      clearTimeout(hang);
      assert.ok(e instanceof SourceUnreachableError && e.retryable, String(e));
      assert.match(e.message, /was cut short: the stream ended after [\d.]+ s of the 6\.0 s to record/);
      return true;
    });
    const kept = (await readdir(workDir)).filter((n) => /^seg-\d+\.mkv$/.test(n)).length;
    assert.ok(kept >= 1, `segments kept: ${kept}`);
    camera.setFrozen(false);
    const r = await recordSource(window);
    assert.equal(r.resumedSegments, kept);
    assert.ok(Math.abs(r.seconds - 6) < 1, `seconds ${r.seconds}`);
  } finally {
    await camera.close();
  }
});

test('a camera that answers but sends no video (its encoder stalled) is an outage to retry, not an empty or unsupported source', async () => {
  const camera = await serveRtsp(clip);
  try {
    camera.setFrozen(true);
    const spawned: RecordAttempt[] = [];
    // before: "unsupported or undetectable codec" (non-retryable), then a re-encode attempt, then "gave zero video frames"
    await assert.rejects(recordSource({ source: camera.url, fps: 10, seconds: 4, timeoutSec: 2, workDir: path.join(fx.dir, 'rtsp-mute'), onRecording: (a) => spawned.push(a) }), (e: Error) => {
      assert.ok(e instanceof SourceUnreachableError && e.retryable, String(e));
      assert.match(e.message, /the camera sent no video before its stream timed out or ended/);
      return true;
    });
    assert.equal(spawned.length, 1, 'no re-encode attempt');
  } finally {
    await camera.close();
  }
  // the same words from a file, or with no video stream at all, keep their meaning
  const eof = 'Cannot determine format of input stream 0:0 after EOF\nError marking filters as finished\n';
  assert.ok(classifyFfmpegFailure({ source: '/videos/a.mp4', exitCode: 1, stderr: eof, what: 'capture' }) instanceof EmptySourceError);
  assert.ok(classifyFfmpegFailure({ source: 'rtsp://cam/x', exitCode: 1, stderr: eof, what: 'capture' }) instanceof SourceUnreachableError);
  assert.ok(classifyFfmpegFailure({ source: 'rtsp://cam/x', exitCode: 1, stderr: "Stream map '0:v:0' matches no streams.\n", what: 'capture' }) instanceof EmptySourceError);
  const unprobed = '[rtsp @ 0x1] Could not find codec parameters for stream 0 (Video: h264, none): unspecified size\n';
  assert.ok(classifyFfmpegFailure({ source: 'rtsp://cam/x', exitCode: 1, stderr: unprobed, what: 'capture' }) instanceof SourceUnreachableError);
  // over HTTP the same words can be a file ffmpeg cannot read: still not retried for hours
  assert.ok(classifyFfmpegFailure({ source: 'http://cdn/a.avi', exitCode: 1, stderr: unprobed, what: 'capture' }) instanceof SourceInvalidError);
});

test('a live HLS stream is recorded on its own timestamps: the window in stream time, at its rate', async () => {
  const stream = await serveHls(clip, fx.dir);
  try {
    const spawned: RecordAttempt[] = [];
    const r = await recordSource({ source: stream.url, fps: 10, seconds: 3, workDir: path.join(fx.dir, 'hls'), onRecording: (a) => spawned.push(a) });
    // HLS has timestamps: no restart with arrival times (which would squeeze a fetched segment's frames together)
    assert.equal(spawned.length, 1);
    assert.equal(r.fps, 10);
    assert.ok(Math.abs(r.seconds - 3) < 0.6, `seconds ${r.seconds}`);
    assert.ok(r.frames >= 20 && r.frames <= 40, `frames ${r.frames}`);
    const decoded = await decodeFrames({ source: r.path }, () => {});
    assert.equal(decoded.frames, r.frames);
  } finally {
    await stream.close();
  }
});

test('a file on a web server that ends before the window is a short clip, not an outage (its header announces its duration)', async () => {
  const http = await import('node:http');
  const { createReadStream } = await import('node:fs');
  const size = (await stat(clip)).size;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'video/x-msvideo' });
    createReadStream(clip).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}/gop10.avi`;
    const r = await recordSource({ source: url, fps: 10, seconds: 20, workDir: path.join(fx.dir, 'http-file') });
    assert.deepEqual([r.frames, r.seconds], [60, 6]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('describeSource (the camera check of autotuner doctor) reads each kind of source as the capture opens it, or says why not', async () => {
  const [rtsp, mjpeg] = await Promise.all([serveRtsp(clip), serveMjpeg(clip)]);
  try {
    const cam = await describeSource(rtsp.url, { timeoutSec: 5 });
    assert.deepEqual([cam.codec, cam.width, cam.height, cam.fps, cam.live, cam.timedByArrival], ['h264', 384, 288, 10, true, false]);
    assert.equal(formatSourceDescription(cam), 'h264 384x288 @ 10 fps, live (rtsp)');
    assert.ok(!cam.source.includes('rtsp-secret'));
    const mj = await describeSource(mjpeg.url, { timeoutSec: 5 });
    assert.equal(mj.timedByArrival, true);
    assert.match(formatSourceDescription(mj), /^mjpeg 384x288 no timestamps: timed by arrival, live \(mpjpeg\)$/);
    await assert.rejects(describeSource(rtsp.url.replace('rtsp-secret', 'nope'), { timeoutSec: 5 }), (e: Error) => e instanceof SourceInvalidError && /authorization failed/.test(e.message) && !e.message.includes('nope'));
  } finally {
    await Promise.all([rtsp.close(), mjpeg.close()]);
  }
  assert.equal(formatSourceDescription(await describeSource(clip)), 'mpeg4 384x288 @ 10 fps, 6.0 s');
  await assert.rejects(describeSource(`rtsp://u:p@127.0.0.1:${await closedPort()}/x`, { timeoutSec: 2 }), SourceUnreachableError);
  await assert.rejects(describeSource(path.join(fx.dir, 'missing.mp4')), (e: Error) => e instanceof SourceInvalidError && /file not found/.test(e.message));
});

test('input formats without timestamps are recognised from the header; arrival times go before the input', () => {
  const mjpeg = parseHeader("Input #0, mpjpeg, from 'http://***@cam/video.mjpg':\n  Duration: N/A, bitrate: N/A\n  Stream #0:0: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 768x576 [SAR 1:1 DAR 4:3], 25 tbr, 25 tbn\n");
  assert.equal(mjpeg.inputFormat, 'mpjpeg');
  assert.equal(hasNoTimestamps(mjpeg.inputFormat), true);
  const mp4 = parseHeader("Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':\n  Duration: 00:00:10.00, start: 0.000000, bitrate: 1 kb/s\n  Stream #0:0[0x1](und): Video: h264 (High), yuv420p, 640x480, 25 fps, 25 tbr\n");
  assert.equal(mp4.inputFormat, 'mov,mp4,m4a,3gp,3g2,mj2');
  // an h264 *codec* in a container is timed by the container
  assert.equal(hasNoTimestamps(mp4.inputFormat), false);
  for (const f of ['rtsp', 'hls', 'flv', 'mpegts', 'matroska,webm', 'video4linux2,v4l2']) assert.equal(hasNoTimestamps(f), false, f);
  for (const f of ['mjpeg', 'h264', 'hevc']) assert.equal(hasNoTimestamps(f), true, f);
  assert.equal(hasNoTimestamps(null), false);
  assert.deepEqual(inputArgs('http://cam/v.mjpg', { timeoutSec: 2, wallclock: true }), ['-rw_timeout', '2000000', '-use_wallclock_as_timestamps', '1', '-i', 'http://cam/v.mjpg']);
  assert.deepEqual(inputArgs('rtsp://cam/x', { timeoutSec: 1, wallclock: true }).slice(-4), ['-use_wallclock_as_timestamps', '1', '-i', 'rtsp://cam/x']);
  assert.ok(!inputArgs('http://cam/v.mjpg').includes('-use_wallclock_as_timestamps'));
});

test('frames are counted from the end summary of ffmpeg 5.1 and 7.0, copied or encoded', () => {
  const v51copy = '  Input stream #0:0 (video): 795 packets read (8108111 bytes); \n  Total: 795 packets (8108111 bytes) demuxed\n' +
    '  Output stream #0:0 (video): 795 packets muxed (8108111 bytes); \n  Total: 795 packets (8108111 bytes) muxed\n';
  const v70copy = "[out#0/segment @ 0x1229b7c0] video:7918KiB audio:0KiB subtitle:0KiB other streams:0KiB global headers:0KiB muxing overhead: unknown\n" +
    '[out#0/segment @ 0x1229b7c0]   Output stream #0:0 (video): 795 packets muxed (8108111 bytes); \n' +
    '[out#0/segment @ 0x1229b7c0]   Total: 795 packets (8108111 bytes) muxed\n' +
    '[in#0/avi @ 0x12285440]   Input stream #0:0 (video): 795 packets read (8108111 bytes); \n';
  const v70encode = '[out#0/matroska @ 0x442e3000]   Output stream #0:0 (video): 30 frames encoded; 30 packets muxed (546281 bytes); \n' +
    '[in#0/avi @ 0x442ccc80]   Input stream #0:0 (video): 48 packets read (595262 bytes); 40 frames decoded; 0 decode errors; \n';
  assert.equal(muxedVideoFrames(v51copy), 795);
  assert.equal(muxedVideoFrames(v70copy), 795);
  assert.equal(muxedVideoFrames(v70encode), 30);
  assert.equal(muxedVideoFrames('[in#0 @ 0x1] Error opening input: No such file or directory\n'), null);
  // The summary is statistics, not a cause: error messages leave it out.
  assert.equal(stderrTail(v51copy + v70copy + 'Conversion failed!\n', 'x.avi'), 'Conversion failed!');
});

test('a title that reads like the end summary does not fool the frame count', async () => {
  const tricky = path.join(fx.dir, 'meta.mkv');
  await ffmpeg(['-i', clip, '-t', '2', '-c', 'copy', '-metadata', 'title=Output stream #0:0 (video): 5000 packets muxed', tricky]);
  const r = await recordSource({ source: tricky, fps: 10, workDir: path.join(fx.dir, 'meta') });
  assert.equal(r.frames, 20);
});

test('a long ffmpeg log keeps its header for parseHeader and its end for errors', () => {
  const log = new TailBuffer(4000, 1000);
  log.push("Input #0, avi, from 'x.avi':\n  Duration: 00:01:19.50, start: 0.000000, bitrate: 817 kb/s\n");
  log.push('  Stream #0:0: Video: msmpeg4v3 (DIV3 / 0x33564944), yuv420p, 768x576, 10 fps, 10 tbr, 10 tbn\n');
  // a long capture: a verbose line or two per segment
  for (let i = 0; i < 2000; i++) log.push(`[segment @ 0x1c4] segment:'/data/capture/run/seg-${String(i).padStart(5, '0')}.mkv' count:${i} ended\n`);
  log.push('[vost#0:0/rawvideo @ 0x1] Terminating thread with return code 0 (success)\nConversion failed!\n');
  const text = log.toString();
  assert.ok(text.length < 10_000, `bounded: ${text.length}`);
  const h = parseHeader(text);
  assert.deepEqual([h.input?.width, h.input?.height, h.input?.fps, h.durationSec], [768, 576, 10, 79.5]);
  const tail = stderrTail(text, 'x.avi');
  assert.match(tail, /Conversion failed!$/);
  assert.doesNotMatch(tail, /segment:|Terminating thread|log cut/);
});

test("ffmpeg 5.1's and 7's wordings: causes stay in error messages, empty outputs are EmptySource", () => {
  assert.equal(stderrTail('Output file #0 does not contain any stream\n[out#0 @ 0x1] Terminating thread with return code 0 (success)\n', 'x'), 'Output file #0 does not contain any stream');
  for (const stderr of [
    'Nothing was written into output file 0 (pipe:), because at least one of its streams received no packets.\n', // 5.1
    '[out#0/rawvideo @ 0x1] Nothing was written into output file, because at least one of its streams received no packets.\n', // 7
    'Cannot determine format of input 0:0 after EOF\n', // 7
    'Cannot determine format of input stream 0:0 after EOF\n', // 5.1
  ]) {
    assert.ok(classifyFfmpegFailure({ source: 'x.avi', exitCode: 1, stderr, what: 'decode' }) instanceof EmptySourceError, stderr);
  }
});

test('ffmpeg crashing on a local file is not retried as an outage; a killed one still is', () => {
  const crash = classifyFfmpegFailure({ source: '/data/cam.ts', exitCode: null, signal: 'SIGSEGV', stderr: '', what: 'decode' });
  assert.ok(crash instanceof SourceInvalidError, crash.name);
  assert.match(crash.message, /ffmpeg crashed \(SIGSEGV\) on this file; try another ffmpeg build/);
  assert.ok(classifyFfmpegFailure({ source: '/data/cam.ts', exitCode: null, signal: 'SIGKILL', stderr: '', what: 'decode' }) instanceof SourceUnreachableError);
  assert.ok(classifyFfmpegFailure({ source: 'rtsp://cam/x', exitCode: null, signal: 'SIGSEGV', stderr: '', what: 'capture' }) instanceof SourceUnreachableError);
});

test('a full disk fails the capture as DiskFull: retryable, its directory named, no re-encode tried', async () => {
  // The recording's segment is a link to /dev/full, which takes no byte (ENOSPC), made as ffmpeg
  // starts: ffmpeg opens its output only after loading its libraries (tens of ms).
  const workDir = path.join(fx.dir, 'disk-full');
  const attempts: RecordAttempt[] = [];
  let failure: unknown;
  await assert.rejects(
    recordSource({
      source: clip,
      fps: 10,
      workDir,
      onRecording: (a) => {
        attempts.push(a);
        symlinkSync('/dev/full', path.join(workDir, 'seg-00000.mkv'));
      },
    }),
    (e: Error) => {
      failure = e;
      assert.ok(e instanceof DiskFullError, `${e.name}: ${e.message}`);
      assert.equal(e.retryable, true);
      assert.match(e.message, /the disk is full writing .*disk-full .*No space left on device.*free space there/);
      return true;
    },
  );
  // before, the copy's failure was answered with a re-encode, which failed too, as "SourceInvalid"
  assert.deepEqual(attempts.map((a) => a.reencode), [false]);
  // the lost segment is gone, from the disk and from ffmpeg's segment list (ffmpeg 5.1 lists it, and
  // even exits 0 when the write fails only at its trailer: both were taken for a recorded segment)
  assert.deepEqual((await readdir(workDir)).filter((n) => n.startsWith('seg-')), []);
  for (const list of (await readdir(workDir)).filter((n) => n.endsWith('.csv'))) assert.doesNotMatch(await readFile(path.join(workDir, list), 'utf8'), /seg-00000/);
  // space freed: the retry records the whole window, not "after" the lost segment
  const retried = await recordSource({ source: clip, fps: 10, workDir });
  assert.equal(retried.frames, 60);
  assert.equal(retried.resumedSegments, 0);
  const f = toSourceFailure(failure);
  assert.ok(f instanceof ApplicationFailure);
  assert.equal(f.type, 'DiskFull');
  assert.equal(f.nonRetryable, false);
  // a full disk while storing (code ENOSPC, e.g. the sample's JPEGs) is the same failure
  const enospc = Object.assign(new Error('cannot write /data/x.jpg: the disk is full'), { code: 'ENOSPC' });
  const g = toSourceFailure(enospc);
  assert.ok(g instanceof ApplicationFailure && g.type === 'DiskFull' && !g.nonRetryable);
});

test("a full disk is read from ffmpeg's own error lines, not from the input's metadata", () => {
  const title = [
    "Input #0, matroska,webm, from 'cam.mkv':",
    '  Metadata:',
    '    title           : No space left on device',
    "[matroska,webm @ 0x1] Invalid data found when processing input",
  ].join('\n');
  assert.ok(classifyFfmpegFailure({ source: 'cam.mkv', exitCode: 1, stderr: title, what: 'capture' }) instanceof SourceInvalidError);
  for (const line of [
    'Error writing trailer of /w/seg-%05d.mkv: No space left on device', // 5.1
    '[vost#0:0/copy @ 0x45dd71c0] Error submitting a packet to the muxer: No space left on device', // 7
  ]) {
    const e = classifyFfmpegFailure({ source: 'rtsp://cam/x', exitCode: 1, stderr: `${title}\n${line}\n`, what: 'capture', output: '/w' });
    assert.ok(e instanceof DiskFullError, `${line}: ${e.name}`);
    assert.match(e.message, /writing \/w /);
  }
});
