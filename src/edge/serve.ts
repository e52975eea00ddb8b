/**
 * Edge runtime: for each camera, decode the live source with ffmpeg (raw RGB through a pipe), run
 * the model that `current.json` points at on the latest frame, and serve results on 127.0.0.1.
 * A deploy swaps `current.json`; the runtime notices (fs.watch plus polling, since watches miss
 * events on some mounts) and swaps the onnxruntime session between frames, without touching the
 * stream. Frames arriving while inference runs are dropped: the runtime shows the live scene.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Detection, RgbFrame } from '../detect/types.js';
import type { OnnxDetector } from '../detect/onnx-detector.js';
import { createStudentDetector } from '../detect/teacher-model.js';
import { stderrTail } from '../video/errors.js';
import { inputArgs, locateFfmpeg, parseHeader } from '../video/ffmpeg.js';
import { redactText } from '../video/redact.js';
import { currentPointerPath, edgeDir, readCurrent } from './deploy.js';

const execFileP = promisify(execFile);

export interface ServeCamera {
  id: string;
  source: string;
  classes?: string[];
}

export interface EdgeServerOptions {
  dataDir: string;
  cameras: ServeCamera[];
  /** 0 picks a free port */
  port?: number;
  host?: string;
  threads?: number;
  pollMs?: number;
  minScore?: number;
  ffmpeg?: string;
  log?: (msg: string) => void;
}

export interface EdgeServer {
  port: number;
  close(): Promise<void>;
}

interface CameraState {
  cam: ServeCamera;
  width: number;
  height: number;
  model: OnnxDetector | null;
  version: string | null;
  sha256: string | null;
  framesDecoded: number;
  framesInferred: number;
  reloads: number;
  reloadErrors: number;
  lastLatencyMs: number;
  inferTimes: number[];
  latest: { t: number; frame: number; version: string | null; detections: Detection[] } | null;
  pending: RgbFrame | null;
  busy: boolean;
  ffmpeg: ChildProcess | null;
  watcher: FSWatcher | null;
  poll: NodeJS.Timeout | null;
  reloading: Promise<void> | null;
}

/** A camera (URL or V4L2 device) rather than a file to replay. */
function isLive(source: string): boolean {
  return (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://')) || /^\/dev\/video\d+$/.test(source);
}

/**
 * ffmpeg's input arguments for a camera: the capture's own (RTSP over TCP, socket timeouts so a dead
 * camera ends ffmpeg and the stream restarts, `-f v4l2` for /dev/videoN); files plainly.
 */
function edgeInputArgs(source: string, replay: boolean): string[] {
  if (isLive(source)) return inputArgs(source);
  const file = source.replace(/^file:\/\//, '');
  return replay ? ['-re', '-stream_loop', '-1', '-i', file] : ['-i', file];
}

/** ffmpeg arguments (no shell): cameras are read live; files are replayed in real time and looped forever. */
export function ffmpegArgs(source: string): string[] {
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...edgeInputArgs(source, true), '-an', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
}

/** The video size, from ffmpeg's own log: ffmpeg-static ships no ffprobe. */
export async function probeSize(ffmpeg: string, source: string): Promise<{ width: number; height: number }> {
  const args = ['-hide_banner', '-nostdin', '-v', 'info', ...edgeInputArgs(source, false), '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'];
  // ffmpeg exits non-zero on a broken source but has printed the header by then if it got that far
  let failure = '';
  const stderr = await execFileP(ffmpeg, args, { timeout: 30_000, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }).then(
    (r) => r.stderr,
    (e: { stderr?: string; message?: string }) => {
      failure = e.message ?? '';
      return e.stderr ?? '';
    },
  );
  const h = parseHeader(stderr);
  // the output's size: what the raw pipe delivers (a rotated phone video is turned upright)
  const v = h.output?.width ? h.output : h.input;
  if (!v?.width || !v.height) {
    const why = stderrTail(stderr, source, 2).split('\n').join(' | ') || redactText(failure, source) || 'ffmpeg printed nothing';
    throw new Error(`cannot read the video size of ${redactText(source, source)}: ${why}`);
  }
  return { width: v.width, height: v.height };
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export async function startEdgeServer(opts: EdgeServerOptions): Promise<EdgeServer> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const ffmpeg = opts.ffmpeg ?? (await locateFfmpeg()).path;
  const pollMs = opts.pollMs ?? 1000;
  const minScore = opts.minScore ?? 0.25;
  const started = Date.now();
  let closing = false;
  const states: CameraState[] = [];

  const reload = async (st: CameraState): Promise<void> => {
    const ptr = await readCurrent(opts.dataDir, st.cam.id);
    if (!ptr || (ptr.version === st.version && ptr.sha256 === st.sha256)) return;
    try {
      const next = await createStudentDetector(ptr.path, { threads: opts.threads ?? 1, scoreFloor: minScore });
      const old = st.model;
      st.model = next;
      st.version = ptr.version;
      st.sha256 = ptr.sha256;
      st.reloads++;
      log(`edge: camera ${st.cam.id} now runs ${ptr.version}`);
      // The frame in flight holds its own reference; release the old session once it is idle.
      if (old) void waitIdle(st).then(() => old.close().catch(() => undefined));
    } catch (err) {
      st.reloadErrors++;
      log(`edge: camera ${st.cam.id} cannot load ${ptr.version} (${(err as Error).message}); keeping ${st.version ?? 'no model'}`);
      // Remember the bad pointer so we do not retry it every poll.
      st.sha256 = ptr.sha256;
      st.version = st.version ?? null;
    }
  };
  const scheduleReload = (st: CameraState) => {
    // Serialize reloads; a change during a reload is picked up by the next poll.
    if (!st.reloading) st.reloading = reload(st).finally(() => (st.reloading = null));
  };

  const waitIdle = async (st: CameraState) => {
    while (st.busy) await new Promise((r) => setTimeout(r, 5));
  };

  const pump = async (st: CameraState) => {
    if (st.busy) return;
    st.busy = true;
    try {
      while (st.pending && !closing) {
        const frame = st.pending;
        st.pending = null;
        const model = st.model;
        if (!model) continue;
        const t0 = performance.now();
        let dets: Detection[];
        try {
          dets = (await model.detect([frame]))[0] ?? [];
        } catch (err) {
          log(`edge: camera ${st.cam.id} inference failed: ${(err as Error).message}`);
          continue;
        }
        const now = performance.now();
        st.lastLatencyMs = now - t0;
        st.framesInferred++;
        st.inferTimes.push(now);
        while (st.inferTimes.length > 30) st.inferTimes.shift();
        st.latest = { t: Date.now(), frame: st.framesInferred, version: st.version, detections: dets };
      }
    } finally {
      st.busy = false;
    }
  };

  const startStream = (st: CameraState) => {
    const frameBytes = st.width * st.height * 3;
    const child = spawn(ffmpeg, ffmpegArgs(st.cam.source), { stdio: ['ignore', 'pipe', 'pipe'] });
    st.ffmpeg = child;
    let buf = Buffer.alloc(frameBytes);
    let filled = 0;
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    child.stdout!.on('data', (chunk: Buffer) => {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - off);
        chunk.copy(buf, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === frameBytes) {
          st.framesDecoded++;
          st.pending = { width: st.width, height: st.height, data: new Uint8Array(buf.buffer, buf.byteOffset, frameBytes) };
          buf = Buffer.alloc(frameBytes);
          filled = 0;
          void pump(st);
        }
      }
    });
    child.on('exit', (code) => {
      st.ffmpeg = null;
      if (closing) return;
      log(`edge: ffmpeg for camera ${st.cam.id} exited (${code}): ${stderr.trim().split('\n').at(-1) ?? ''}; restarting in 1 s`);
      setTimeout(() => !closing && startStream(st), 1000).unref();
    });
    child.on('error', (err) => log(`edge: cannot start ffmpeg (${ffmpeg}): ${err.message}`));
  };

  for (const cam of opts.cameras) {
    const { width, height } = await probeSize(ffmpeg, cam.source);
    const st: CameraState = {
      cam, width, height, model: null, version: null, sha256: null, framesDecoded: 0, framesInferred: 0, reloads: 0, reloadErrors: 0,
      lastLatencyMs: 0, inferTimes: [], latest: null, pending: null, busy: false, ffmpeg: null, watcher: null, poll: null, reloading: null,
    };
    states.push(st);
    await reload(st);
    const dir = edgeDir(opts.dataDir, cam.id);
    await mkdir(dir, { recursive: true });
    try {
      // Watch the directory: the pointer is replaced by rename, which a file watch would lose.
      st.watcher = watch(dir, (_ev, name) => {
        if (!name || String(name) === 'current.json') scheduleReload(st);
      });
      st.watcher.on('error', () => undefined);
    } catch {
      st.watcher = null;
    }
    st.poll = setInterval(() => scheduleReload(st), pollMs);
    startStream(st);
  }

  const metrics = (): string => {
    const lines: string[] = [];
    const gauge = (name: string, help: string, type: 'gauge' | 'counter', rows: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) lines.push(`${name}{${labels}} ${Number.isFinite(v) ? v : 0}`);
    };
    const lab = (st: CameraState) => `camera="${esc(st.cam.id)}"`;
    const fps = (st: CameraState) => {
      const t = st.inferTimes;
      return t.length > 1 ? ((t.length - 1) * 1000) / (t[t.length - 1]! - t[0]!) : 0;
    };
    gauge('autotuner_edge_fps', 'Inference frames per second (last 30 frames).', 'gauge', states.map((s) => [lab(s), fps(s)]));
    gauge('autotuner_edge_latency_ms', 'Latency of the last inference in milliseconds.', 'gauge', states.map((s) => [lab(s), s.lastLatencyMs]));
    gauge('autotuner_edge_model_version', 'Model version the camera runs (info gauge, always 1).', 'gauge', states.filter((s) => s.version).map((s) => [`${lab(s)},version="${esc(s.version!)}"`, 1]));
    gauge('autotuner_edge_frames_total', 'Frames run through the model.', 'counter', states.map((s) => [lab(s), s.framesInferred]));
    gauge('autotuner_edge_frames_decoded_total', 'Frames decoded from the source.', 'counter', states.map((s) => [lab(s), s.framesDecoded]));
    gauge('autotuner_edge_model_reloads_total', 'Model hot reloads.', 'counter', states.map((s) => [lab(s), s.reloads]));
    gauge('autotuner_edge_model_reload_errors_total', 'Model reloads that failed (the previous model kept running).', 'counter', states.map((s) => [lab(s), s.reloadErrors]));
    return lines.join('\n') + '\n';
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (code: number, body: unknown, type = 'application/json') => {
      res.writeHead(code, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'GET only' });
    if (url.pathname === '/healthz') {
      const cams = states.map((s) => ({ id: s.cam.id, version: s.version, streaming: s.ffmpeg !== null, frames: s.framesInferred }));
      const ok = states.length > 0 && states.every((s) => s.model && s.ffmpeg);
      return send(ok ? 200 : 503, { ok, uptimeS: Math.round((Date.now() - started) / 1000), cameras: cams });
    }
    if (url.pathname === '/metrics') return send(200, metrics(), 'text/plain; version=0.0.4');
    const m = /^\/cameras\/([^/]+)\/detections$/.exec(url.pathname);
    if (m) {
      const st = states.find((s) => s.cam.id === decodeURIComponent(m[1]!));
      if (!st) return send(404, { error: `unknown camera ${m[1]}` });
      const classes = st.model?.classNames.length ? st.model.classNames : st.cam.classes;
      return send(200, {
        camera: st.cam.id, width: st.width, height: st.height, version: st.latest?.version ?? st.version, frame: st.latest?.frame ?? 0, t: st.latest?.t ?? null,
        detections: (st.latest?.detections ?? []).map((d) => ({ ...d, className: classes?.[d.cls] ?? String(d.cls) })),
      });
    }
    send(404, { error: 'not found: try /healthz, /metrics, /cameras/<id>/detections' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log(`edge: serving ${states.map((s) => s.cam.id).join(', ')} on http://${opts.host ?? '127.0.0.1'}:${port}`);

  return {
    port,
    async close() {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      for (const st of states) {
        st.watcher?.close();
        if (st.poll) clearInterval(st.poll);
        const child = st.ffmpeg;
        if (child && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          // ffmpeg 7 can sit on SIGTERM while it paces a looped file (-re): it only decodes, so kill it.
          const force = setTimeout(() => child.kill('SIGKILL'), 2000);
          await exited;
          clearTimeout(force);
        }
        await st.reloading;
        await waitIdle(st);
        await st.model?.close().catch(() => undefined);
      }
    },
  };
}

export { currentPointerPath };
