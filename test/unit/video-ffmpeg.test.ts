import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeArgs, decodeFrames } from '../../src/video/decode.js';
import { displayedSize, hasGaps, inputArgs, locateFfmpeg, ownFps, parseHeader, rotationFilters } from '../../src/video/ffmpeg.js';
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
  assert.deepEqual(h.input, { codec: 'msmpeg4v3', width: 768, height: 576, fps: 10, tbr: 10, rotation: 0, interlaced: null });
  assert.deepEqual(h.output, { codec: 'rawvideo', width: 192, height: 144, fps: 5, tbr: 0, rotation: 0, interlaced: null });
  assert.equal(h.durationSec, 79.5);
});

test('a file whose average rate is far below its own has gaps; its own rate is the nominal one', () => {
  const stream = (rates: string) => parseHeader(`Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':\n  Stream #0:0[0x1](und): Video: h264 (High), yuv420p(progressive), 384x288, 42 kb/s, ${rates}, 10240 tbn (default)\n`).input!;
  const nvr = stream('0.77 fps, 10 tbr');
  assert.equal(hasGaps(nvr), true);
  assert.equal(ownFps(nvr), 10);
  // interlaced video's field rate is twice its frame rate: no gap
  const interlaced = stream('25 fps, 50 tbr');
  assert.equal(hasGaps(interlaced), false);
  assert.equal(ownFps(interlaced), 25);
  assert.equal(ownFps(stream('29.97 fps, 29.97 tbr')), 29.97);
  // a variable-rate WebM's nominal rate is a guess from its millisecond time base: not a rate to go by
  const webm = stream('29.97 fps, 1k tbr');
  assert.equal(hasGaps(webm), false);
  assert.equal(ownFps(webm), 29.97);
  // decoded at 10 fps by dropping frames only, out as they come (rawvideo would repeat frames into the gaps)
  const args = decodeArgs({ source: 'x.mp4', fps: 10, skipGaps: true }, '5.1.9');
  assert.equal(args[args.indexOf('-vf') + 1], 'select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,0.099900)');
  assert.equal(args[args.indexOf('-fps_mode') + 1], 'passthrough');
  assert.ok(!decodeArgs({ source: 'x.mp4', fps: 10 }, '5.1.9').includes('-fps_mode'));
});

test("parseHeader reads a video's display matrix as the quarter turn ffmpeg's autorotation applies", () => {
  // ffmpeg 5.1 and 7 print the matrix's counter-clockwise angle under the stream's side data
  const header = (matrix: string, more = ''): string =>
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mp4':\n  Duration: 00:00:08.00, start: 0.000000, bitrate: 268 kb/s\n" +
    '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 384x288, 266 kb/s, 10 fps, 10 tbr, 10240 tbn (default)\n' +
    '    Metadata:\n      handler_name    : VideoHandler\n' +
    (matrix ? `    Side data:\n      displaymatrix: rotation of ${matrix} degrees\n` : '') +
    more;
  const turns = ['90.00', '-90.00', '-180.00', '180.00', '0.00', '45.00', ''].map((m) => parseHeader(header(m)).input!.rotation);
  // +90 (counter-clockwise) is shown by a clockwise turn of 270; other angles are left as coded, as ffmpeg 5.1 leaves them
  assert.deepEqual(turns, [270, 90, 180, 180, 0, 0, 0]);
  assert.deepEqual(displayedSize(parseHeader(header('-90.00')).input!), { width: 288, height: 384 });
  assert.deepEqual(displayedSize(parseHeader(header('180.00')).input!), { width: 384, height: 288 });
  assert.deepEqual(rotationFilters(270), ['transpose=cclock']);
  assert.deepEqual(rotationFilters(0), []);
  // a later stream's matrix (a cover picture, a second angle) is not the first video stream's
  const second = '  Stream #0:1[0x2](und): Video: h264 (High), yuv420p, 640x480, 10 fps, 10 tbr\n    Side data:\n      displaymatrix: rotation of -90.00 degrees\n';
  assert.equal(parseHeader(header('', second)).input!.rotation, 0);
  // turned explicitly, the clip's own matrix ignored (a decode of the clip and of the file agree)
  const args = decodeArgs({ source: 'clip.mkv', rotate: 90, width: 200 });
  assert.ok(args.indexOf('-noautorotate') >= 0 && args.indexOf('-noautorotate') < args.indexOf('-i'));
  assert.equal(args[args.indexOf('-vf') + 1], 'transpose=clock,scale=200:-2:flags=area');
  assert.ok(!decodeArgs({ source: 'clip.mkv' }).includes('-noautorotate'), 'unset: ffmpeg turns it itself, as before');
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
