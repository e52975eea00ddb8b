import { execFile, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isNetworkSource } from './errors.js';

const execFileP = promisify(execFile);

export interface FfmpegInfo {
  path: string;
  /** e.g. "5.1.9-0+deb12u1" */
  version: string;
  /** where it was found (lookup order: ffmpeg-static, FFMPEG_PATH, PATH) */
  source: 'ffmpeg-static' | 'FFMPEG_PATH' | 'PATH';
}

export class FfmpegNotFoundError extends Error {
  override name = 'FfmpegNotFoundError';
}

let cached: Promise<FfmpegInfo> | undefined;

async function versionOf(bin: string): Promise<string | null> {
  try {
    const { stdout } = await execFileP(bin, ['-hide_banner', '-version'], { timeout: 10_000 });
    const m = /ffmpeg version (\S+)/.exec(stdout);
    return m ? m[1]! : 'unknown';
  } catch {
    return null;
  }
}

async function fromFfmpegStatic(): Promise<string | null> {
  // Optional dependency (its install downloads a binary and fails offline): a variable specifier
  // keeps TypeScript from requiring its types, and a missing package is just "not found".
  const name = 'ffmpeg-static';
  try {
    const mod = (await import(name)) as { default?: unknown };
    const p = mod.default;
    if (typeof p !== 'string') return null;
    await access(p, constants.X_OK);
    return p;
  } catch {
    return null;
  }
}

/** Locate ffmpeg: `ffmpeg-static` (optional package) → $FFMPEG_PATH → `ffmpeg` on the PATH. Cached. */
export function locateFfmpeg(opts: { refresh?: boolean } = {}): Promise<FfmpegInfo> {
  if (!cached || opts.refresh) {
    cached = (async (): Promise<FfmpegInfo> => {
      const tried: string[] = [];
      const candidates: Array<[FfmpegInfo['source'], () => Promise<string | null>]> = [
        ['ffmpeg-static', fromFfmpegStatic],
        ['FFMPEG_PATH', async () => process.env.FFMPEG_PATH || null],
        ['PATH', async () => 'ffmpeg'],
      ];
      for (const [from, find] of candidates) {
        const p = await find();
        if (!p) continue;
        const version = await versionOf(p);
        if (version) return { path: p, version, source: from };
        tried.push(`${from}: ${p}`);
      }
      throw new FfmpegNotFoundError(
        `ffmpeg not found (tried ${tried.join(', ') || 'ffmpeg-static'}): install it (Debian: apt-get install ffmpeg) or set FFMPEG_PATH`,
      );
    })();
    cached.catch(() => {
      cached = undefined; // a later call may succeed after the user installs ffmpeg
    });
  }
  return cached;
}

/**
 * Input options that make ffmpeg open `source` the way a camera needs: TCP for RTSP (UDP loses
 * packets through NAT/firewalls), socket timeouts so an unreachable camera fails in seconds
 * instead of hanging, v4l2 for local devices.
 */
export function inputArgs(source: string, opts: { timeoutSec?: number; wallclock?: boolean; rtspTransport?: 'tcp' | 'udp' } = {}): string[] {
  const us = String(Math.round((opts.timeoutSec ?? 10) * 1e6));
  // a live stream whose demuxer has no clock of its own is timed by when its frames arrive
  const clock = opts.wallclock ? ['-use_wallclock_as_timestamps', '1'] : [];
  if (/^rtsps?:\/\//i.test(source)) return ['-rtsp_transport', opts.rtspTransport ?? 'tcp', '-timeout', us, ...clock, '-i', source];
  if (isNetworkSource(source)) return ['-rw_timeout', us, ...clock, '-i', source];
  if (/^\/dev\/video\d+$/.test(source)) return ['-f', 'v4l2', ...clock, '-i', source];
  return [...clock, '-i', source];
}

/**
 * Input formats whose frames carry no timestamps: ffmpeg numbers them at a guessed 25 fps. Read
 * from a file that only mislabels the rate; read live, it stretches the capture window (a 10 fps
 * MJPEG camera gives 8 "seconds" in 20 s of wall time) and puts every frame at the wrong time.
 * Such a live input is recorded with -use_wallclock_as_timestamps: each frame at its arrival.
 * (MJPEG over HTTP, as most IP cameras serve it, and raw elementary streams.)
 */
const TIMESTAMPLESS_FORMATS = new Set(['mpjpeg', 'mjpeg', 'jpeg_pipe', 'h264', 'hevc', 'vvc', 'm4v', 'cavsvideo', 'h261', 'h263', 'dirac', 'vc1', 'mjpeg_2000', 'avs2', 'avs3']);

export function hasNoTimestamps(inputFormat: string | null): boolean {
  return inputFormat !== null && inputFormat.split(',').some((f) => TIMESTAMPLESS_FORMATS.has(f.trim()));
}

export function isLiveSource(source: string): boolean {
  return isNetworkSource(source) || /^\/dev\/video\d+$/.test(source);
}

/** Clockwise quarter turns, in degrees, that show a stream's pixels upright (its display matrix). */
export type Rotation = 0 | 90 | 180 | 270;

export interface StreamInfo {
  codec: string;
  /** coded size: before `rotation` */
  width: number;
  height: number;
  /** the header's frame rate: its average (`fps`), else its nominal rate (`tbr`) */
  fps: number;
  /** the nominal rate (`tbr`: the stream's own frame rate); 0 when the header has none */
  tbr: number;
  /**
   * What the stream's display matrix asks (phone videos carry one; ffmpeg's decodes turn the
   * pixels unless `-noautorotate`). Only quarter turns: other angles are left as coded, as
   * ffmpeg 5.1 leaves them.
   */
  rotation: Rotation;
  /**
   * Which field the stream shows first where its header says it is interlaced (analog CCTV
   * through a DVR or encoder, broadcast: "yuv420p(tv, top first)"); null for progressive video
   * or a header that does not say.
   */
  interlaced: FieldOrder | null;
}

/** The field of an interlaced frame that is shown first: top (`tff`) or bottom (`bff`). */
export type FieldOrder = 'tff' | 'bff';

/**
 * How a decode deinterlaces: the field order to assume, or 'auto' for each frame's own flag (a
 * camera set to `deinterlace: "always"` whose header does not say).
 */
export type Deinterlace = FieldOrder | 'auto';

/**
 * The field order in a stream line's pixel-format details. ffmpeg prints the order as displayed
 * for "top first"/"bottom first" and the coded order for the swapped kinds ("top coded first
 * (swapped)": coded top first, shown bottom first).
 */
export function fieldOrderOf(streamLine: string): FieldOrder | null {
  const m = /\b(top|bottom) (coded )?first\b/.exec(streamLine);
  if (!m) return null;
  const top = m[1] === 'top';
  return top !== Boolean(m[2]) ? 'tff' : 'bff';
}

/**
 * Whether and how to deinterlace a camera's video: its `capture.deinterlace` setting and what its
 * source's header says. Undefined: leave the frames as they are.
 */
export function deinterlaceFor(setting: 'auto' | 'always' | 'never' | undefined, interlaced: FieldOrder | null | undefined): Deinterlace | undefined {
  if (setting === 'never') return undefined;
  if (interlaced) return interlaced;
  return setting === 'always' ? 'auto' : undefined;
}

/**
 * The filter that makes whole frames of interlaced ones: bwdif, one frame out per frame in (the
 * camera's rate), every frame treated. It goes first, before any turn or scale: its fields are
 * the coded rows, and it needs the frames next to each other, before any are dropped. bwdif
 * rather than yadif: sharper edges where things move, for about the same CPU.
 */
export function deinterlaceFilters(d: Deinterlace | undefined): string[] {
  return d ? [`bwdif=mode=send_frame:parity=${d}:deint=all`] : [];
}

/**
 * The turn ffmpeg's autorotation applies for a header's `displaymatrix: rotation of X degrees`
 * (X counter-clockwise, as av_display_rotation_get reports it): -X, normalised, quarter turns only.
 */
export function rotationOf(displayDegrees: number): Rotation {
  const theta = (((-Math.round(displayDegrees)) % 360) + 360) % 360;
  for (const q of [0, 90, 180, 270] as const) if (Math.abs(theta - q) < 1) return q;
  return 0;
}

/**
 * A file's own frame rate. Its header's average (`fps`: frames over duration) is far below the
 * nominal rate (`tbr`) where the file has gaps: an NVR export of motion-triggered recording holds
 * a few minutes of 10 fps video spread over a day, and reads "0.48 fps, 10 tbr". The nominal rate
 * is then the rate of the video there is.
 */
export function ownFps(s: Pick<StreamInfo, 'fps' | 'tbr'>): number {
  return hasGaps(s) ? s.tbr : s.fps || s.tbr;
}

/**
 * Whether a file's average rate is far below its own (under 0.4 of it: interlaced video's field
 * rate is twice its frame rate, "25 fps, 50 tbr", and is no gap). A nominal rate above 120 is
 * ffmpeg's guess from a millisecond time base, not the video's ("29.97 fps, 1k tbr" in a
 * browser's variable-rate WebM): no gap either.
 */
export function hasGaps(s: Pick<StreamInfo, 'fps' | 'tbr'>): boolean {
  return s.tbr > 0 && s.tbr <= 120 && s.fps > 0 && s.fps < 0.4 * s.tbr;
}

/** A stream's size as shown: width and height swapped by a quarter turn. */
export function displayedSize(s: Pick<StreamInfo, 'width' | 'height' | 'rotation'>): { width: number; height: number } {
  return s.rotation === 90 || s.rotation === 270 ? { width: s.height, height: s.width } : { width: s.width, height: s.height };
}

/** The filters that turn coded pixels upright (what ffmpeg's autorotation inserts). */
export function rotationFilters(rotation: Rotation | undefined): string[] {
  if (rotation === 90) return ['transpose=clock'];
  if (rotation === 180) return ['hflip', 'vflip'];
  if (rotation === 270) return ['transpose=cclock'];
  return [];
}

/**
 * Parse `Stream #0:0: Video: msmpeg4v3 (...), yuv420p, 768x576, ..., 10 fps, 10 tbr` lines of one
 * section, and the first video stream's display matrix among the lines after it (its side data).
 */
function parseVideoStream(section: string): StreamInfo | null {
  const lines = section.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const m = /Stream #\d+:\d+.*?: Video: ([^\s,]+)/.exec(line);
    if (!m) continue;
    const size = /, (\d{1,5})x(\d{1,5})[\s,]/.exec(line + ' ');
    if (!size) continue;
    const tbr = /, ([\d.]+)(k?) tbr/.exec(line);
    const fps = /, ([\d.]+)(k?) fps/.exec(line) ?? tbr;
    let rotation: Rotation = 0;
    for (const after of lines.slice(i + 1)) {
      if (/^\s*(?:Stream #|Input #|Output #)/.test(after)) break;
      const r = /displaymatrix: rotation of (-?[\d.]+) degrees/.exec(after);
      if (r) {
        rotation = rotationOf(Number(r[1]));
        break;
      }
    }
    return {
      codec: m[1]!,
      width: Number(size[1]),
      height: Number(size[2]),
      fps: fps ? Number(fps[1]) * (fps[2] ? 1000 : 1) : 0,
      tbr: tbr ? Number(tbr[1]) * (tbr[2] ? 1000 : 1) : 0,
      rotation,
      interlaced: fieldOrderOf(line),
    };
  }
  return null;
}

export interface ParsedHeader {
  input: StreamInfo | null;
  output: StreamInfo | null;
  /** container duration, seconds, when the input has one */
  durationSec: number | null;
  /** the input's format as ffmpeg names it (`Input #0, mpjpeg, from …`: "mpjpeg"; "mov,mp4,m4a,3gp,3g2,mj2" for MP4) */
  inputFormat: string | null;
}

/** Read stream facts out of ffmpeg's `-v info` stderr (works for ffmpeg-static too: it has no ffprobe). */
export function parseHeader(stderr: string): ParsedHeader {
  const outAt = stderr.search(/^Output #0/m);
  const inPart = outAt >= 0 ? stderr.slice(0, outAt) : stderr;
  const outPart = outAt >= 0 ? stderr.slice(outAt) : '';
  const d = /Duration: (\d+):(\d+):([\d.]+)/.exec(inPart);
  return {
    input: parseVideoStream(inPart),
    output: outPart ? parseVideoStream(outPart) : null,
    durationSec: d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null,
    inputFormat: /^Input #0, (.+?), from '/m.exec(inPart)?.[1] ?? null,
  };
}

/**
 * ffmpeg's log, bounded: the first `headMax` characters (the input and output headers that
 * parseHeader reads, however long the run) and the last `max` (where the errors are). A long
 * capture logs a few hundred bytes per segment, and ffmpeg can warn once per frame.
 */
export class TailBuffer {
  private head = '';
  private text = '';
  private cut = false;
  constructor(
    private readonly max = 64 * 1024,
    private readonly headMax = 32 * 1024,
  ) {}
  push(chunk: string): void {
    if (this.head.length < this.headMax) {
      this.head += chunk;
      if (this.head.length < this.headMax) return;
      // the head ends at a line end; the rest goes on to the tail
      const end = this.head.lastIndexOf('\n', this.headMax - 1) + 1 || this.headMax;
      chunk = this.head.slice(end);
      this.head = this.head.slice(0, end);
    }
    this.text += chunk;
    if (this.text.length > this.max * 2) {
      // keep whole lines: line-based parsers and the error tail read them
      const from = this.text.length - this.max;
      this.text = this.text.slice(this.text.indexOf('\n', from) + 1 || from);
      this.cut = true;
    }
  }
  toString(): string {
    // the marker starts its own line, so line-based parsers see the head's last line whole
    return this.cut ? `${this.head}\n[… ffmpeg log cut …]\n${this.text}` : this.head + this.text;
  }
}

/** Kill a child on abort; returns the unsubscribe function. */
export function killOnAbort(child: ChildProcess, signal?: AbortSignal): () => void {
  if (!signal) return () => {};
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Same as locateFfmpeg (the name `autotuner doctor` uses). */
export const findFfmpeg = locateFfmpeg;
