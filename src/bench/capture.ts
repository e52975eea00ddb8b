import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DirectoryArtifactStore } from '../artifacts/store.js';
import { cameraSchema, DEMO_VIDEO, type CameraConfig } from '../config/schema.js';
import { captureAndSample } from '../sampling/pipeline.js';
import { sampledAheadStats } from '../sampling/sample-step.js';
import { frameBytesOf } from '../video/decode.js';
import { openOutputChannel } from '../video/channel.js';
import { inputArgs, locateFfmpeg } from '../video/ffmpeg.js';
import { warmDecoderStats } from '../video/warm-decoder.js';

export interface CaptureBenchOptions {
  /** video to use (default: the demo video) */
  video?: string;
  /** alternating reference/pipeline runs; medians are reported */
  iterations?: number;
  /** camera settings (capture/sample sections); the source is replaced by `video` */
  camera?: CameraConfig;
  log?: (line: string) => void;
}

export interface CaptureBenchResult {
  ffmpegFps: number;
  pipelineFps: number;
  ratio: number;
  peakRssMb: number;
  /**
   * Frames of the video at its own rate: what both frame rates count. The pipeline decodes every
   * one of them (ffmpeg's fps filter drops frames after decoding) and scores `sampledFrames`.
   */
  frames: number;
  /** frames scored at the camera's capture.fps (the fps filter's output) */
  sampledFrames: number;
  ffmpegSeconds: number;
  pipelineSeconds: number;
  /**
   * Median seconds of the pipeline's two steps: capture (record + store the clip) and sample
   * (decode, score, encode, store). A local file is sampled while its clip is recorded
   * (sample-ahead.ts): the capture step then holds the sampling and the sample step only takes it.
   */
  captureSeconds: number;
  sampleSeconds: number;
  selected: number;
  /** 1 frame in this many left ffmpeg whole in the pipeline (every frame's grid did) */
  candidateStride: number;
  /**
   * Median seconds from spawning `ffmpeg -version` to its exit, from this process: what starting one
   * ffmpeg costs here (the pipeline starts two a run, capture and sample; the reference one).
   */
  ffmpegStartSeconds: number;
  /** pipeline runs whose sample's ffmpeg was already started (warmed during the capture) */
  warmSampleDecodes: number;
  /** pipeline runs whose sample was taken while the clip was recorded (the sample step took it) */
  sampledAhead: number;
  /**
   * Each run's own ratio (its pipeline against the reference just before it): their spread is the
   * host's noise, which on a small shared VM is wider than most changes one would measure.
   */
  runRatios: number[];
  iterations: number;
  ffmpeg: string;
  /** what the reference measures (it is the physical limit the pipeline is compared with) */
  reference: string;
}

/**
 * The pipeline decodes in the source's native pixel format (yuv420p for camera codecs), so the
 * reference does too: bare decode with nothing but the transfer out of ffmpeg, the real physical limit.
 * (An rgb24 reference would include ffmpeg's colour conversion and twice the pipe bytes, and flatter the ratio.)
 */
const REFERENCE_PIX_FMT = 'yuv420p';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Reference: bare ffmpeg decoding to raw frames in the native pixel format, read the cheapest way
 * we know and dropped: through the socket channel the pipeline's decode uses (video/channel.ts),
 * into one reused buffer. (Read through a plain pipe, Node's per-read buffers cost this process
 * more CPU than ffmpeg's decode, and the reference was that much slower than the physical limit.)
 */
async function bareDecode(ffmpegPath: string, video: string): Promise<{ seconds: number; bytes: number; via: string }> {
  const t0 = performance.now();
  let bytes = 0;
  const sink = new Uint8Array(1 << 20);
  const channel = process.env.AUTOTUNER_PIPE_CHANNEL === '0' ? null : await openOutputChannel({
    buffer: sink,
    callback: (n) => {
      bytes += n;
      return true;
    },
  }).catch(() => null);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(ffmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', ...inputArgs(video), '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', REFERENCE_PIX_FMT, 'pipe:1'], {
      stdio: ['ignore', channel ? channel.childEnd : 'pipe', 'pipe'],
    });
  } finally {
    channel?.childEnd.destroy();
  }
  // -v error: only what went wrong, for the message below
  let errors = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => void (errors = (errors + s).slice(-2000)));
  const read = channel
    ? new Promise<void>((resolve) => {
        channel.reader.once('close', () => resolve());
        channel.reader.on('error', () => {});
        channel.reader.resume();
      })
    : new Promise<void>((resolve) => {
        child.stdout!.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        child.stdout!.once('close', () => resolve());
      });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  await read;
  if (code !== 0) {
    const why = errors.trim().split('\n').pop() ?? '';
    throw new Error(`reference ffmpeg decode of ${video} failed (exit ${code})${why ? `: ${why}` : ''}; bench capture needs a readable video (--video PATH)`);
  }
  // the send buffer decides how far ffmpeg may write ahead of the reads: on a host that caps it the ratio is not comparable
  const via = channel ? `socket channel (send buffer ${channel.sendBuffer.bytes ? `${(channel.sendBuffer.bytes / (1 << 20)).toFixed(1)} MB, ${channel.sendBuffer.outcome}` : 'kernel default'})` : 'pipe';
  return { seconds: (performance.now() - t0) / 1000, bytes, via };
}

/** Wall seconds of one `ffmpeg -version`: process start (the dynamic linker, for a shared build) and exit. */
async function ffmpegStart(ffmpegPath: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(ffmpegPath, ['-hide_banner', '-version'], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${ffmpegPath} -version failed (exit ${code})`);
  return (performance.now() - t0) / 1000;
}

/**
 * Capture throughput: bare ffmpeg decode (reference) vs our capture+sample pipeline on the same
 * video in the same process, alternated so both see the same machine load. Both decode every frame
 * in the native pixel format and read them the same way (video/channel.ts); the reference takes
 * all of them whole, the pipeline every frame's grid and, when the window is long for the budget,
 * only every k-th frame whole (see
 * sample.candidatesPerSlot). The ratio measures what our capture, scoring, selection, JPEG
 * encoding and storing cost against the bare decode.
 */
export async function runCaptureBench(opts: CaptureBenchOptions = {}): Promise<CaptureBenchResult> {
  const video = opts.video ?? DEMO_VIDEO;
  const iterations = Math.max(1, opts.iterations ?? 3);
  const log = opts.log ?? (() => {});
  let reference = '';
  const ffmpeg = await locateFfmpeg();
  const base = opts.camera ?? cameraSchema.parse({ id: 'bench', source: video });
  const camera: CameraConfig = { ...base, source: video };
  const root = await mkdtemp(path.join(os.tmpdir(), 'autotuner-bench-capture-'));
  const refTimes: number[] = [];
  const pipeTimes: number[] = [];
  const captureTimes: number[] = [];
  const sampleTimes: number[] = [];
  const startTimes: number[] = [];
  let frames = 0;
  let sampledFrames = 0;
  let refFrames = 0;
  let selected = 0;
  let candidateStride = 1;
  let warmSampleDecodes = 0;
  let sampledAhead = 0;
  const runRatios: number[] = [];
  try {
    for (let i = 0; i < iterations; i++) {
      // Each run stores into an empty store, as a camera's next window does: its frames are new, so
      // the tree is renamed into place. (The same video every run would otherwise find its frames
      // stored already from the second run on, and take a path no camera's runs take: check the
      // stored tree, delete the scratch copy.) The camera's background state is kept across runs,
      // as a camera's is.
      const storeDir = path.join(root, `artifacts-${i}`);
      const store = new DirectoryArtifactStore(storeDir);
      const ref = await bareDecode(ffmpeg.path, video);
      if (!reference) {
        reference = `bare ffmpeg decode to raw ${REFERENCE_PIX_FMT} (native pixel format), read through a ${ref.via} into one reused buffer and discarded: the physical limit`;
        log(`reference: ${reference}`);
      }
      refTimes.push(ref.seconds);
      startTimes.push(await ffmpegStart(ffmpeg.path));
      const taken = warmDecoderStats().taken;
      const aheadTaken = sampledAheadStats().taken;
      const t0 = performance.now();
      const r = await captureAndSample({ camera, store, dataDir: root, workDir: path.join(root, `capture-${i}`) });
      const secs = (performance.now() - t0) / 1000;
      pipeTimes.push(secs);
      if (warmDecoderStats().taken > taken) warmSampleDecodes++;
      if (sampledAheadStats().taken > aheadTaken) sampledAhead++;
      captureTimes.push(r.timings.captureSec);
      sampleTimes.push(r.timings.sampleSec);
      // counted at the video's own rate, like the reference's (a 25 fps camera sampled at 10 fps
      // still has every frame decoded)
      frames = r.capture.frames || r.sample.decoded;
      sampledFrames = r.sample.decoded;
      selected = r.sample.selected;
      candidateStride = r.manifest.stats.candidateStride ?? 1;
      // reference frame count from bytes (native rate, native size)
      refFrames = Math.round(ref.bytes / frameBytesOf(REFERENCE_PIX_FMT, r.capture.width, r.capture.height)) || frames;
      runRatios.push(Math.round((frames / secs / (refFrames / ref.seconds)) * 1000) / 1000);
      log(`run ${i + 1}/${iterations}: ffmpeg ${ref.seconds.toFixed(2)} s, pipeline ${secs.toFixed(2)} s (${frames} frames, ${sampledFrames} scored, ${selected} selected)`);
      // outside the timed part: the next run starts on an empty store
      await rm(storeDir, { recursive: true, force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const ffmpegSeconds = median(refTimes);
  const pipelineSeconds = median(pipeTimes);
  const ffmpegFps = refFrames / ffmpegSeconds;
  const pipelineFps = frames / pipelineSeconds;
  return {
    ffmpegFps: Math.round(ffmpegFps * 10) / 10,
    pipelineFps: Math.round(pipelineFps * 10) / 10,
    ratio: Math.round((pipelineFps / ffmpegFps) * 1000) / 1000,
    // maxRSS is in kilobytes
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    frames,
    sampledFrames,
    ffmpegSeconds,
    pipelineSeconds,
    captureSeconds: median(captureTimes),
    sampleSeconds: median(sampleTimes),
    selected,
    candidateStride,
    ffmpegStartSeconds: median(startTimes),
    warmSampleDecodes,
    sampledAhead,
    runRatios,
    iterations,
    ffmpeg: `${ffmpeg.version} (${ffmpeg.source})`,
    reference,
  };
}
