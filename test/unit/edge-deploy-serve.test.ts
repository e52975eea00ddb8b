import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { sha256File } from '../../src/artifacts/store.js';
import { ModelRegistry } from '../../src/registry/registry.js';
import { deployModel, readCurrent, rollbackEdge, DeployChecksumError } from '../../src/edge/deploy.js';
import { ffmpegArgs, probeSize, startEdgeServer } from '../../src/edge/serve.js';
import { locateFfmpeg } from '../../src/video/ffmpeg.js';
import { ffmpeg } from '../fixtures/clips.js';
import { serveRtsp } from '../fixtures/rtsp.js';

const PY = path.resolve('.venv/bin/python');
const work = mkdtempSync(path.join(os.tmpdir(), 'edge-'));
const models = {
  a: path.join(work, 'a.onnx'), // one person box, score .9
  b: path.join(work, 'b.onnx'), // one person box elsewhere, score .8
  wrong: path.join(work, 'wrong.onnx'), // output [1,100,5]: wrong layout
  corrupt: path.join(work, 'corrupt.onnx'),
};
const clip = path.join(work, 'clip.avi');

// Tiny e2e-layout models: detections = constant + 0 * mean(images), so the input is really consumed.
const BUILD = `
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
def make(path, row, last=6, S=32):
    c = np.zeros((1, 100, last), np.float32); c[0, 0, :] = row[:last]
    nodes = [helper.make_node('ReduceMean', ['images'], ['m'], axes=[0, 1, 2, 3], keepdims=0),
             helper.make_node('Mul', ['m', 'zero'], ['z']), helper.make_node('Add', ['C', 'z'], ['detections'])]
    inits = [numpy_helper.from_array(c, 'C'), numpy_helper.from_array(np.array(0, np.float32), 'zero')]
    g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, S, S])],
                          [helper.make_tensor_value_info('detections', TensorProto.FLOAT, [1, 100, last])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); m.ir_version = 8
    onnx.checker.check_model(m); onnx.save(m, path)
make(sys.argv[1], [4, 4, 12, 20, 0.9, 0])
make(sys.argv[2], [16, 8, 28, 24, 0.8, 0])
make(sys.argv[3], [4, 4, 12, 20, 0.9, 0], last=5)
`;

before(() => {
  execFileSync(PY, ['-c', BUILD, models.a, models.b, models.wrong]);
  writeFileSync(models.corrupt, Buffer.from('this is not an onnx model'));
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '2', '-c:v', 'mpeg4', '-y', clip]);
});

async function registerAll(reg: ModelRegistry, files: string[], cameraId = 'cam'): Promise<{ version: string; file: string; sha: string }[]> {
  const out = [];
  for (const file of files) {
    const sha = await sha256File(file);
    const v = await reg.createVersion(cameraId, { model: { uri: `file://${file}`, sha256: sha, bytes: statSync(file).size, kind: 'model' }, dataset: null, teacher: 't', trainer: 'tr', trainerArgs: [], metrics: {} });
    out.push({ version: v.version, file, sha });
  }
  return out;
}

test('deploy swaps current.json, a retry is a no-op, a bad model is rolled back, rollback restores', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edge-deploy-'));
  const reg = new ModelRegistry(dataDir);
  const [v1, v2, v3, v4] = await registerAll(reg, [models.a, models.wrong, models.corrupt, models.b]);
  const deploy = (v: { version: string; file: string; sha: string }) => deployModel({ dataDir, cameraId: 'cam', version: v.version, modelFile: v.file, sha256: v.sha, registry: reg });

  const r1 = await deploy(v1!);
  assert.equal(r1.state, 'deployed');
  const ptr = await readCurrent(dataDir, 'cam');
  assert.equal(ptr?.version, 'v1');
  assert.equal(await sha256File(ptr!.path), v1!.sha);
  const mtime = statSync(path.join(dataDir, 'edge/cam/current.json')).mtimeMs;

  const again = await deploy(v1!);
  assert.equal(again.state, 'deployed');
  assert.match(again.message, /already deployed/);
  assert.equal(statSync(path.join(dataDir, 'edge/cam/current.json')).mtimeMs, mtime, 'the pointer is not rewritten');

  for (const bad of [v2!, v3!]) {
    const r = await deploy(bad);
    assert.equal(r.state, 'rolled-back', `${bad.version} must fail its health check`);
    assert.equal(r.previousVersion, 'v1');
    assert.equal((await readCurrent(dataDir, 'cam'))?.version, 'v1', 'the previous pointer stays');
    assert.equal((await reg.get('cam', bad.version)).state, 'rolled-back');
    assert.equal((await reg.read('cam')).deployed, 'v1');
  }
  assert.match((await reg.get('cam', 'v2')).reason ?? '', /shape \[1,100,5\]/);

  await assert.rejects(deployModel({ dataDir, cameraId: 'cam', version: v4!.version, modelFile: v4!.file, sha256: 'f'.repeat(64), registry: reg }), DeployChecksumError);
  assert.equal((await readCurrent(dataDir, 'cam'))?.version, 'v1');

  const r4 = await deploy(v4!);
  assert.equal(r4.state, 'deployed');
  assert.equal(r4.previousVersion, 'v1');
  assert.equal((await reg.read('cam')).versions.filter((v) => v.state === 'deployed').length, 1);

  const rb = await rollbackEdge({ dataDir, cameraId: 'cam', registry: reg, reason: 'operator' });
  assert.equal(rb.version, 'v1');
  assert.equal((await readCurrent(dataDir, 'cam'))?.version, 'v1');
  assert.equal((await reg.get('cam', 'v4')).state, 'rolled-back');
  assert.equal((await reg.read('cam')).deployed, 'v1');
});

async function scrape(port: number): Promise<{ text: string; frames: number; version: string | null }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const frames = Number(/^autotuner_edge_frames_total\{camera="cam"\} (\d+)/m.exec(text)?.[1] ?? NaN);
  const version = /^autotuner_edge_model_version\{camera="cam",version="([^"]+)"\} 1/m.exec(text)?.[1] ?? null;
  return { text, frames, version };
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('edge serve hot-reloads a new model without stopping the stream', { timeout: 40_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edge-serve-'));
  const reg = new ModelRegistry(dataDir);
  const [v1, v2] = await registerAll(reg, [models.a, models.b]);
  await deployModel({ dataDir, cameraId: 'cam', version: v1!.version, modelFile: v1!.file, sha256: v1!.sha, registry: reg });
  const server = await startEdgeServer({ dataDir, cameras: [{ id: 'cam', source: clip, classes: ['person'] }], port: 0, pollMs: 300, log: () => undefined });
  try {
    const health = await until(() => fetch(`http://127.0.0.1:${server.port}/healthz`).then((r) => r.status), (s) => s === 200, 10_000, 'healthz 200');
    assert.equal(health, 200);
    const first = await until(() => scrape(server.port), (m) => m.frames >= 3, 10_000, 'frames with v1');
    assert.equal(first.version, 'v1');
    assert.match(first.text, /^autotuner_edge_fps\{camera="cam"\} [\d.]+$/m);
    assert.match(first.text, /^autotuner_edge_latency_ms\{camera="cam"\} [\d.]+$/m);
    const det1 = (await (await fetch(`http://127.0.0.1:${server.port}/cameras/cam/detections`)).json()) as { detections: { box: number[]; className: string }[] };
    // box [4,4,12,20] on a 32×32 input scaled to the 160×120 frame
    assert.deepEqual(det1.detections.map((d) => d.box.map((x) => Math.round(x))), [[20, 15, 60, 75]]);
    assert.equal(det1.detections[0]!.className, 'person');

    await deployModel({ dataDir, cameraId: 'cam', version: v2!.version, modelFile: v2!.file, sha256: v2!.sha, registry: reg });
    const swapped = await until(() => scrape(server.port), (m) => m.version === 'v2', 10_000, 'version v2 in /metrics');
    // the stream keeps going after the swap: the frame counter keeps increasing
    await until(() => scrape(server.port), (m) => m.frames >= swapped.frames + 3, 10_000, 'frames after the swap');
    const det2 = (await (await fetch(`http://127.0.0.1:${server.port}/cameras/cam/detections`)).json()) as { version: string; detections: { box: number[] }[] };
    assert.equal(det2.version, 'v2');
    assert.deepEqual(det2.detections.map((d) => d.box.map((x) => Math.round(x))), [[80, 30, 140, 90]]);
    assert.match(swapped.text, /autotuner_edge_model_reloads_total\{camera="cam"\} 2/);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/cameras/nope/detections`)).status, 404);
    assert.ok(JSON.parse(readFileSync(path.join(dataDir, 'edge/cam/current.json'), 'utf8')).version === 'v2');
  } finally {
    await server.close();
  }
});

test('edge serve reads the frame size from ffmpeg (no ffprobe), turned upright for a rotated video', async () => {
  const bin = (await locateFfmpeg()).path;
  assert.deepEqual(await probeSize(bin, clip), { width: 160, height: 120, interlaced: null });
  const rotated = path.join(work, 'rotated.mp4');
  // phone videos carry a rotation: the display matrix since ffmpeg 6.1, the rotate tag before
  await ffmpeg(['-display_rotation', '90', '-i', clip, '-c', 'copy', rotated]).catch(() => ffmpeg(['-i', clip, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]));
  assert.deepEqual(await probeSize(bin, rotated), { width: 120, height: 160, interlaced: null });
  await assert.rejects(probeSize(bin, path.join(work, 'missing.avi')), /cannot read the video size of .*missing\.avi: .*No such file/);
});

test('edge ffmpeg arguments: cameras as the capture reads them (RTSP over TCP, timeouts, V4L2), files replayed in a loop', () => {
  const rtsp = ffmpegArgs('rtsp://u:p@cam/stream');
  assert.deepEqual(rtsp.slice(rtsp.indexOf('-rtsp_transport'), rtsp.indexOf('-i') + 2), ['-rtsp_transport', 'tcp', '-timeout', '10000000', '-i', 'rtsp://u:p@cam/stream']);
  assert.ok(!rtsp.includes('-re') && !rtsp.includes('-stream_loop'));
  // a camera that refuses TCP (capture.rtspTransport "udp") is read over UDP here too
  const udp = ffmpegArgs('rtsp://u:p@cam/stream', undefined, 'udp');
  assert.deepEqual(udp.slice(udp.indexOf('-rtsp_transport'), udp.indexOf('-rtsp_transport') + 2), ['-rtsp_transport', 'udp']);
  const usb = ffmpegArgs('/dev/video0');
  assert.deepEqual(usb.slice(usb.indexOf('-f'), usb.indexOf('-f') + 4), ['-f', 'v4l2', '-i', '/dev/video0']);
  assert.ok(!usb.includes('-re'));
  assert.ok(ffmpegArgs('http://cam/mjpeg').includes('-rw_timeout'));
  const file = ffmpegArgs('file:///data/a.mp4');
  assert.deepEqual(file.slice(file.indexOf('-re'), file.indexOf('-i') + 2), ['-re', '-stream_loop', '-1', '-i', '/data/a.mp4']);
});

test('edge serve keeps running: a camera down at startup is retried with backoff, a malformed URL gets 400, a bad model is tried once', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edge-robust-'));
  const reg = new ModelRegistry(dataDir);
  const [v1] = await registerAll(reg, [models.a]);
  for (const cameraId of ['dead', 'later']) await registerAll(reg, [models.a], cameraId);
  for (const cameraId of ['cam', 'dead']) await deployModel({ dataDir, cameraId, version: v1!.version, modelFile: v1!.file, sha256: v1!.sha, registry: reg });
  const logs: string[] = [];
  const server = await startEdgeServer({
    dataDir,
    // 'dead': nothing listens on port 1; 'later': no model deployed yet
    cameras: [{ id: 'cam', source: clip }, { id: 'dead', source: 'rtsp://user:secret@127.0.0.1:1/x' }, { id: 'later', source: clip }],
    port: 0,
    pollMs: 200,
    log: (m) => logs.push(m),
  });
  const get = (p: string) => fetch(`http://127.0.0.1:${server.port}${p}`);
  try {
    // the live camera serves while the dead one is retried: 1 s, then 2 s, ...
    await until(() => scrape(server.port), (m) => m.frames >= 3, 10_000, 'frames on the live camera');
    await until(async () => logs.filter((l) => l.startsWith('edge: camera dead:')), (l) => l.length >= 2, 10_000, 'two retries of the dead camera');
    const retries = logs.filter((l) => l.startsWith('edge: camera dead:'));
    assert.match(retries[0]!, /retrying in 1 s$/);
    assert.match(retries[1]!, /retrying in 2 s$/);
    assert.ok(!logs.join('\n').includes('secret'), 'the camera password never reaches the log');
    const health = (await (await get('/healthz')).json()) as { ok: boolean; cameras: { id: string; streaming: boolean; error?: string; waiting?: string }[] };
    assert.equal(health.ok, false, 'a served camera without frames is not healthy');
    const byId = Object.fromEntries(health.cameras.map((c) => [c.id, c]));
    assert.equal(byId.cam!.streaming, true);
    assert.equal(byId.dead!.streaming, false);
    assert.match(byId.dead!.error ?? '', /refused/i);
    assert.equal(byId.later!.waiting, 'no model deployed yet');
    const metrics = await (await get('/metrics')).text();
    assert.match(metrics, /^autotuner_edge_streaming\{camera="cam"\} 1$/m);
    assert.match(metrics, /^autotuner_edge_streaming\{camera="dead"\} 0$/m);
    assert.match(metrics, /^autotuner_edge_stream_restarts_total\{camera="dead"\} [1-9]/m);

    // requests that used to throw inside the handler
    assert.equal((await get('/cameras/%E0%A4%A/detections')).status, 400);
    assert.equal((await get('/healthz')).status, 503, 'still answering');

    // a pointer to a model that cannot load: tried once, the running model stays
    const edgeCam = path.join(dataDir, 'edge/cam');
    writeFileSync(path.join(edgeCam, 'current.json.tmp'), JSON.stringify({ version: 'v9', path: models.wrong, sha256: 'x'.repeat(64) }));
    renameSync(path.join(edgeCam, 'current.json.tmp'), path.join(edgeCam, 'current.json'));
    await until(() => scrape(server.port), (m) => /reload_errors_total\{camera="cam"\} 1$/m.test(m.text), 10_000, 'one reload error');
    await sleep(1200); // six polls
    const after = await scrape(server.port);
    assert.match(after.text, /^autotuner_edge_model_reload_errors_total\{camera="cam"\} 1$/m);
    assert.equal(after.version, 'v1');
    await until(() => scrape(server.port), (m) => m.frames >= after.frames + 3, 10_000, 'frames still flow on v1');

    // the camera that had no model starts once one is deployed
    await deployModel({ dataDir, cameraId: 'later', version: v1!.version, modelFile: v1!.file, sha256: v1!.sha, registry: reg });
    await until(async () => (await (await get('/cameras/later/detections')).json()) as { frame: number }, (d) => d.frame >= 1, 10_000, 'detections on the late camera');
  } finally {
    await server.close();
  }
});

test('edge serve on a live RTSP camera: detections flow, and when the camera drops off they resume once it is back', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edge-rtsp-'));
  const reg = new ModelRegistry(dataDir);
  const [v1] = await registerAll(reg, [models.a]);
  await deployModel({ dataDir, cameraId: 'cam', version: v1!.version, modelFile: v1!.file, sha256: v1!.sha, registry: reg });
  const camera = await serveRtsp(clip);
  const logs: string[] = [];
  const server = await startEdgeServer({ dataDir, cameras: [{ id: 'cam', source: camera.url, classes: ['person'] }], port: 0, pollMs: 300, log: (m) => logs.push(m) });
  try {
    const first = await until(() => scrape(server.port), (m) => m.frames >= 5, 20_000, 'frames from the RTSP camera');
    assert.equal(first.version, 'v1');
    // the camera goes off the network for a while: its connection drops and new ones are refused
    camera.setOffline(true);
    camera.dropClients();
    await until(() => scrape(server.port), (m) => /^autotuner_edge_streaming\{camera="cam"\} 0$/m.test(m.text), 15_000, 'the stream seen down');
    camera.setOffline(false);
    const back = await until(() => scrape(server.port), (m) => /^autotuner_edge_streaming\{camera="cam"\} 1$/m.test(m.text) && m.frames >= first.frames + 5, 30_000, 'frames again after the camera is back');
    assert.match(back.text, /^autotuner_edge_stream_restarts_total\{camera="cam"\} [1-9]/m);
    assert.ok(camera.plays() >= 2, `plays ${camera.plays()}`);
    const det = (await (await fetch(`http://127.0.0.1:${server.port}/cameras/cam/detections`)).json()) as { detections: { className: string }[] };
    assert.equal(det.detections[0]?.className, 'person');
    assert.ok(!logs.join('\n').includes('rtsp-secret'), 'the camera password never reaches the log');
  } finally {
    await server.close();
    await camera.close();
  }
});

test('edge serve: a taken port fails the start and leaves nothing running', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edge-port-'));
  const reg = new ModelRegistry(dataDir);
  const [v1] = await registerAll(reg, [models.a]);
  await deployModel({ dataDir, cameraId: 'cam', version: v1!.version, modelFile: v1!.file, sha256: v1!.sha, registry: reg });
  const first = await startEdgeServer({ dataDir, cameras: [{ id: 'cam', source: clip }], port: 0, log: () => undefined });
  try {
    await assert.rejects(startEdgeServer({ dataDir, cameras: [{ id: 'cam', source: clip }], port: first.port, log: () => undefined }), /EADDRINUSE/);
  } finally {
    await first.close();
  }
});

test('deploy prunes old model files: keeps the current, the rollback target and the newest three; rollback still works', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'edge-prune-'));
  const reg = new ModelRegistry(dataDir);
  const versions = await registerAll(reg, Array.from({ length: 6 }, () => models.a));
  const modelsDir = path.join(dataDir, 'edge/cam/models');
  for (const v of versions) {
    if (v.version === 'v5') {
      // a copy that died half-way long ago
      writeFileSync(path.join(modelsDir, 'v9.onnx.1234abcd.tmp'), 'partial');
      utimesSync(path.join(modelsDir, 'v9.onnx.1234abcd.tmp'), new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    }
    assert.equal((await deployModel({ dataDir, cameraId: 'cam', version: v.version, modelFile: v.file, sha256: v.sha, registry: reg, check: async () => undefined })).state, 'deployed');
  }
  assert.deepEqual(readdirSync(modelsDir).sort(), ['v4.onnx', 'v5.onnx', 'v6.onnx']);
  const rb = await rollbackEdge({ dataDir, cameraId: 'cam', registry: reg, reason: 'test' });
  assert.equal(rb.version, 'v5');
  assert.equal((await readCurrent(dataDir, 'cam'))?.version, 'v5');
});
