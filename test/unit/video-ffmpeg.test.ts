import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeArgs, decodeFrames } from '../../src/video/decode.js';
import { inputArgs, locateFfmpeg, parseHeader } from '../../src/video/ffmpeg.js';
import { cutDemo, tempDir } from '../fixtures/clips.js';

test('locateFfmpeg reports version and where it was found (FFMPEG_PATH, then PATH)', async () => {
  const saved = process.env.FFMPEG_PATH;
  try {
    process.env.FFMPEG_PATH = '/usr/bin/ffmpeg';
    const viaEnv = await locateFfmpeg({ refresh: true });
    // ffmpeg-static is optional and not installed here, so the env var wins
    assert.equal(viaEnv.source, 'FFMPEG_PATH');
    assert.equal(viaEnv.path, '/usr/bin/ffmpeg');
    assert.match(viaEnv.version, /^\d+\.\d+/);
    process.env.FFMPEG_PATH = '/nonexistent/ffmpeg';
    const viaPath = await locateFfmpeg({ refresh: true });
    assert.equal(viaPath.source, 'PATH');
    assert.equal(viaPath.path, 'ffmpeg');
  } finally {
    if (saved === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = saved;
    await locateFfmpeg({ refresh: true });
  }
});

test('input args: rtsp over tcp with a socket timeout, never a shell string', () => {
  const a = inputArgs('rtsp://u:p@h/x', { timeoutSec: 3 });
  assert.deepEqual(a, ['-rtsp_transport', 'tcp', '-timeout', '3000000', '-i', 'rtsp://u:p@h/x']);
  assert.deepEqual(inputArgs('http://h/x.mjpg', { timeoutSec: 2 }).slice(0, 2), ['-rw_timeout', '2000000']);
  const d = decodeArgs({ source: 'a; rm -rf /', fps: 5, width: 320, maxFrames: 7 });
  assert.ok(d.includes('a; rm -rf /')); // one argv element, passed verbatim
  assert.equal(d[d.indexOf('-vf') + 1], 'fps=5,scale=320:-2:flags=area');
  assert.equal(d[d.indexOf('-frames:v') + 1], '7');
});

test('grid mode args: one filter thread for the cheap graph, the default where whole frames are resized', () => {
  const grid = { step: 8, every: 3 };
  const cheap = decodeArgs({ source: 'x.mkv', fps: 10, pixelFormat: 'yuv420p', grid }, '5.1');
  assert.equal(cheap[cheap.indexOf('-filter_complex_threads') + 1], '1');
  assert.ok(cheap.indexOf('-filter_complex_threads') < cheap.indexOf('-filter_complex'), 'a global option, before the graph');
  const resized = decodeArgs({ source: 'x.mkv', fps: 10, width: 640, pixelFormat: 'yuv420p', grid }, '5.1');
  assert.ok(!resized.includes('-filter_complex_threads'));
  assert.match(resized[resized.indexOf('-filter_complex') + 1]!, /scale=640:-2:flags=area/);
});

test('parseHeader reads input and output stream facts', () => {
  const h = parseHeader(
    "Input #0, avi, from 'x.avi':\n  Duration: 00:01:19.50, start: 0.000000, bitrate: 818 kb/s\n" +
      '  Stream #0:0: Video: msmpeg4v3 (MP43 / 0x3334504D), yuv420p, 768x576, 816 kb/s, 10 fps, 10 tbr, 10 tbn\n' +
      "Output #0, rawvideo, to 'pipe:':\n  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/unknown/unknown, progressive), 192x144 [SAR 1:1 DAR 4:3], q=2-31, 6635 kb/s, 5 fps, 5 tbn\n",
  );
  assert.deepEqual(h.input, { codec: 'msmpeg4v3', width: 768, height: 576, fps: 10 });
  assert.deepEqual(h.output, { codec: 'rawvideo', width: 192, height: 144, fps: 5 });
  assert.equal(h.durationSec, 79.5);
});

test('decodeFrames pipes rgb24 frames with fps/scale filters and a frame window', async () => {
  const { dir, cleanup } = await tempDir('decode');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 3 });
    const seen: Array<{ i: number; t: number; bytes: number }> = [];
    const s = await decodeFrames({ source: clip, fps: 5, width: 160, maxFrames: 12 }, (f) => {
      seen.push({ i: f.index, t: f.t, bytes: f.toRgb().data.length });
    });
    assert.equal(s.frames, 12);
    assert.equal(s.width, 160);
    assert.equal(s.height, 120);
    assert.equal(s.fps, 5);
    assert.equal(s.inputWidth, 384);
    assert.deepEqual(seen.map((x) => x.i), [...Array(12).keys()]);
    assert.equal(seen[5]!.t, 1);
    assert.ok(seen.every((x) => x.bytes === 160 * 120 * 3));
    // the whole clip at its own rate
    const all = await decodeFrames({ source: clip }, () => {});
    assert.equal(all.frames, 30);
    assert.equal(all.fps, 10);
  } finally {
    await cleanup();
  }
});
