import { spawn } from 'node:child_process';
import type { RgbFrame } from '../detect/types.js';
import { classifyFfmpegFailure, SourceInvalidError } from './errors.js';
import { inputArgs, killOnAbort, locateFfmpeg, parseHeader, TailBuffer } from './ffmpeg.js';
import { redactText } from './redact.js';

export interface DecodeOptions {
  /** file path or URL ffmpeg opens */
  source: string;
  /** resample to this frame rate (ffmpeg fps filter) */
  fps?: number;
  /** downscale to this width in ffmpeg (height keeps aspect, rounded to even) */
  width?: number;
  /** stop after this many output frames */
  maxFrames?: number;
  /** stop after this many seconds of source time */
  maxSeconds?: number;
  /** start this many seconds into the source */
  startSeconds?: number;
  /** socket timeout for network sources */
  timeoutSec?: number;
  /**
   * Fail with SourceInvalidError when a file decodes much shorter than its container says
   * (truncated/corrupt). On by default for local files when no window is requested.
   */
  checkTruncation?: boolean;
  /**
   * Pixel format of the pipe. 'rgb24' (default) is what detectors take. 'yuv420p' is the native
   * format of almost every camera codec: half the bytes of rgb24 and no colour conversion in
   * ffmpeg; its Y plane (the first width*height bytes) is already grey, and toRgb() converts a
   * frame to rgb24 only when asked (the frames that are kept).
   */
  pixelFormat?: PixelFormat;
  signal?: AbortSignal;
}

export type PixelFormat = 'rgb24' | 'yuv420p';

/** Bytes of one frame in the pipe. */
export function frameBytesOf(pixelFormat: PixelFormat, width: number, height: number): number {
  if (pixelFormat === 'yuv420p') return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  return width * height * 3;
}

/**
 * One decoded frame in `format` (rgb24 unless asked otherwise). `parts` are views into the pipe's
 * chunks (no copy: a frame spans ~10-20 pipe reads and copying every frame would cost as much as
 * the whole scoring); call toRgb() to get one contiguous rgb24 copy (converted from yuv420p when
 * needed), which is only worth it for frames that are kept.
 */
export interface DecodedFrame {
  index: number;
  /** seconds since the start of the decoded window */
  t: number;
  width: number;
  height: number;
  /** output frame rate (after the fps filter) */
  fps: number;
  format: PixelFormat;
  parts: readonly Buffer[];
  /** One contiguous rgb24 copy; `into` (width*height*3 bytes) is reused when given. */
  toRgb(into?: Uint8Array): RgbFrame;
}

export interface DecodeSummary {
  frames: number;
  width: number;
  height: number;
  fps: number;
  inputWidth: number;
  inputHeight: number;
  inputFps: number;
  codec: string;
  /** container duration, when known */
  durationSec: number | null;
  /** decoded seconds (frames / fps) */
  seconds: number;
}

export function decodeArgs(opts: DecodeOptions): string[] {
  const args = ['-hide_banner', '-nostdin', '-nostats', '-v', 'info'];
  if (opts.startSeconds) args.push('-ss', String(opts.startSeconds));
  args.push(...inputArgs(opts.source, { timeoutSec: opts.timeoutSec }));
  const filters: string[] = [];
  if (opts.fps) filters.push(`fps=${opts.fps}`);
  if (opts.width) filters.push(`scale=${opts.width}:-2:flags=area`);
  args.push('-map', '0:v:0', '-an', '-sn', '-dn');
  if (filters.length) args.push('-vf', filters.join(','));
  if (opts.maxSeconds) args.push('-t', String(opts.maxSeconds));
  if (opts.maxFrames) args.push('-frames:v', String(opts.maxFrames));
  args.push('-f', 'rawvideo', '-pix_fmt', opts.pixelFormat ?? 'rgb24', 'pipe:1');
  return args;
}

let yuvScratch: Uint8Array | null = null;

function concatParts(parts: readonly Buffer[], bytes: number): Uint8Array {
  return parts.length === 1 ? new Uint8Array(parts[0]!) : Buffer.concat(parts as Buffer[], bytes);
}

/**
 * yuv420p (BT.601, limited range: what ffmpeg assumes for untagged SD video) to rgb24, in
 * integer arithmetic, two rows at a time so each 2x2 block's chroma terms are computed once.
 * ~1.3 ms for 768x576. Self-contained: the JPEG worker inlines it by its source text.
 */
export function yuv420pToRgb(yuv: Uint8Array, width: number, height: number, out: Uint8Array = new Uint8Array(width * height * 3)): Uint8Array {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const uBase = width * height;
  const vBase = uBase + cw * ch;
  // a clamped view does the 0..255 clamp on store
  const o8 = new Uint8ClampedArray(out.buffer, out.byteOffset, width * height * 3);
  for (let y = 0; y < height; y += 2) {
    const crow = (y >> 1) * cw;
    const two = y + 1 < height;
    let ya = y * width;
    let yb = ya + width;
    let oa = ya * 3;
    let ob = yb * 3;
    for (let x = 0; x < width; x += 2) {
      const c = crow + (x >> 1);
      const u = yuv[uBase + c]! - 128;
      const v = yuv[vBase + c]! - 128;
      // 16.16 fixed point, rounding folded in: R = 1.164(Y-16) + 1.596V, G = 1.164(Y-16) - 0.392U - 0.813V, B = 1.164(Y-16) + 2.017U
      const rv = 104597 * v + 32768;
      const guv = -25675 * u - 53279 * v + 32768;
      const bu = 132201 * u + 32768;
      let l = 76309 * (yuv[ya]! - 16);
      o8[oa] = (l + rv) >> 16;
      o8[oa + 1] = (l + guv) >> 16;
      o8[oa + 2] = (l + bu) >> 16;
      if (two) {
        l = 76309 * (yuv[yb]! - 16);
        o8[ob] = (l + rv) >> 16;
        o8[ob + 1] = (l + guv) >> 16;
        o8[ob + 2] = (l + bu) >> 16;
      }
      if (x + 1 < width) {
        l = 76309 * (yuv[ya + 1]! - 16);
        o8[oa + 3] = (l + rv) >> 16;
        o8[oa + 4] = (l + guv) >> 16;
        o8[oa + 5] = (l + bu) >> 16;
        if (two) {
          l = 76309 * (yuv[yb + 1]! - 16);
          o8[ob + 3] = (l + rv) >> 16;
          o8[ob + 4] = (l + guv) >> 16;
          o8[ob + 5] = (l + bu) >> 16;
        }
      }
      ya += 2;
      yb += 2;
      oa += 6;
      ob += 6;
    }
  }
  return out;
}

/**
 * Decode `source` through a pipe as raw rgb24 or yuv420p (ffmpeg args as an array: never a shell,
 * so a URL cannot inject commands). `onFrame` runs per frame inside the pipe's data events; each
 * data event is its own event-loop turn, so timers and heartbeats keep running between them.
 *
 * Backpressure: when `onFrame` returns a promise, the pipe is paused until it settles (ffmpeg
 * then blocks on the full pipe), so a slow async consumer holds at most the frames of the chunk
 * being cut plus the one it works on. A rejection fails the decode with that error and kills
 * ffmpeg; the last pending promise settles before decodeFrames resolves.
 * Throws SourceUnreachableError / SourceInvalidError / EmptySourceError.
 */
export async function decodeFrames(opts: DecodeOptions, onFrame: (frame: DecodedFrame) => unknown): Promise<DecodeSummary> {
  const ffmpeg = await locateFfmpeg();
  // Its own process group: a Ctrl-C or stop signal to the worker's group must not kill a decode that
  // the worker's shutdown grace would let finish. If the worker dies, ffmpeg ends on the broken pipe.
  const child = spawn(ffmpeg.path, decodeArgs(opts), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const unsubscribe = killOnAbort(child, opts.signal);
  const stderr = new TailBuffer();
  let header = '';
  let headerDone = false;
  let width = 0;
  let height = 0;
  let fps = 0;
  let frameBytes = 0;
  const waiting: Buffer[] = [];
  let parts: Buffer[] = [];
  let need = 0;
  let index = 0;
  let failure: unknown = null;
  const format: PixelFormat = opts.pixelFormat ?? 'rgb24';
  /** frames cut from the pipe but not handed to onFrame yet (waiting for a pending promise) */
  const queue: DecodedFrame[] = [];
  let pending: Promise<unknown> | null = null;
  let settledAll: (() => void) | null = null;

  const fail = (err: unknown): void => {
    failure ??= err; // the consumer threw: stop ffmpeg and surface its error, not ffmpeg's
    queue.length = 0;
    child.kill('SIGKILL');
    child.stdout.resume(); // drain whatever is left so 'close' comes
    settledAll?.();
  };
  // an abort while the consumer holds the pipe paused must not wait for the consumer
  const onAbort = (): void => fail(opts.signal?.reason ?? new Error('decode aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  /** Hand queued frames to onFrame in order; stop at the first promise and resume when it settles. */
  const drain = (): void => {
    while (!pending && !failure && queue.length) {
      const frame = queue.shift()!;
      let r: unknown;
      try {
        r = onFrame(frame);
      } catch (err) {
        fail(err);
        return;
      }
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') {
        const p = Promise.resolve(r as PromiseLike<unknown>);
        pending = p;
        child.stdout.pause();
        p.then(
          () => {
            pending = null;
            drain();
            if (!pending) {
              if (!failure) child.stdout.resume();
              settledAll?.();
            }
          },
          (err: unknown) => {
            pending = null;
            fail(err);
          },
        );
      }
    }
  };

  const emit = (): void => {
    const frameParts = parts;
    const i = index++;
    parts = [];
    need = frameBytes;
    const frame: DecodedFrame = {
      index: i,
      t: fps > 0 ? i / fps : 0,
      width,
      height,
      fps,
      format,
      parts: frameParts,
      toRgb: (into?: Uint8Array) => {
        if (format === 'rgb24') {
          if (!into) return { width, height, data: concatParts(frameParts, frameBytes) };
          let o = 0;
          for (const p of frameParts) {
            into.set(p, o);
            o += p.length;
          }
          return { width, height, data: into };
        }
        // yuv420p: gather the parts into a reused scratch buffer (the conversion is synchronous)
        let yuv: Uint8Array = frameParts[0]!;
        if (frameParts.length > 1) {
          if (!yuvScratch || yuvScratch.length < frameBytes) yuvScratch = new Uint8Array(frameBytes);
          let o = 0;
          for (const p of frameParts) {
            yuvScratch.set(p, o);
            o += p.length;
          }
          yuv = yuvScratch;
        }
        return { width, height, data: yuv420pToRgb(yuv, width, height, into) };
      },
    };
    queue.push(frame);
  };

  const consume = (chunk: Buffer): void => {
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(need, chunk.length - off);
      parts.push(chunk.subarray(off, off + take));
      need -= take;
      off += take;
      if (need === 0) emit();
    }
    drain();
  };

  const tryHeader = (): void => {
    // The output stream line tells the frame size after filters; frames cannot be cut before it.
    const m = /^Output #0[\s\S]*?Stream #\d+:\d+[^\n]*Video:[^\n]*\n/m.exec(header);
    if (!m) return;
    const h = parseHeader(header);
    if (!h.output) return;
    headerDone = true;
    width = h.output.width;
    height = h.output.height;
    fps = h.output.fps || opts.fps || h.input?.fps || 0;
    frameBytes = frameBytesOf(format, width, height);
    need = frameBytes;
    for (const c of waiting.splice(0)) consume(c);
  };

  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr.push(s);
    if (!headerDone) {
      header += s;
      if (header.length > 1 << 20) header = header.slice(-(1 << 19));
      try {
        tryHeader();
      } catch (err) {
        fail(err);
      }
    }
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (failure) return;
    try {
      if (!headerDone) waiting.push(chunk);
      else consume(chunk);
    } catch (err) {
      fail(err);
    }
  });

  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await done;
    // the pipe is closed: hand over the frames still queued behind a pending promise, then wait
    // for the last one
    while ((pending || queue.length) && !failure) {
      if (!pending) drain();
      if (pending) await new Promise<void>((resolve) => (settledAll = resolve));
      settledAll = null;
    }
  } finally {
    unsubscribe();
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure;
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('decode aborted');
  const text = stderr.toString();
  if (exit.code !== 0 || index === 0) {
    throw classifyFfmpegFailure({ source: opts.source, exitCode: exit.code, signal: exit.signal, stderr: text, frames: index, what: 'decode' });
  }
  const h = parseHeader(header || text);
  const seconds = fps > 0 ? index / fps : 0;
  const windowed = Boolean(opts.maxFrames || opts.maxSeconds || opts.startSeconds);
  const isFile = !/^[a-z][a-z0-9+.-]*:\/\//i.test(opts.source);
  const corrupt = /corrupt decoded frame/i.test(text);
  // A local file has no packet loss: a corrupt frame means a damaged or cut-off file. (Network
  // streams do lose packets, so they are not held to this.)
  if (isFile && corrupt) {
    const shown = redactText(opts.source, opts.source);
    throw new SourceInvalidError(`decode of ${shown} failed: corrupt or truncated video (ffmpeg reported corrupt frames)`, shown);
  }
  if ((opts.checkTruncation ?? (isFile && !windowed)) && h.durationSec && seconds < 0.9 * h.durationSec - 1) {
    const shown = redactText(opts.source, opts.source);
    throw new SourceInvalidError(
      `decode of ${shown} failed: corrupt or truncated video (decoded ${seconds.toFixed(1)} s of ${h.durationSec.toFixed(1)} s the container announces)`,
      shown,
    );
  }
  return {
    frames: index,
    width,
    height,
    fps,
    inputWidth: h.input?.width ?? width,
    inputHeight: h.input?.height ?? height,
    inputFps: h.input?.fps ?? fps,
    codec: h.input?.codec ?? 'unknown',
    durationSec: h.durationSec,
    seconds,
  };
}
