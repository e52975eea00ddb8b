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
  signal?: AbortSignal;
}

/**
 * One decoded rgb24 frame. `parts` are views into the pipe's chunks (no copy: a frame spans ~20
 * pipe reads and copying every frame would cost as much as the whole scoring); call toRgb() to
 * get one contiguous copy, which is only worth it for frames that are kept.
 */
export interface DecodedFrame {
  index: number;
  /** seconds since the start of the decoded window */
  t: number;
  width: number;
  height: number;
  /** output frame rate (after the fps filter) */
  fps: number;
  parts: readonly Buffer[];
  toRgb(): RgbFrame;
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
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  return args;
}

function concatParts(parts: readonly Buffer[], bytes: number): Uint8Array {
  return parts.length === 1 ? new Uint8Array(parts[0]!) : Buffer.concat(parts as Buffer[], bytes);
}

/**
 * Decode `source` through a pipe as raw rgb24 (ffmpeg args as an array: never a shell, so a URL
 * cannot inject commands). `onFrame` runs synchronously per frame inside the pipe's data events;
 * each data event is its own event-loop turn, so timers and heartbeats keep running between them.
 * Throws SourceUnreachableError / SourceInvalidError / EmptySourceError.
 */
export async function decodeFrames(opts: DecodeOptions, onFrame: (frame: DecodedFrame) => void): Promise<DecodeSummary> {
  const ffmpeg = await locateFfmpeg();
  const child = spawn(ffmpeg.path, decodeArgs(opts), { stdio: ['ignore', 'pipe', 'pipe'] });
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
      parts: frameParts,
      toRgb: () => ({ width, height, data: concatParts(frameParts, frameBytes) }),
    };
    onFrame(frame);
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
    frameBytes = width * height * 3;
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
        failure ??= err;
        child.kill('SIGKILL');
      }
    }
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (failure) return;
    try {
      if (!headerDone) waiting.push(chunk);
      else consume(chunk);
    } catch (err) {
      failure = err; // the consumer threw: stop ffmpeg and surface its error, not ffmpeg's
      child.kill('SIGKILL');
    }
  });

  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await done;
  } finally {
    unsubscribe();
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
