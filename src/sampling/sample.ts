import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { SampleConfig } from '../config/schema.js';
import { decodeFrames, frameBytesOf, prewarmDecode, type DecodedFrame, type DecodeOptions, type GridOptions } from '../video/decode.js';
import type { WarmLease } from '../video/warm-decoder.js';
import type { Deinterlace, Rotation } from '../video/ffmpeg.js';
import { redactText } from '../video/redact.js';
import { isNetworkSource } from '../video/errors.js';
import { changedShare, scoreActivity, type Box } from './activity.js';
import { BackgroundModel } from './background.js';
import { BASE_DIFF_THRESHOLD, motionThreshold, noiseSigma } from './noise.js';
import { correlation, loadPreviousBackground, loadPreviousRestless, MOVED_CORRELATION, saveBackground } from './camera-moved.js';
import { GridSampler, lumaToGrey, meanAbsDiff, type GreyGrid } from './grid.js';
import type { KnownDigest } from '../artifacts/store.js';
import { copyParts, JpegWriter } from './jpeg-writer.js';
import { frameName, writeManifest, type ManifestFrame, type SampleManifest } from './manifest.js';
import { selectFinal, slotCounts, slotOf, type Candidate } from './select.js';
import { makeBlockSplit } from './split.js';
import { maskCells, restlessRates, restlessRegions } from './restless.js';

export interface SampleClipOptions {
  /** local video file (the capture step's clip) */
  clip: string;
  cameraId: string;
  /** the camera source, for the manifest (redacted here) */
  source: string;
  sample: SampleConfig;
  /** decode frame rate (capture.fps); omit to keep the clip's */
  fps?: number;
  /** decode width (capture.width); omit to keep native size */
  width?: number;
  /**
   * The clip has gaps (CaptureResult.footageSeconds): decoded at `fps` by dropping frames only, so
   * the gaps are left out instead of filled with repeats (see DecodeOptions.skipGaps);
   * `expectedSeconds` is then the seconds of video, and so are the frames' `t`.
   */
  skipGaps?: boolean;
  /**
   * Clockwise turn of the clip's pixels (CaptureResult.rotation; default none). Applied
   * explicitly, and the clip's own display matrix ignored: decoding a clip and decoding its
   * camera's file then give the same upright frames on every ffmpeg.
   */
  rotate?: Rotation;
  /**
   * Deinterlace the clip's frames (an interlaced camera: CaptureResult.interlaced and the camera's
   * capture.deinterlace, see deinterlaceFor). The teacher then labels, and the student learns
   * from, whole frames, as the edge server decodes them for the student.
   */
  deinterlace?: Deinterlace;
  /**
   * The clip's native frame rate and width as shown, after `rotate` (CaptureResult.fps/width). With them the decode can be
   * planned before it starts: only every k-th frame comes out of ffmpeg whole (see
   * sample.candidatesPerSlot); without them every frame does.
   */
  clipFps?: number;
  clipWidth?: number;
  /** window length (CaptureResult.seconds): sets the coverage slots and time blocks before decoding ends */
  expectedSeconds: number;
  /**
   * Decode only this many seconds of `clip`: where `clip` is the camera's own file, sampled while
   * its window is recorded (sample-ahead.ts), this is the window. Default: all of it.
   */
  maxSeconds?: number;
  /** fail when the clip decodes much shorter than its container says (default true; off for a window of a longer file) */
  checkTruncation?: boolean;
  /**
   * Decode in grid mode even when every frame comes whole (k = 1): the same frames and grids (the
   * grid is what the sampler reads from a whole frame), but the decode's filter graph is then what
   * a warmed decoder waits for.
   */
  alwaysGrid?: boolean;
  /** receives images/<name>.jpg and manifest.json */
  outDir: string;
  /** `<dataDir>/cameras/<cameraId>`: compare with and update background.png there */
  cameraStateDir?: string;
  /** identifies the run (workflow run id): a retried sample compares with the background from before this run */
  runKey?: string;
  /**
   * Leave this run's background in cameraStateDir for the next run (default true). False only
   * compares with it: a trial capture from the command line must not become the camera's last
   * view, or the next tuning would compare with the trial instead of with its previous run.
   */
  saveState?: boolean;
  /**
   * Return before this run's background is saved to cameraStateDir, with `stateSaved` to await:
   * the caller stores the frames meanwhile (the save is a few small fsynced writes, slow on an SD
   * card). Without it sampleClip resolves only once the state is saved.
   */
  overlapStateSave?: boolean;
  onProgress?: (p: { decoded: number; t: number }) => void;
  signal?: AbortSignal;
}

export interface SampleClipResult {
  manifest: SampleManifest;
  manifestPath: string;
  /** the JPEGs' digests as written, by path relative to outDir (for the store: no read-back) */
  written: Map<string, KnownDigest>;
  /** settled once the camera's background state is saved (already, unless overlapStateSave) */
  stateSaved: Promise<void>;
}

/** Grid width (cells) the sampler scores on: ~12k cells for a 4:3 frame. */
const GRID_WIDTH = 96;

/**
 * Which frames come out of ffmpeg whole. Scoring needs only the grid, and the selection keeps one
 * frame per coverage slot, so only every k-th frame needs to leave ffmpeg whole: k is chosen so
 * that each slot still offers about `candidatesPerSlot` whole frames. Consecutive frames of a
 * static camera differ little, so picking from every k-th loses little, and moving a k-th of the
 * bytes is most of the decode's cost. k = 1 (short windows, big budgets, or a clip whose rate
 * or width is unknown beforehand) decodes as before: every frame whole, the grid read from it.
 */
export function planWholeFrames(
  opts: Pick<SampleClipOptions, 'fps' | 'width' | 'clipFps' | 'clipWidth' | 'expectedSeconds' | 'alwaysGrid'>,
  budget: number,
  candidatesPerSlot: number,
): { every: number; grid?: GridOptions } {
  const fps = opts.fps ?? opts.clipFps ?? 0;
  const width = opts.width ?? opts.clipWidth ?? 0;
  if (!(fps > 0) || !(width > 0) || !(opts.expectedSeconds > 0)) return { every: 1 };
  const frames = Math.round(opts.expectedSeconds * fps);
  const every = Math.max(1, Math.floor(frames / (Math.max(1, budget) * Math.max(1, candidatesPerSlot))));
  if (every === 1 && !opts.alwaysGrid) return { every };
  return { every, grid: { every, step: Math.max(1, Math.round(width / GRID_WIDTH)) } };
}

/**
 * What sampleClip takes from the window's length (`seconds` at the sampling rate `fps`): the
 * frames expected (the coverage slots), the stride of whole frames and the split's time blocks.
 * Two lengths with the same plan give the same sample of the same frames.
 */
export function windowPlan(seconds: number, fps: number, cfg: SampleConfig): string {
  const split = makeBlockSplit(seconds, cfg.blockSeconds, cfg.valShare);
  const { every } = planWholeFrames({ fps, width: 1, expectedSeconds: seconds }, cfg.budget, cfg.candidatesPerSlot);
  return JSON.stringify([Math.max(1, Math.round(seconds * fps)), every, split.blockSeconds, split.blocks, split.valBlocks, split.guardSeconds]);
}

/** The sample step's decode of a clip (one place: a warmed decoder is matched by these arguments). */
function sampleDecodeOptions(
  opts: Pick<SampleClipOptions, 'clip' | 'fps' | 'width' | 'rotate' | 'deinterlace' | 'skipGaps' | 'clipFps' | 'maxSeconds' | 'checkTruncation'> & { source?: string },
  grid: GridOptions | undefined,
): DecodeOptions {
  return {
    source: opts.clip,
    // a clip recorded from a camera's stream carries the network's packet losses (concealed frames)
    lossy: opts.source !== undefined && isNetworkSource(opts.source),
    // grid mode passes frames through as decoded (the selected output must not be padded back
    // to a constant rate); the fps filter gives it the constant rate the plain pipe has anyway
    fps: opts.fps ?? (grid || opts.skipGaps ? opts.clipFps : undefined),
    ...(opts.skipGaps ? { skipGaps: true } : {}),
    width: opts.width,
    // always set: the argument list (-noautorotate) is then the same for every clip, and a
    // warmed decoder, whose filter graph (where the turn goes) comes later, matches any of them
    rotate: opts.rotate ?? 0,
    ...(opts.deinterlace ? { deinterlace: opts.deinterlace } : {}),
    maxSeconds: opts.maxSeconds,
    checkTruncation: opts.checkTruncation ?? true,
    // yuv420p: half the pipe bytes of rgb24 and no conversion in ffmpeg; scoring reads the Y plane
    pixelFormat: 'yuv420p',
    grid,
  };
}

/**
 * Start the ffmpeg of the grid decode that sampleClip will run on a clip of this extension with
 * these settings, before the clip exists (the capture step calls this as it starts): ffmpeg's
 * start then overlaps the capture. The grid's step and stride go into the filter graph, which the
 * decoder reads when it is taken, so placeholders do here. Best effort.
 */
export function prewarmSampleDecode(settings: { fps?: number; width?: number; clipExt: string } & Pick<SampleClipOptions, 'maxSeconds' | 'checkTruncation'>): Promise<WarmLease> {
  const { clipExt, ...rest } = settings;
  return prewarmDecode(sampleDecodeOptions({ ...rest, clip: `/clip${clipExt}`, clipFps: 10 }, { every: 2, step: 8 }));
}

/** JPEG encodes in flight at most (each holds a copy of the frame and, in the writer thread, its rgb24 conversion). */
const MAX_ENCODES = 4;

interface Kept extends Candidate {
  split: 'train' | 'val';
  motion: Box[];
  grid: Uint8Array;
  /**
   * The frame's pixels until it is encoded: the channel's frame buffer itself, swapped out when the
   * frame became its slot's best so far (a pipe's frame is copied into a buffer the writer
   * recycles). A better frame in the same slot hands this buffer back to the decoder's pool.
   * Holding the pipe's chunks instead let them outlive young-generation collections, and V8 then
   * ran a full collection every few frames for the external memory they hold.
   */
  pixels: Uint8Array | null;
  encoded: Promise<void> | null;
  written?: KnownDigest;
}

/**
 * Decode the clip once, score every frame against a running-median background, keep the most
 * active non-duplicate frame per coverage slot (and some frames with nothing moving), split by
 * time blocks, detect a moved camera, and write images + manifest.json into outDir.
 * When the window is long for the budget, ffmpeg sends every frame's grid but only every k-th
 * frame whole (planWholeFrames). Only kept frames are copied out of the pipe; they are converted
 * and JPEG-encoded on a worker thread while decoding goes on.
 */
export async function sampleClip(opts: SampleClipOptions): Promise<SampleClipResult> {
  const cfg = opts.sample;
  const imagesDir = path.join(opts.outDir, 'images');
  await mkdir(imagesDir, { recursive: true });
  const split = makeBlockSplit(opts.expectedSeconds, cfg.blockSeconds, cfg.valShare);
  const slots = slotCounts(cfg.budget, cfg.emptyShare);
  const plan = planWholeFrames(opts, cfg.budget, cfg.candidatesPerSlot);

  let sampler: GridSampler | null = null;
  let gridShape: { width: number; height: number; step: number } | null = null;
  // the camera's motion mask in grid cells, and how often each cell differed from the background
  let ignore: Uint8Array | null = null;
  let hits: Uint32Array | null = null;
  let hitFrames = 0;
  let previous: ReturnType<typeof loadPreviousBackground> = Promise.resolve(null);
  let previousRestless: Promise<Uint8Array | null> = Promise.resolve(null);
  let bg: BackgroundModel | null = null;
  let fps = opts.fps ?? 0;
  let expectedFrames = 0;
  let decoded = 0;
  let sumScore = 0;
  let emptyFrames = 0;
  // each frame's noise (grey levels): the motion threshold follows it (noise.ts)
  const sigmas: number[] = [];
  let sigma = 0;
  let relitRun = 0;
  // times the picture changed light wholesale and the background started again
  let relit = 0;
  let duplicates = 0;
  let wholesaleRun = 0;
  let minCorr = 1;
  let movedReason = '';
  const moving: Kept[] = [];
  const empty: Kept[] = [];
  let movingSlot = -1;
  let emptySlot = -1;
  let bestMoving: Kept | null = null;
  let bestEmpty: Kept | null = null;
  const encodes: Array<Promise<void>> = [];
  let inFlight = 0;
  let encodeError: unknown = null;
  let encodeDone: (() => void) | null = null;

  const writer = new JpegWriter();
  let frameW = 0;
  let frameH = 0;
  const keep = (k: Kept, into: Kept[]): void => {
    const pixels = k.pixels!;
    k.pixels = null;
    // Converted and encoded on a worker thread while decoding goes on (never awaited one by one).
    inFlight++;
    k.encoded = writer
      .writeFrame(pixels, frameW, frameH, 'yuv420p', path.join(imagesDir, `${frameName(k.index)}.jpg`))
      .then((w) => {
        k.written = w;
      })
      .catch((err: unknown) => {
        encodeError ??= err;
      })
      .finally(() => {
        inFlight--;
        const done = encodeDone;
        encodeDone = null;
        done?.();
      });
    encodes.push(k.encoded);
    into.push(k);
  };
  const lastGrid = (list: Kept[]): Uint8Array | null => (list.length ? list[list.length - 1]!.grid : null);
  /**
   * The frame's pixels: its channel buffer itself, swapped for the buffer of the candidate it
   * replaces (or a recycled one), or where that cannot be, a copy into that buffer.
   */
  const pixelsOf = (frame: DecodedFrame, replaced: Kept | null): Uint8Array => {
    const into = replaced?.pixels ?? writer.buffer(frameBytesOf(frame.format, frame.width, frame.height));
    const own = frame.swap(into);
    if (own) return own;
    copyParts(frame.parts, into);
    return into;
  };

  let summary: Awaited<ReturnType<typeof decodeFrames>>;
  try {
    summary = await decodeFrames(
      { ...sampleDecodeOptions(opts, plan.grid), signal: opts.signal },
      (frame): Promise<void> | undefined => {
        if (encodeError) throw encodeError;
        if (!bg) {
          frameW = frame.width;
          frameH = frame.height;
          if (!frame.grid) sampler = new GridSampler(frame.width, frame.height, GRID_WIDTH, 1);
          fps = fps || frame.fps || 10;
          expectedFrames = Math.max(1, Math.round(opts.expectedSeconds * fps));
          const cells = frame.grid ? frame.grid.width * frame.grid.height : sampler!.gw * sampler!.gh;
          // ~15 samples over ~7 s: long enough that people walking through are outvoted
          bg = new BackgroundModel(cells, Math.max(1, Math.round(fps / 2)));
        }
        const grid: GreyGrid = frame.grid ? lumaToGrey(frame.grid) : sampler!.sample(frame.parts);
        if (!gridShape) {
          gridShape = { width: grid.width, height: grid.height, step: grid.step };
          ignore = maskCells(cfg.motionMask ?? [], { ...gridShape, frameWidth: frame.width, frameHeight: frame.height });
          hits = new Uint32Array(grid.width * grid.height);
          // read while the decode runs, not after it (null, never a failure: an unreadable state is no previous run)
          if (opts.cameraStateDir) {
            previous = loadPreviousBackground(opts.cameraStateDir, grid.width, grid.height, opts.runKey).catch(() => null);
            previousRestless = loadPreviousRestless(opts.cameraStateDir, grid.width, grid.height, opts.runKey).catch(() => null);
          }
        }
        const recomputed = bg.push(grid.data);
        // counted once the background is warm: before, everything differs from a half-made one
        if (bg.warm) hitFrames++;
        // A frame that just went into the background is partly its own background (with a few
        // samples, the median is this frame in many cells): it reads as less noisy than it is,
        // and takes the noise of the frame before.
        if (!recomputed || sigmas.length === 0) sigma = noiseSigma(grid.data, bg.background);
        sigmas.push(sigma);
        const threshold = motionThreshold(sigma);
        const act = scoreActivity(grid, bg.background, frame.width, frame.height, { ignore, hits: bg.warm ? hits : null, diffThreshold: threshold });
        decoded++;
        sumScore += act.score;
        const isEmpty = act.motion.length === 0;
        if (isEmpty) emptyFrames++;

        // Camera moved within the window: most of the frame differs for a second or more, or the
        // background itself stops resembling the one at the start.
        // Read at the day threshold: a scene that changed wholesale also raises the measured
        // "noise" (it is measured against the old background), and the threshold that follows it
        // would hide the change. Sensor noise alone changes a small share of cells at 25.
        const changed = threshold === BASE_DIFF_THRESHOLD ? act.score : changedShare(grid, bg.background, BASE_DIFF_THRESHOLD, ignore);
        // ...and the picture no longer resembles the background: a camera switching to its night
        // (IR) picture, or its exposure jumping, changes every cell but keeps the scene's shapes
        // (a correlation of ~0.8 with the day's background; a new view's is ~0). Only checked
        // for a frame that changed wholesale, so it costs nothing otherwise.
        const wholesale = changed > 0.5 && correlation(grid.data, bg.background) < MOVED_CORRELATION;
        wholesaleRun = wholesale ? wholesaleRun + 1 : 0;
        // The same scene in another light, for half a second (not a flash): the background starts
        // again from it, instead of every frame showing a frame-wide "motion" box for the ~4 s
        // the running median takes to turn over.
        relitRun = changed > 0.5 && !wholesale ? relitRun + 1 : 0;
        if (relitRun >= Math.max(2, Math.round(fps / 2))) {
          bg.reseed(grid.data);
          relitRun = 0;
          relit++;
        }
        if (!movedReason && bg.warm && wholesaleRun >= Math.max(3, fps)) {
          movedReason = `most of the image changed at once at t=${frame.t.toFixed(1)}s and stayed changed`;
        }
        if (recomputed && bg.reference && bg.background !== bg.reference) {
          const c = correlation(bg.background, bg.reference);
          minCorr = Math.min(minCorr, c);
          if (!movedReason && c < MOVED_CORRELATION) {
            movedReason = `the background changed within the window at t≈${frame.t.toFixed(1)}s (correlation ${c.toFixed(2)} with its start)`;
          }
        }

        const s = split.splitOf(frame.t);
        const ms = slotOf(frame.index, slots.moving, expectedFrames);
        if (ms !== movingSlot) {
          if (bestMoving) keep(bestMoving, moving);
          bestMoving = null;
          movingSlot = ms;
        }
        const es = slotOf(frame.index, slots.empty, expectedFrames);
        if (es !== emptySlot) {
          if (bestEmpty) keep(bestEmpty, empty);
          bestEmpty = null;
          emptySlot = es;
        }
        // only frames that came out of ffmpeg whole can be kept (grid mode: every k-th)
        if (s && frame.whole) {
          if (!isEmpty && act.score > (bestMoving?.score ?? 0)) {
            const prev = lastGrid(moving);
            if (prev && meanAbsDiff(grid.data, prev) < cfg.dedupeThreshold) duplicates++;
            else bestMoving = { index: frame.index, t: frame.t, score: act.score, empty: false, split: s, motion: act.motion, grid: grid.data, pixels: pixelsOf(frame, bestMoving), encoded: null };
          } else if (isEmpty && bg.warm && slots.empty > 0 && !bestEmpty) {
            const prev = lastGrid(empty);
            if (prev && meanAbsDiff(grid.data, prev) < cfg.dedupeThreshold) duplicates++;
            else bestEmpty = { index: frame.index, t: frame.t, score: 0, empty: true, split: s, motion: [], grid: grid.data, pixels: pixelsOf(frame, null), encoded: null };
          }
        }
        if (decoded % 50 === 0) opts.onProgress?.({ decoded, t: frame.t });
        // Backpressure: with MAX_ENCODES frames encoding, pause the decode until one finishes, so
        // kept frames (and their copies) cannot pile up when encoding is slower.
        if (inFlight >= MAX_ENCODES) return new Promise<void>((resolve) => (encodeDone = resolve));
        return undefined;
      },
    );
    if (bestMoving) keep(bestMoving, moving);
    if (bestEmpty) keep(bestEmpty, empty);
    await Promise.all(encodes);
  } catch (err) {
    await writer.close();
    throw err;
  }
  // every write has settled: the thread stops while the rest of the step goes on
  const writerClosed = writer.close();
  // observed below; a throw in between must not leave it an unhandled rejection
  writerClosed.catch(() => undefined);
  if (encodeError) {
    await writerClosed;
    throw encodeError;
  }
  opts.onProgress?.({ decoded, t: summary.seconds });

  const chosen = selectFinal(moving, empty, cfg.budget, cfg.emptyShare);
  const chosenSet = new Set(chosen);
  // Frames beyond the budget were encoded while decoding (before the final trim): drop them.
  for (const k of [...moving, ...empty]) {
    if (!chosenSet.has(k)) await rm(path.join(imagesDir, `${frameName(k.index)}.jpg`), { force: true });
  }
  await yieldToLoop();

  // Compare with the previous run's background, then leave this run's for the next one.
  // (The casts undo TypeScript's narrowing to `null`: it cannot see the assignments made inside
  // the frame callback.)
  const model = bg as BackgroundModel | null;
  const shape = gridShape as { width: number; height: number; step: number } | null;
  const counts = hits as Uint32Array | null;
  const restless = shape && counts ? restlessRegions(counts, hitFrames, { ...shape, frameWidth: frameW, frameHeight: frameH }, await previousRestless) : [];
  const maskedCells = (ignore as Uint8Array | null)?.reduce((a, v) => a + v, 0) ?? 0;
  const gridW = shape?.width ?? 0;
  const gridH = shape?.height ?? 0;
  let previousCorrelation: number | null = null;
  // saved while the manifest is written (and, with overlapStateSave, while the caller stores the frames)
  let stateSave: Promise<void> = Promise.resolve();
  if (opts.cameraStateDir && model) {
    const start = model.reference ?? model.background;
    const prev = await previous;
    if (prev) {
      previousCorrelation = prev.sameSize ? correlation(start, prev.data) : 0;
      if (!movedReason && previousCorrelation < MOVED_CORRELATION) {
        movedReason = prev.sameSize
          ? `the view differs from the previous run's background (correlation ${previousCorrelation.toFixed(2)})`
          : `the image's aspect ratio differs from the previous run's`;
      }
    }
    if (opts.saveState !== false) {
      stateSave = saveBackground(opts.cameraStateDir, model.background, gridW, gridH, opts.runKey, counts ? restlessRates(counts, hitFrames) : undefined);
      // its failure reaches whoever awaits it (below, or the caller's stateSaved), never as an unhandled rejection
      stateSave.catch(() => undefined);
    }
  }

  const frames: ManifestFrame[] = chosen.map((k) => ({
    name: frameName(k.index),
    index: k.index,
    t: Math.round(k.t * 1000) / 1000,
    score: Math.round(k.score * 1e5) / 1e5,
    split: k.split,
    empty: k.empty,
    motion: k.motion,
  }));
  const train = frames.filter((f) => f.split === 'train').length;
  const manifest: SampleManifest = {
    version: 1,
    cameraId: opts.cameraId,
    source: redactText(opts.source, opts.source),
    width: summary.width,
    height: summary.height,
    fps: summary.fps,
    frames,
    cameraMoved: movedReason !== '',
    cameraMovedReason: movedReason,
    stats: {
      decoded,
      selected: frames.length,
      train,
      val: frames.length - train,
      emptyKept: frames.filter((f) => f.empty).length,
      duplicatesDropped: duplicates,
      meanScore: decoded ? Math.round((sumScore / decoded) * 1e5) / 1e5 : 0,
      emptyFrameShare: decoded ? Math.round((emptyFrames / decoded) * 1e4) / 1e4 : 0,
      blockSeconds: split.blockSeconds,
      blocks: split.blocks,
      valBlocks: split.valBlocks,
      backgroundCorrelation: Math.round(minCorr * 1e4) / 1e4,
      previousCorrelation: previousCorrelation === null ? null : Math.round(previousCorrelation * 1e4) / 1e4,
      candidateStride: plan.every,
      restlessRegions: restless,
      maskedCells,
      ...(opts.deinterlace ? { deinterlaced: opts.deinterlace } : {}),
      ...noiseStats(sigmas),
      ...(relit ? { lightChanges: relit } : {}),
      seconds: summary.seconds,
    },
  };
  // both settle before anything throws: no save left running unobserved behind a failed manifest
  const [manifestWrite, closed] = await Promise.allSettled([writeManifest(opts.outDir, manifest), writerClosed]);
  if (manifestWrite.status === 'rejected' || closed.status === 'rejected') {
    await stateSave.catch(() => undefined);
    throw manifestWrite.status === 'rejected' ? manifestWrite.reason : (closed as PromiseRejectedResult).reason;
  }
  const written = new Map<string, KnownDigest>();
  for (const k of chosen) if (k.written) written.set(`images/${frameName(k.index)}.jpg`, k.written);
  if (!opts.overlapStateSave) await stateSave;
  return { manifest, manifestPath: manifestWrite.value, written, stateSaved: stateSave };
}

/** The window's typical noise and the motion threshold it set (the medians over its frames). */
function noiseStats(sigmas: number[]): { noiseSigma: number; motionThreshold: number } {
  if (sigmas.length === 0) return { noiseSigma: 0, motionThreshold: motionThreshold(0) };
  const sorted = Float64Array.from(sigmas).sort();
  const sigma = sorted[Math.floor(sorted.length / 2)]!;
  return { noiseSigma: Math.round(sigma * 10) / 10, motionThreshold: motionThreshold(sigma) };
}
