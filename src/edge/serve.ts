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
import { deinterlaceFilters, deinterlaceFor, inputArgs, locateFfmpeg, parseHeader, type Deinterlace, type FieldOrder } from '../video/ffmpeg.js';
import { redactText } from '../video/redact.js';
import { currentPointerPath, edgeDir, readCurrent } from './deploy.js';

const execFileP = promisify(execFile);

export interface ServeCamera {
  id: string;
  source: string;
  classes?: string[];
  /** capture.rtspTransport: how an rtsp:// camera sends RTP (default 'tcp') */
  rtspTransport?: 'tcp' | 'udp';
  /**
   * capture.deinterlace (default 'auto'): the student runs on frames deinterlaced as the sample
   * step deinterlaced the frames it learnt from
   */
  deinterlace?: 'auto' | 'always' | 'never';
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
  /** frame size from the last probe (0 until the source answered) */
  width: number;
  height: number;
  /** how its frames are deinterlaced (the last probe and capture.deinterlace); undefined: not */
  deinterlace: Deinterlace | undefined;
  model: OnnxDetector | null;
  version: string | null;
  sha256: string | null;
  /** a pointer that failed to load: not retried until current.json points elsewhere */
  rejected: { version: string; sha256: string } | null;
  /** replaced models still running a frame: closed when it finishes */
  retired: OnnxDetector[];
  framesDecoded: number;
  framesInferred: number;
  reloads: number;
  reloadErrors: number;
  streamRestarts: number;
  lastLatencyMs: number;
  /** performance.now() of recent inferences (the last FPS_WINDOW_MS) */
  inferTimes: number[];
  /** Date.now() of the last decoded frame */
  lastFrameAt: number;
  /** why the stream is down, when it is */
  streamError: string | null;
  latest: { t: number; frame: number; version: string | null; detections: Detection[] } | null;
  pending: RgbFrame | null;
  busy: boolean;
  ffmpeg: ChildProcess | null;
  /** the supervisor's next start (backoff), when one is due */
  restart: NodeJS.Timeout | null;
  backoffMs: number;
  watcher: FSWatcher | null;
  poll: NodeJS.Timeout | null;
  reloading: Promise<void> | null;
}

const FPS_WINDOW_MS = 10_000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
/** a camera with no frame for this long is not healthy, even if its ffmpeg still runs */
const STALE_MS = 15_000;

/** A camera (URL or V4L2 device) rather than a file to replay. */
function isLive(source: string): boolean {
  return (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://')) || /^\/dev\/video\d+$/.test(source);
}

/**
 * ffmpeg's input arguments for a camera: the capture's own (RTSP over TCP, socket timeouts so a dead
 * camera ends ffmpeg and the stream restarts, `-f v4l2` for /dev/videoN); files plainly.
 */
function edgeInputArgs(source: string, replay: boolean, rtspTransport?: 'tcp' | 'udp'): string[] {
  if (isLive(source)) return inputArgs(source, { rtspTransport });
  const file = source.replace(/^file:\/\//, '');
  return replay ? ['-re', '-stream_loop', '-1', '-i', file] : ['-i', file];
}

/**
 * ffmpeg arguments (no shell): cameras are read live; files are replayed in real time and looped
 * forever. The output size is pinned to the probed one: a camera whose resolution changes mid-stream
 * is scaled, so the pipe is never cut at the wrong frame size.
 */
export function ffmpegArgs(source: string, size?: { width: number; height: number }, rtspTransport?: 'tcp' | 'udp', deinterlace?: Deinterlace): string[] {
  const pin = size ? ['-s', `${size.width}x${size.height}`] : [];
  // (the pinned size scales after the deinterlacing: fields are the coded rows)
  const vf = deinterlace ? ['-vf', deinterlaceFilters(deinterlace).join(',')] : [];
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...edgeInputArgs(source, true, rtspTransport), '-an', ...vf, ...pin, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
}

/**
 * The video size, from ffmpeg's own log (ffmpeg-static ships no ffprobe), and whether the header
 * says the video is interlaced.
 */
export async function probeSize(ffmpeg: string, source: string, rtspTransport?: 'tcp' | 'udp'): Promise<{ width: number; height: number; interlaced: FieldOrder | null }> {
  const args = ['-hide_banner', '-nostdin', '-v', 'info', ...edgeInputArgs(source, false, rtspTransport), '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'];
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
  return { width: v.width, height: v.height, interlaced: h.input?.interlaced ?? null };
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

  const retire = (st: CameraState, old: OnnxDetector): void => {
    // the frame in flight (at most one per camera) finishes on the old session, which is closed then
    if (st.busy) st.retired.push(old);
    else void old.close().catch(() => undefined);
  };

  const reload = async (st: CameraState): Promise<void> => {
    const ptr = await readCurrent(opts.dataDir, st.cam.id);
    if (!ptr || (ptr.version === st.version && ptr.sha256 === st.sha256)) return;
    if (st.rejected && ptr.version === st.rejected.version && ptr.sha256 === st.rejected.sha256) return;
    try {
      const next = await createStudentDetector(ptr.path, { threads: opts.threads ?? 1, scoreFloor: minScore });
      if (closing) {
        await next.close().catch(() => undefined);
        return;
      }
      const old = st.model;
      st.model = next;
      st.version = ptr.version;
      st.sha256 = ptr.sha256;
      st.rejected = null;
      st.reloads++;
      log(`edge: camera ${st.cam.id} now runs ${ptr.version}`);
      if (old) retire(st, old);
      // a camera waits for its first model before it decodes anything
      if (!st.ffmpeg && !st.restart) superviseStream(st, 0);
    } catch (err) {
      st.reloadErrors++;
      // Remember the bad pointer so it is not retried every poll.
      st.rejected = { version: ptr.version, sha256: ptr.sha256 };
      log(`edge: camera ${st.cam.id} cannot load ${ptr.version} (${(err as Error).message}); keeping ${st.version ?? 'no model'}`);
    }
  };
  const scheduleReload = (st: CameraState) => {
    // Serialize reloads; a change during a reload is picked up by the next poll.
    if (!st.reloading && !closing) st.reloading = reload(st).finally(() => (st.reloading = null));
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
        } finally {
          for (const old of st.retired.splice(0)) void old.close().catch(() => undefined);
        }
        const now = performance.now();
        st.lastLatencyMs = now - t0;
        st.framesInferred++;
        st.inferTimes.push(now);
        while (st.inferTimes.length && (now - st.inferTimes[0]! > FPS_WINDOW_MS || st.inferTimes.length > 10_000)) st.inferTimes.shift();
        st.latest = { t: Date.now(), frame: st.framesInferred, version: st.version, detections: dets };
      }
    } finally {
      st.busy = false;
    }
  };

  /** Probe the source, decode it, and start again with backoff when it fails or ends (a camera drops out for a while). */
  const superviseStream = (st: CameraState, delayMs: number): void => {
    if (closing) return;
    st.restart = setTimeout(() => {
      st.restart = null;
      void startStream(st);
    }, delayMs);
    st.restart.unref();
  };
  const retryLater = (st: CameraState, why: string): void => {
    st.ffmpeg = null;
    st.streamError = why;
    if (closing) return;
    st.streamRestarts++;
    const wait = st.backoffMs;
    st.backoffMs = Math.min(BACKOFF_MAX_MS, st.backoffMs * 2);
    log(`edge: camera ${st.cam.id}: ${why}; retrying in ${Math.round(wait / 1000)} s`);
    superviseStream(st, wait);
  };

  const startStream = async (st: CameraState): Promise<void> => {
    if (closing) return;
    try {
      // re-probed on every start: a camera may come back with another resolution
      const size = await probeSize(ffmpeg, st.cam.source, st.cam.rtspTransport);
      st.width = size.width;
      st.height = size.height;
      st.deinterlace = deinterlaceFor(st.cam.deinterlace, size.interlaced);
    } catch (err) {
      return retryLater(st, (err as Error).message);
    }
    if (closing) return;
    const frameBytes = st.width * st.height * 3;
    const child = spawn(ffmpeg, ffmpegArgs(st.cam.source, { width: st.width, height: st.height }, st.cam.rtspTransport, st.deinterlace), { stdio: ['ignore', 'pipe', 'pipe'] });
    st.ffmpeg = child;
    let buf = Buffer.allocUnsafe(frameBytes);
    let filled = 0;
    let stderr = '';
    let spawnError = '';
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
          st.lastFrameAt = Date.now();
          st.streamError = null;
          st.backoffMs = BACKOFF_MIN_MS; // frames flow: the next failure starts the backoff over
          st.pending = { width: st.width, height: st.height, data: new Uint8Array(buf.buffer, buf.byteOffset, frameBytes) };
          // each frame its own buffer: the model may still read the previous one (no zero fill: every byte is written)
          buf = Buffer.allocUnsafe(frameBytes);
          filled = 0;
          void pump(st);
        }
      }
    });
    child.on('error', (err) => (spawnError = `cannot start ffmpeg (${ffmpeg}): ${err.message}`));
    // 'close' comes after a failed spawn too ('exit' does not)
    child.on('close', (code, signal) => {
      if (st.ffmpeg !== child) return;
      const last = redactText(stderr.trim().split('\n').at(-1) ?? '', st.cam.source);
      retryLater(st, spawnError || `ffmpeg exited (${code ?? signal})${last ? `: ${last}` : ''}`);
    });
  };

  const stopStream = async (st: CameraState): Promise<void> => {
    if (st.restart) clearTimeout(st.restart);
    st.restart = null;
    const child = st.ffmpeg;
    st.ffmpeg = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      // ffmpeg 7 can sit on SIGTERM while it paces a looped file (-re): it only decodes, so kill it.
      const force = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(force);
    }
  };

  const frameAgeS = (st: CameraState): number | null => (st.lastFrameAt ? (Date.now() - st.lastFrameAt) / 1000 : null);
  const streaming = (st: CameraState): boolean => st.ffmpeg !== null && st.lastFrameAt > 0 && Date.now() - st.lastFrameAt < STALE_MS;

  const metrics = (): string => {
    const lines: string[] = [];
    const gauge = (name: string, help: string, type: 'gauge' | 'counter', rows: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) lines.push(`${name}{${labels}} ${Number.isFinite(v) ? v : 0}`);
    };
    const lab = (st: CameraState) => `camera="${esc(st.cam.id)}"`;
    const now = performance.now();
    // over the last FPS_WINDOW_MS up to now: a camera that stopped goes to 0 instead of keeping its last rate
    const fps = (st: CameraState) => (st.inferTimes.filter((t) => now - t <= FPS_WINDOW_MS).length * 1000) / Math.min(FPS_WINDOW_MS, now - st.inferTimes[0]! || FPS_WINDOW_MS);
    gauge('autotuner_edge_fps', 'Inference frames per second over the last 10 s.', 'gauge', states.map((s) => [lab(s), s.inferTimes.length ? fps(s) : 0]));
    gauge('autotuner_edge_latency_ms', 'Latency of the last inference in milliseconds.', 'gauge', states.map((s) => [lab(s), s.lastLatencyMs]));
    gauge('autotuner_edge_last_frame_age_seconds', 'Seconds since the last decoded frame (-1: none yet).', 'gauge', states.map((s) => [lab(s), frameAgeS(s) ?? -1]));
    gauge('autotuner_edge_streaming', 'Whether frames are arriving (1) or not (0).', 'gauge', states.map((s) => [lab(s), streaming(s) ? 1 : 0]));
    gauge('autotuner_edge_model_version', 'Model version the camera runs (info gauge, always 1).', 'gauge', states.filter((s) => s.version).map((s) => [`${lab(s)},version="${esc(s.version!)}"`, 1]));
    gauge('autotuner_edge_frames_total', 'Frames run through the model.', 'counter', states.map((s) => [lab(s), s.framesInferred]));
    gauge('autotuner_edge_frames_decoded_total', 'Frames decoded from the source.', 'counter', states.map((s) => [lab(s), s.framesDecoded]));
    gauge('autotuner_edge_stream_restarts_total', 'Times the stream was started again after a failure.', 'counter', states.map((s) => [lab(s), s.streamRestarts]));
    gauge('autotuner_edge_model_reloads_total', 'Model hot reloads.', 'counter', states.map((s) => [lab(s), s.reloads]));
    gauge('autotuner_edge_model_reload_errors_total', 'Model reloads that failed (the previous model kept running).', 'counter', states.map((s) => [lab(s), s.reloadErrors]));
    return lines.join('\n') + '\n';
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const send = (code: number, body: unknown, type = 'application/json') => {
      res.writeHead(code, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    let url: URL;
    let path: string;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      path = decodeURIComponent(url.pathname);
    } catch {
      return send(400, { error: 'malformed URL' });
    }
    if (req.method !== 'GET') return send(405, { error: 'GET only' });
    if (path === '/healthz') {
      const cams = states.map((s) => ({
        id: s.cam.id, version: s.version, streaming: streaming(s), frames: s.framesInferred, lastFrameAgeS: frameAgeS(s),
        ...(s.deinterlace ? { deinterlaced: s.deinterlace } : {}),
        ...(s.streamError ? { error: s.streamError } : {}), ...(s.model ? {} : { waiting: 'no model deployed yet' }),
      }));
      // cameras waiting for their first deploy do not make the runtime unhealthy; a served one without frames does
      const served = states.filter((s) => s.model);
      const ok = served.length > 0 && served.every(streaming);
      return send(ok ? 200 : 503, { ok, uptimeS: Math.round((Date.now() - started) / 1000), cameras: cams });
    }
    if (path === '/metrics') return send(200, metrics(), 'text/plain; version=0.0.4');
    const m = /^\/cameras\/([^/]+)\/detections$/.exec(path);
    if (m) {
      const st = states.find((s) => s.cam.id === m[1]);
      if (!st) return send(404, { error: `unknown camera ${m[1]}` });
      const classes = st.model?.classNames.length ? st.model.classNames : st.cam.classes;
      return send(200, {
        camera: st.cam.id, width: st.width, height: st.height, version: st.latest?.version ?? st.version, frame: st.latest?.frame ?? 0, t: st.latest?.t ?? null,
        detections: (st.latest?.detections ?? []).map((d) => ({ ...d, className: classes?.[d.cls] ?? String(d.cls) })),
      });
    }
    send(404, { error: 'not found: try /healthz, /metrics, /cameras/<id>/detections' });
  };
  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      // a request must never take the runtime down
      log(`edge: request ${req.url ?? ''} failed: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
    }
  });

  const close = async (): Promise<void> => {
    closing = true;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
    await Promise.all(
      states.map(async (st) => {
        st.watcher?.close();
        if (st.poll) clearInterval(st.poll);
        await stopStream(st);
        await st.reloading;
        while (st.busy) await new Promise((r) => setTimeout(r, 5));
        for (const m of [st.model, ...st.retired.splice(0)]) await m?.close().catch(() => undefined);
        st.model = null;
      }),
    );
  };

  try {
    for (const cam of opts.cameras) {
      const st: CameraState = {
        cam, width: 0, height: 0, deinterlace: undefined, model: null, version: null, sha256: null, rejected: null, retired: [], framesDecoded: 0, framesInferred: 0,
        reloads: 0, reloadErrors: 0, streamRestarts: 0, lastLatencyMs: 0, inferTimes: [], lastFrameAt: 0, streamError: null, latest: null,
        pending: null, busy: false, ffmpeg: null, restart: null, backoffMs: BACKOFF_MIN_MS, watcher: null, poll: null, reloading: null,
      };
      states.push(st);
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
      // loads the model, then starts the stream (a source that is down is retried in the background)
      scheduleReload(st);
      await st.reloading;
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    // e.g. the port is taken: leave nothing running behind
    await close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  log(`edge: serving ${states.map((s) => s.cam.id).join(', ')} on http://${opts.host ?? '127.0.0.1'}:${port}`);
  return { port, close };
}

export { currentPointerPath };
