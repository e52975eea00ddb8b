import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { RgbFrame } from '../detect/types.js';
import { openOutputChannel, type OutputChannel } from './channel.js';
import { classifyFfmpegFailure, SourceInvalidError } from './errors.js';
import { deinterlaceFilters, inputArgs, killOnAbort, locateFfmpeg, parseHeader, rotationFilters, TailBuffer, type Deinterlace, type Rotation, type StreamInfo } from './ffmpeg.js';
import { redactText } from './redact.js';
import { takeWarmDecoder, warmDecoder, type ChannelHooks, type StartedDecoder, type WarmLease } from './warm-decoder.js';

export interface DecodeOptions {
  /** file path or URL ffmpeg opens */
  source: string;
  /** resample to this frame rate (ffmpeg fps filter) */
  fps?: number;
  /**
   * The source has gaps in its timeline (an NVR export of motion-triggered recording): bring it to
   * `fps` by dropping frames only, never by repeating one to fill a gap as the fps filter does (a
   * day's export with an hour of video would decode as a day of frames). The frames then follow
   * one another at `fps` with the gaps left out: frame.t is seconds of video, not of the file.
   */
  skipGaps?: boolean;
  /** downscale to this width in ffmpeg (height keeps aspect, rounded to even; after `rotate`) */
  width?: number;
  /**
   * Turn the decoded pixels this far clockwise, ignoring any display matrix the input carries
   * (`-noautorotate`). For a clip whose source had one: a stream copy into Matroska keeps it on
   * ffmpeg 7 but drops it on 5.1, so the capture's `rotation` is applied explicitly and the clip's
   * own matrix, if any, is not applied a second time. Unset: ffmpeg's autorotation, as before.
   */
  rotate?: Rotation;
  /**
   * Deinterlace (deinterlaceFilters: bwdif, one frame per frame) with this field order first; an
   * interlaced camera's moving things otherwise come out combed, every other row from a
   * different instant. Unset: frames as decoded.
   */
  deinterlace?: Deinterlace;
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
   * The video came over a network, which loses packets: frames ffmpeg reports corrupt (concealed
   * after a loss) do not fail the decode. Default: true for network URLs, false for files (a
   * corrupt frame in a local file means a damaged file). The sample step sets it for a clip
   * recorded from a camera's stream: the clip is a local file, but its losses are the network's.
   */
  lossy?: boolean;
  /**
   * Pixel format of the pipe. 'rgb24' (default) is what detectors take. 'yuv420p' is the native
   * format of almost every camera codec: half the bytes of rgb24 and no colour conversion in
   * ffmpeg; its Y plane (the first width*height bytes) is already grey, and toRgb() converts a
   * frame to rgb24 only when asked (the frames that are kept).
   */
  pixelFormat?: PixelFormat;
  /**
   * Grid mode: ffmpeg also sends a small luma grid of every frame, and sends the frame itself only
   * for every `every`-th one. A sampler scores every frame on its grid and can only keep frames that
   * came whole, so the pipe moves a fraction of the bytes (moving the frames is most of what a bare
   * decode into a pipe costs).
   */
  grid?: GridOptions;
  signal?: AbortSignal;
}

export interface GridOptions {
  /**
   * Frame pixels per grid cell. The grid holds the luma at the centre pixel of each step×step cell
   * of the decoded frame (ffmpeg crops to whole cells and scales with flags=neighbor), i.e. what
   * sampling/grid.ts's GridSampler reads from a whole frame.
   */
  step: number;
  /** frames whose index is a multiple of this come whole; the others carry their grid alone */
  every: number;
}

/** One frame's luma grid (grid mode), limited range as decoded. */
export interface LumaGrid {
  width: number;
  height: number;
  step: number;
  /** width*height bytes, contiguous, owned by the receiver */
  luma: Uint8Array;
}

export type PixelFormat = 'rgb24' | 'yuv420p';

/** Bytes of one frame in the pipe. */
export function frameBytesOf(pixelFormat: PixelFormat, width: number, height: number): number {
  if (pixelFormat === 'yuv420p') return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  return width * height * 3;
}

/**
 * One decoded frame in `format` (rgb24 unless asked otherwise). `parts` hold its bytes as read
 * (one frame buffer, or views into pipe chunks where no socket channel could be made), with no
 * copy: they are valid until onFrame returns or, when it returns a promise, until that settles;
 * then the buffer takes the next frame. Copy what must outlive that: toRgb() gives one
 * contiguous rgb24 copy (converted from yuv420p when needed).
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
  /** false for the frames grid mode sends as a grid alone: `parts` is then empty and toRgb() throws */
  whole: boolean;
  parts: readonly Uint8Array[];
  /** grid mode: this frame's luma grid */
  grid?: LumaGrid;
  /** One contiguous rgb24 copy; `into` (width*height*3 bytes) is reused when given. */
  toRgb(into?: Uint8Array): RgbFrame;
  /**
   * Keep this frame's pixels without copying them: where the frame is one whole buffer (the socket
   * channel's frame buffers), returns that buffer, now the caller's, and takes `replacement` (a
   * buffer of the same size the caller gives up) into the decoder's pool in its place. Returns null
   * where it cannot (pipe reads, a wrong size, asked twice): copy `parts` then. Only while onFrame runs.
   */
  swap(replacement: Uint8Array): Uint8Array | null;
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

export function decodeArgs(opts: DecodeOptions, ffmpegVersion = ''): string[] {
  const args = ['-hide_banner', '-nostdin', '-nostats', '-v', 'info'];
  if (opts.startSeconds) args.push('-ss', String(opts.startSeconds));
  if (opts.rotate !== undefined) args.push('-noautorotate');
  args.push(...inputArgs(opts.source, { timeoutSec: opts.timeoutSec }));
  // fields are coded rows, and bwdif needs every frame's neighbours: before the turn and the fps filter
  const filters: string[] = [...deinterlaceFilters(opts.deinterlace), ...rotationFilters(opts.rotate)];
  // (a frame is kept once 0.999 of a period has passed since the last one kept: rounding in the timestamps must not drop one)
  if (opts.fps && opts.skipGaps) filters.push(`select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${(0.999 / opts.fps).toFixed(6)})`);
  else if (opts.fps) filters.push(`fps=${opts.fps}`);
  if (opts.width) filters.push(`scale=${opts.width}:-2:flags=area`);
  const pixFmt = opts.pixelFormat ?? 'rgb24';
  if (opts.grid) return [...args, ...gridArgs(opts, filters, pixFmt, ffmpegVersion)];
  args.push('-map', '0:v:0', '-an', '-sn', '-dn');
  if (filters.length) args.push('-vf', filters.join(','));
  if (opts.maxSeconds) args.push('-t', String(opts.maxSeconds));
  if (opts.maxFrames) args.push('-frames:v', String(opts.maxFrames));
  // rawvideo is a constant-rate output by default: it would repeat frames into the gaps again
  if (opts.skipGaps) args.push(...passthrough(ffmpegVersion));
  args.push('-f', 'rawvideo', '-pix_fmt', pixFmt, 'pipe:1');
  return args;
}

/** Frames out as they come (no repeats, no drops): `-fps_mode` since ffmpeg 5.1, `-vsync` before. */
function passthrough(ffmpegVersion: string): string[] {
  return /^(?:[0-4]\.|5\.0)/.test(ffmpegVersion) ? ['-vsync', 'passthrough'] : ['-fps_mode', 'passthrough'];
}

/**
 * Grid mode: one decode split in two outputs, the whole frames (every k-th, `select`) on pipe:1
 * and the grids (all frames) on pipe:3. `-fps_mode passthrough` keeps the selected frames from
 * being duplicated back to a constant rate (ffmpeg before 5.1 only knows `-vsync`).
 */
function gridArgs(opts: DecodeOptions, filters: string[], pixFmt: PixelFormat, ffmpegVersion: string): string[] {
  const grid = opts.grid!;
  const step = Math.max(1, Math.floor(grid.step));
  const every = Math.max(1, Math.floor(grid.every));
  const pre = [...filters];
  if (opts.maxFrames) pre.push(`trim=end_frame=${opts.maxFrames}`);
  // yuv420p before the split: the grid branch then scales plane to plane, with no range or colour conversion
  pre.push('format=yuv420p', 'split=2[whole][g]');
  const graph =
    `[0:v:0]${pre.join(',')};` +
    `[g]crop=w=trunc(iw/${step})*${step}:h=trunc(ih/${step})*${step}:x=0:y=0,scale=w=iw/${step}:h=ih/${step}:flags=neighbor[grid];` +
    `[whole]select=not(mod(n\\,${every}))[sel]`;
  const vsync = passthrough(ffmpegVersion);
  const window = opts.maxSeconds ? ['-t', String(opts.maxSeconds)] : [];
  // One filter thread unless the graph resizes or deinterlaces whole frames: its other filters
  // (crop, a 96-wide nearest-neighbour scale, select) do microseconds of work a frame, less than
  // handing slices to threads and waiting for them (demo video, 2 cores: 0.53 -> 0.44 s for this
  // decode alone).
  const filterThreads = opts.width || opts.deinterlace ? [] : ['-filter_complex_threads', '1'];
  return [
    '-an', '-sn', '-dn', ...filterThreads, '-filter_complex', graph,
    '-map', '[sel]', ...vsync, ...window, '-f', 'rawvideo', '-pix_fmt', pixFmt, 'pipe:1',
    '-map', '[grid]', ...vsync, ...window, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:3',
  ];
}

let yuvScratch: Uint8Array | null = null;

/**
 * Spawn a decode's ffmpeg, its frames on a socket channel whose reads go through `hooks` (a plain
 * pipe where no channel can be made). Its own process group: a Ctrl-C or stop signal to the
 * worker's group must not kill a decode that the worker's shutdown grace would let finish. If the
 * worker dies, ffmpeg ends on the broken pipe.
 */
async function startDecoder(ffmpegPath: string, args: string[], gridMode: boolean, hooks: ChannelHooks): Promise<StartedDecoder> {
  const channel: OutputChannel | null = !useChannel() ? null : await openOutputChannel({
    buffer: () => hooks.buffer(),
    callback: (n) => {
      hooks.callback(n);
      return true;
    },
  }).catch(() => null);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(ffmpegPath, args, {
      stdio: ['ignore', channel ? channel.childEnd : 'pipe', 'pipe', ...(gridMode ? (['pipe'] as const) : [])],
      detached: true,
    });
  } catch (err) {
    channel?.reader.destroy();
    throw err;
  } finally {
    // the child has its own copy of this end: ours must close, or the reader never sees the end
    channel?.childEnd.destroy();
  }
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // awaited by the decode; a spawn error must not count as unhandled before it gets there
  closed.catch(() => {});
  return { child, channel, closed, earlyStderr: '', inputAlias: null, cleanup: () => {} };
}

/** Frames come through a socket channel unless AUTOTUNER_PIPE_CHANNEL=0 (then a plain pipe, as where no channel can be made). */
function useChannel(): boolean {
  return process.env.AUTOTUNER_PIPE_CHANNEL !== '0';
}

/** Cuts a byte stream into frames of `size` bytes, each as views into the chunks (no copy). */
class FrameCutter {
  size = 0;
  private parts: Buffer[] = [];
  private need = 0;
  constructor(private readonly onFrame: (parts: Buffer[]) => void) {}
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.need === 0) this.need = this.size;
      const take = Math.min(this.need, chunk.length - off);
      this.parts.push(chunk.subarray(off, off + take));
      this.need -= take;
      off += take;
      if (this.need === 0) {
        const parts = this.parts;
        this.parts = [];
        this.onFrame(parts);
      }
    }
  }
}

/**
 * Reads a byte stream (a socket channel's onread) straight into frame-sized buffers, kept in a
 * small pool: no allocation and no copy per read. A frame goes to `onFrame` once its buffer is
 * full; `release` gives the buffer back when the consumer is done with it.
 */
class FrameFiller {
  private size = 0;
  private cur: Uint8Array | null = null;
  private filled = 0;
  /** where the read in progress lands */
  private handed: Uint8Array | null = null;
  /** for reads before the frame size is known (ffmpeg may send frames before its header is complete) */
  private readonly staging = new Uint8Array(1 << 16);
  private early: Uint8Array[] | null = [];
  private readonly pool: Uint8Array[] = [];
  constructor(private readonly onFrame: (frame: Uint8Array) => void) {}
  /** The frame size, once the header gives it: what was read before is cut into frames now. */
  start(size: number): void {
    this.size = size;
    const early = this.early ?? [];
    this.early = null;
    for (const chunk of early) this.copy(chunk);
  }
  next(): Uint8Array {
    if (!this.size) return (this.handed = this.staging);
    this.cur ??= this.pool.pop() ?? new Uint8Array(this.size);
    return (this.handed = this.cur.subarray(this.filled));
  }
  got(n: number): void {
    if (this.handed !== this.staging) return this.advance(n);
    // landed in the staging buffer (the reads before the header, and the one asked for before it)
    const chunk = this.staging.subarray(0, n);
    if (this.early) this.early.push(chunk.slice());
    else this.copy(chunk);
  }
  private copy(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      this.cur ??= this.pool.pop() ?? new Uint8Array(this.size);
      const take = Math.min(this.size - this.filled, chunk.length - off);
      this.cur.set(chunk.subarray(off, off + take), this.filled);
      off += take;
      this.advance(take);
    }
  }
  private advance(n: number): void {
    this.filled += n;
    if (this.filled === this.size) {
      const frame = this.cur!;
      this.cur = null;
      this.filled = 0;
      this.onFrame(frame);
    }
  }
  release(buf: Uint8Array): void {
    if (buf.length === this.size && this.pool.length < 4) this.pool.push(buf);
  }
}

/** Output #n's video stream line, once ffmpeg has printed it (the outputs' order varies between versions). */
function outputStream(header: string, n: number): StreamInfo | null {
  const m = new RegExp(`^Output #${n}[^\\n]*\\n(?:[^\\n]*\\n)*?[^\\n]*Stream #${n}:\\d+[^\\n]*Video:[^\\n]*\\n`, 'm').exec(header);
  return m ? parseHeader(`Output #0\n${m[0].slice(m[0].indexOf('\n') + 1)}`).output : null;
}

function concatParts(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  return parts.length === 1 ? new Uint8Array(parts[0]!) : Buffer.concat(parts, bytes);
}

/**
 * yuv420p (BT.601, limited range: what ffmpeg assumes for untagged SD video) to rgb24, in
 * integer arithmetic, two rows at a time so each 2x2 block's chroma terms are computed once.
 * ~1.3 ms for 768x576 (src/video/yuv-simd.ts does the bulk of a frame ~8x faster and leaves the
 * edges to this, through x0/y0: columns [x0, width) of rows [y0, height), both even).
 * Self-contained: the JPEG worker inlines it by its source text.
 */
export function yuv420pToRgb(yuv: Uint8Array, width: number, height: number, out: Uint8Array = new Uint8Array(width * height * 3), x0 = 0, y0 = 0): Uint8Array {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const uBase = width * height;
  const vBase = uBase + cw * ch;
  // a clamped view does the 0..255 clamp on store
  const o8 = new Uint8ClampedArray(out.buffer, out.byteOffset, width * height * 3);
  for (let y = y0; y < height; y += 2) {
    const crow = (y >> 1) * cw;
    const two = y + 1 < height;
    let ya = y * width + x0;
    let yb = ya + width;
    let oa = ya * 3;
    let ob = yb * 3;
    for (let x = x0; x < width; x += 2) {
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
 * Start the ffmpeg of a decode that will run with `opts` once its input exists (`opts.source`: a
 * placeholder path with the input's extension; grid mode only), so that its start overlaps what
 * comes before the decode. decodeFrames takes it when its arguments match; see warm-decoder.ts.
 */
export async function prewarmDecode(opts: DecodeOptions): Promise<WarmLease> {
  if (!opts.grid || !useChannel()) return { release: () => {} };
  const ffmpeg = await locateFfmpeg();
  return warmDecoder(ffmpeg, decodeArgs(opts, ffmpeg.version), opts.source);
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
  return decodeOnce(opts, onFrame, true);
}

/** An ffmpeg that refused how a warm decoder is started (its options): the decode is run again, cold. */
const WARM_REFUSED = /Unrecognized option|Option not found|Error splitting the argument list/;

async function decodeOnce(opts: DecodeOptions, onFrame: (frame: DecodedFrame) => unknown, mayTakeWarm: boolean): Promise<DecodeSummary> {
  const ffmpeg = await locateFfmpeg();
  const gridMode = opts.grid !== undefined;
  const every = gridMode ? Math.max(1, Math.floor(opts.grid!.every)) : 1;
  // The frames come through a socket channel read into pooled frame buffers (see channel.ts),
  // or through a plain pipe where no channel can be made.
  const filler = new FrameFiller((buf) => onWhole([buf]));
  let onWhole: (parts: readonly Uint8Array[]) => void = () => {};
  let onChannelRead: (n: number) => void = () => {};
  const hooks: ChannelHooks = { buffer: () => filler.next(), callback: (n) => onChannelRead(n) };
  const args = decodeArgs(opts, ffmpeg.version);
  // an ffmpeg already started for these arguments (the capture step warms one), or a new one
  const started = (mayTakeWarm && gridMode && useChannel() ? takeWarmDecoder(ffmpeg, args, opts.source, hooks) : null) ?? (await startDecoder(ffmpeg.path, args, gridMode, hooks));
  const { child, channel } = started;
  const wholeOut: Readable = channel ? channel.reader : child.stdout!;
  // a reset of the channel when ffmpeg is killed shows in ffmpeg's exit, not here
  wholeOut.on('error', () => {});
  const readerClosed = channel ? new Promise<void>((resolve) => channel.reader.once('close', () => resolve())) : Promise.resolve();
  const gridOut = gridMode ? (child.stdio[3] as Readable) : null;
  const outs = gridOut ? [wholeOut, gridOut] : [wholeOut];
  const unsubscribe = killOnAbort(child, opts.signal);
  const stderr = new TailBuffer();
  let header = '';
  let headerDone = false;
  let width = 0;
  let height = 0;
  let fps = 0;
  let gridW = 0;
  let gridH = 0;
  let frameBytes = 0;
  /** frames (grid mode: grids) cut so far: the next frame's index */
  let index = 0;
  let failure: unknown = null;
  const format: PixelFormat = opts.pixelFormat ?? 'rgb24';
  /** frames cut from the pipe but not handed to onFrame yet (waiting for a pending promise) */
  const queue: DecodedFrame[] = [];
  let pending: Promise<unknown> | null = null;
  let settledAll: (() => void) | null = null;
  // grid mode: whole frames and grids cut but not yet paired (the two pipes run independently)
  const wholes: Array<readonly Uint8Array[]> = [];
  const grids: Uint8Array[] = [];
  let wholeCount = 0;

  const fail = (err: unknown): void => {
    failure ??= err; // the consumer threw: stop ffmpeg and surface its error, not ffmpeg's
    queue.length = 0;
    child.kill('SIGKILL');
    for (const o of outs) o.resume(); // drain whatever is left so 'close' comes
    settledAll?.();
  };
  // an abort while the consumer holds the pipe paused must not wait for the consumer
  const onAbort = (): void => fail(opts.signal?.reason ?? new Error('decode aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  /** Hand queued frames to onFrame in order; stop at the first promise and resume when it settles. */
  /** a delivered frame's buffer goes back to the pool (channel reads only) */
  const swapped = new WeakSet<DecodedFrame>();
  const release = (frame: DecodedFrame): void => {
    if (channel && frame.whole && !swapped.has(frame)) filler.release(frame.parts[0]!);
  };
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
        for (const o of outs) o.pause();
        p.then(
          () => {
            release(frame);
            pending = null;
            drain();
            if (!pending) {
              if (!failure) for (const o of outs) o.resume();
              settledAll?.();
            }
          },
          (err: unknown) => {
            pending = null;
            fail(err);
          },
        );
      } else release(frame);
    }
  };

  const emit = (frameParts: readonly Uint8Array[] | null, grid: LumaGrid | undefined): void => {
    const i = index++;
    const frame: DecodedFrame = {
      index: i,
      t: fps > 0 ? i / fps : 0,
      width,
      height,
      fps,
      format,
      whole: frameParts !== null,
      parts: frameParts ?? [],
      grid,
      toRgb: (into?: Uint8Array) => {
        if (!frameParts) throw new Error(`frame ${i} came as a grid alone (grid mode sends every ${every}th frame whole)`);
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
      swap: (replacement: Uint8Array) => {
        const own = frameParts?.[0];
        if (!channel || !own || frameParts!.length !== 1 || swapped.has(frame) || replacement.length !== frameBytes || replacement === own) return null;
        swapped.add(frame);
        filler.release(replacement);
        return own;
      },
    };
    queue.push(frame);
  };

  /** Grid mode: a frame is complete once its grid and (every k-th) its whole frame are both in. */
  const pair = (): void => {
    while (grids.length) {
      const needsWhole = index % every === 0;
      if (needsWhole && !wholes.length) return;
      const luma = grids.shift()!;
      emit(needsWhole ? wholes.shift()! : null, { width: gridW, height: gridH, step: opts.grid!.step, luma });
    }
  };

  onWhole = (parts) => {
    if (!gridMode) return emit(parts, undefined);
    wholeCount++;
    wholes.push(parts);
    pair();
  };
  const wholeCutter = new FrameCutter((parts) => onWhole(parts));
  const gridCutter = new FrameCutter((parts) => {
    // the Y plane (first gridW*gridH bytes), copied out: it is small, and the receiver keeps it
    const luma = new Uint8Array(gridW * gridH);
    let o = 0;
    for (const p of parts) {
      if (o >= luma.length) break;
      const n = Math.min(p.length, luma.length - o);
      luma.set(n === p.length ? p : p.subarray(0, n), o);
      o += n;
    }
    grids.push(luma);
    pair();
  });
  const waiting: Array<[FrameCutter, Buffer]> = [];

  const tryHeader = (): void => {
    // The output stream lines tell the frame sizes after filters; frames cannot be cut before them.
    const whole = outputStream(header, 0);
    if (!whole) return;
    const grid = gridMode ? outputStream(header, 1) : null;
    if (gridMode && !grid) return;
    const h = parseHeader(header);
    headerDone = true;
    width = whole.width;
    height = whole.height;
    // the grid output has every frame: its rate is the decode rate (the selected output's may not be);
    // with gaps skipped it is opts.fps by construction (ffmpeg 7 prints the file's average there)
    fps = (opts.skipGaps && opts.fps) || (grid ?? whole).fps || opts.fps || h.input?.fps || 0;
    frameBytes = frameBytesOf(format, width, height);
    wholeCutter.size = frameBytes;
    filler.start(frameBytes);
    if (grid) {
      gridW = grid.width;
      gridH = grid.height;
      gridCutter.size = frameBytesOf('yuv420p', gridW, gridH);
    }
    for (const [cutter, chunk] of waiting.splice(0)) cutter.push(chunk);
    drain();
  };

  const done = started.closed;
  // a warm decoder reads its input through a link: messages name the source, as a cold one's do
  const alias = started.inputAlias;
  const onLog = (chunk: string): void => {
    const s = alias ? chunk.split(alias).join(opts.source) : chunk;
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
  };
  child.stderr!.setEncoding('utf8');
  if (started.earlyStderr) onLog(started.earlyStderr);
  child.stderr!.on('data', onLog);
  const reader = (cutter: FrameCutter) => (chunk: Buffer) => {
    if (failure) return;
    try {
      if (!headerDone) waiting.push([cutter, chunk]);
      else {
        cutter.push(chunk);
        drain();
      }
    } catch (err) {
      fail(err);
    }
  };
  if (channel) {
    onChannelRead = (n) => {
      if (failure) return;
      try {
        filler.got(n);
        if (headerDone) drain();
      } catch (err) {
        fail(err);
      }
    };
    channel.reader.resume();
  } else wholeOut.on('data', reader(wholeCutter));
  gridOut?.on('data', reader(gridCutter));

  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await done;
    // the channel's last bytes may still be on their way after the process is gone
    await readerClosed;
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
    started.cleanup();
  }
  if (failure) throw failure;
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('decode aborted');
  const text = stderr.toString();
  if (exit.code === 0 && gridMode && !failure && (grids.length || wholes.length || wholeCount !== Math.ceil(index / every))) {
    throw new Error(`grid decode of ${redactText(opts.source, opts.source)}: ${index} grids but ${wholeCount} whole frames (expected ${Math.ceil(index / every)}); ffmpeg's two outputs disagree`);
  }
  if (exit.code !== 0 && index === 0 && started.inputAlias && WARM_REFUSED.test(text)) return decodeOnce(opts, onFrame, false);
  if (exit.code !== 0 || index === 0) {
    throw classifyFfmpegFailure({ source: opts.source, exitCode: exit.code, signal: exit.signal, stderr: text, frames: index, what: 'decode' });
  }
  const h = parseHeader(header || text);
  const seconds = fps > 0 ? index / fps : 0;
  const windowed = Boolean(opts.maxFrames || opts.maxSeconds || opts.startSeconds);
  const isFile = !/^[a-z][a-z0-9+.-]*:\/\//i.test(opts.source);
  const corrupt = /corrupt decoded frame/i.test(text);
  // A local file has no packet loss: a corrupt frame means a damaged or cut-off file. (Network
  // streams, and clips recorded from them, do lose packets, so they are not held to this.)
  if (!(opts.lossy ?? !isFile) && corrupt) {
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
