import { execFile, spawn } from 'node:child_process';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { classifyFfmpegFailure, DiskFullError, EmptySourceError, outputWriteFailure, SourceError, SourceInvalidError, SourceUnreachableError, stderrTail } from './errors.js';
import { displayedSize, ownFps, hasNoTimestamps, inputArgs, isLiveSource, killOnAbort, locateFfmpeg, parseHeader, TailBuffer, type FieldOrder, type ParsedHeader, type Rotation } from './ffmpeg.js';
import { redactText } from './redact.js';

const execFileP = promisify(execFile);

/** Captured clips are Matroska: stream copy keeps any codec, and a cut-off file still plays up to the cut. */
export const CLIP_EXTENSION = '.mkv';

export interface CaptureProgress {
  /** frames recorded so far in this window (all attempts) */
  framesSoFar: number;
  /** finished segment files (they survive a crash) */
  segmentsDone: number;
  /** recorded seconds so far */
  seconds: number;
}

export interface RecordOptions {
  source: string;
  /** window length in seconds of source time */
  seconds?: number;
  /** window length in frames at `fps` (whichever of seconds/frames is shorter wins) */
  frames?: number;
  /** target frame rate of the run: converts `frames` into a duration */
  fps: number;
  /**
   * Persistent directory for this capture's segments. A retried capture with the same directory
   * keeps the finished segments and records only the rest of the window.
   */
  workDir: string;
  /** segment length (default 30 s for live sources, one segment for files); a crash loses at most one segment. Stream copy cuts at keyframes only. */
  segmentSeconds?: number;
  /** live sources without seconds/frames record this long */
  defaultLiveSeconds?: number;
  /** socket timeout for network sources */
  timeoutSec?: number;
  /** RTP over the RTSP connection ('tcp', default) or over UDP (capture.rtspTransport) */
  rtspTransport?: 'tcp' | 'udp';
  /** kill ffmpeg and call the source unreachable when no progress comes for this long */
  stallSeconds?: number;
  /** force re-encoding (otherwise only when stream copy fails) */
  reencode?: boolean;
  onProgress?: (p: CaptureProgress) => void;
  /**
   * Called when a recording ffmpeg has been spawned (again if the stream copy fails and the window
   * is re-encoded): work meant to overlap the recording starts then.
   */
  onRecording?: (attempt: RecordAttempt) => void;
  /**
   * The source's header (size, frame rate, duration) once the recording ffmpeg has read it, before
   * the window is recorded; once per attempt.
   */
  onSourceHeader?: (header: ParsedHeader, attempt: RecordAttempt) => void;
  signal?: AbortSignal;
}

/** What one run of the recording ffmpeg records. */
export interface RecordAttempt {
  /** re-encoding (the stream copy failed, or asked): the clip's pixels are not the source's */
  reencode: boolean;
  /** an earlier attempt's segments are kept: this run records only the rest of the window */
  resumed: boolean;
  /** seconds this run records (undefined: to the end of the file) */
  seconds: number | undefined;
}

export interface RecordedClip {
  /** the whole window as one local file */
  path: string;
  frames: number;
  seconds: number;
  /** as shown: after `rotation` */
  width: number;
  height: number;
  /**
   * The turn the clip's pixels need to be shown upright (the source's display matrix, see
   * StreamInfo.rotation): 0 when re-encoded (ffmpeg turned them while encoding). Decoders of the
   * clip apply it themselves: a stream copy into Matroska loses the matrix on ffmpeg 5.1.
   */
  rotation: Rotation;
  /**
   * The source's field order where its header says it is interlaced (StreamInfo.interlaced), null
   * otherwise. Also for a re-encoded clip: its frames are the source's, fields woven together.
   */
  interlaced: FieldOrder | null;
  fps: number;
  /**
   * Seconds of video in the window, where that is well under the window (`seconds`): a file with
   * gaps, such as an NVR's export of motion-triggered recording. Absent otherwise.
   */
  footageSeconds?: number;
  codec: string;
  /** source, credentials redacted */
  source: string;
  reencoded: boolean;
  segments: number;
  /** segments that an earlier (crashed) attempt had already finished */
  resumedSegments: number;
}

interface Segment {
  file: string;
  start: number;
  end: number;
}

/** Window length in seconds; undefined means "until the source ends" (files only). */
export function windowSeconds(opts: Pick<RecordOptions, 'seconds' | 'frames' | 'fps' | 'source' | 'defaultLiveSeconds'>): number | undefined {
  const limits: number[] = [];
  if (opts.seconds) limits.push(opts.seconds);
  if (opts.frames) limits.push(opts.frames / opts.fps);
  if (limits.length) return Math.min(...limits);
  // A live stream never ends by itself: bound it rather than record forever.
  return isLiveSource(opts.source) ? (opts.defaultLiveSeconds ?? 60) : undefined;
}

/**
 * Finished segments, from the csv lists ffmpeg's segment muxer appends to as each file closes. A
 * listed segment that is not on disk (one dropped after a failed write, where its list could not be
 * rewritten) does not count.
 */
async function finishedSegments(workDir: string): Promise<Segment[]> {
  const out: Segment[] = [];
  let entries: string[] = [];
  try {
    entries = await readdir(workDir);
  } catch {
    return out;
  }
  const present = new Set(entries);
  for (const name of entries.filter((n) => /^list-\d+\.csv$/.test(n)).sort()) {
    const text = await readFile(path.join(workDir, name), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const [file, start, end] = line.trim().split(',');
      if (file && start !== undefined && end !== undefined && present.has(file)) out.push({ file, start: Number(start), end: Number(end) });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/** Segments whose end failed ("Failure occurred when ending segment '…'": a full disk at its trailer). */
function failedSegmentNames(stderr: string): string[] {
  return [...stderr.matchAll(/Failure occurred when ending segment '([^'\n]+)'/g)].map((m) => path.basename(m[1]!));
}

/**
 * Take segments off the disk and out of the lists (ffmpeg lists a segment it failed to finish). The
 * files go first, which frees room for the shorter lists on a full disk; a list that still cannot
 * be rewritten names a file that is gone, which finishedSegments then leaves out.
 */
async function unlistSegments(workDir: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const drop = new Set(names);
  for (const name of drop) await rm(path.join(workDir, name), { force: true });
  for (const list of (await readdir(workDir)).filter((n) => /^list-\d+\.csv$/.test(n))) {
    const file = path.join(workDir, list);
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n');
    const kept = lines.filter((l) => !drop.has(l.split(',')[0]!.trim()));
    if (kept.length !== lines.length) await writeFile(file, kept.join('\n')).catch(() => undefined);
  }
}

/** A segment file in no list was being written when its ffmpeg died or was stopped: drop it. */
async function dropUnlistedSegments(workDir: string): Promise<void> {
  const keep = new Set((await finishedSegments(workDir)).map((s) => s.file));
  for (const name of await readdir(workDir)) {
    if (/^seg-\d+\.mkv$/.test(name) && !keep.has(name)) await rm(path.join(workDir, name), { force: true });
  }
}

/**
 * Live sources found to have no timestamps (hasNoTimestamps), in this process: their later
 * captures start with arrival times instead of being stopped at the header and started again.
 */
const wallclockSources = new Set<string>();

/**
 * The frame rate of a clip timed by arrival: what arrived in the seconds recorded (its header's
 * rate is ffmpeg's guess of 25). Streams with timestamps keep their header's rate.
 */
function liveFps(frames: number, seconds: number): number {
  return frames > 0 && seconds > 0 ? Math.round((frames / seconds) * 100) / 100 : 0;
}

let encoderCache: Promise<string[]> | undefined;
async function reencodeArgs(segmentSeconds: number): Promise<string[]> {
  encoderCache ??= locateFfmpeg().then(async (f) => {
    const { stdout } = await execFileP(f.path, ['-hide_banner', '-encoders'], { timeout: 10_000, maxBuffer: 4 << 20 });
    return stdout.includes(' libx264 ') ? ['libx264'] : ['mjpeg'];
  });
  // a failed lookup (a timeout on a loaded box) is asked again next time, not cached until a restart
  encoderCache.catch(() => (encoderCache = undefined));
  const [enc] = await encoderCache;
  // Keyframes at segment boundaries, so segments cut where asked and a resume seeks exactly.
  const kf = ['-force_key_frames', `expr:gte(t,n_forced*${segmentSeconds})`];
  if (enc === 'libx264') return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', ...kf];
  return ['-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p', ...kf];
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  frames: number;
  outSeconds: number;
  stalled: boolean;
  /** stopped by `stopAtHeader` once the input's header was read */
  stoppedAtHeader: boolean;
}

/**
 * Video frames the output got, from the end summary ffmpeg prints at `-v verbose` ("Output stream #0:0 (video):
 * 30 frames encoded; 30 packets muxed"); null when there is none (ffmpeg died first). The summary, not
 * -progress, is the count: ffmpeg >= 6.1 leaves frame= out of -progress when it copies a stream.
 */
export function muxedVideoFrames(stderr: string): number | null {
  // At a line start (ffmpeg 7 prefixes "[out#0/mux @ 0x…]"), and the last one: the input's metadata,
  // echoed in the header, could hold the same words.
  let count: number | null = null;
  for (const m of stderr.matchAll(/^(?:\[[^\]\n]*\])?[ \t]*Output stream #0:\d+ \(video\): (?:(\d+) frames encoded; )?(\d+) packets muxed/gm)) {
    count = Number(m[1] ?? m[2]);
  }
  return count;
}

/** Run ffmpeg with `-progress pipe:1` (and `-v verbose` for the end summary), report progress blocks, kill it when it stalls. */
async function runWithProgress(
  args: string[],
  opts: {
    signal?: AbortSignal;
    stallSeconds: number;
    onBlock?: (frames: number, outSeconds: number) => void;
    onSpawn?: () => void;
    onHeader?: (h: ParsedHeader) => void;
    /** asked once the input's header is read: true kills ffmpeg there (the caller starts it again otherwise) */
    stopAtHeader?: (h: ParsedHeader) => boolean;
  },
): Promise<RunResult> {
  const ffmpeg = await locateFfmpeg();
  const child = spawn(ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  opts.onSpawn?.();
  const unsubscribe = killOnAbort(child, opts.signal);
  const stderr = new TailBuffer();
  let frames = 0;
  let outSeconds = 0;
  let stalled = false;
  let stoppedAtHeader = false;
  let last = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - last > opts.stallSeconds * 1000) {
      stalled = true;
      child.kill('SIGKILL');
    }
  }, 500);
  let pending = '';
  // ffmpeg >= 6.1 reports no frame= for stream copy: estimate from the output time and the input's frame rate.
  let sawFrameKey = false;
  let inputFps: number | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    last = Date.now();
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const [k, v] = line.split('=');
      if (k === 'frame') {
        sawFrameKey = true;
        frames = Number(v) || frames;
      } else if (k === 'out_time_us' && v && v !== 'N/A') outSeconds = Math.max(outSeconds, Number(v) / 1e6);
      else if (k === 'progress') {
        if (!sawFrameKey && outSeconds > 0) {
          // a header with only a timebase ("90k tbr") is no frame rate: no estimate then
          inputFps ||= parseHeader(stderr.toString()).input?.fps;
          if (inputFps && inputFps <= 240) frames = Math.round(outSeconds * inputFps);
        }
        opts.onBlock?.(frames, outSeconds);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  // the header ends where ffmpeg maps streams to outputs (after the input's streams, before any packet)
  let header: string | null = opts.onHeader || opts.stopAtHeader ? '' : null;
  child.stderr.on('data', (s: string) => {
    last = Date.now();
    stderr.push(s);
    if (header === null) return;
    header += s;
    const end = header.search(/^(?:Stream mapping:|Output #0)/m);
    if (end < 0 && header.length < 1 << 16) return;
    const h = parseHeader(end < 0 ? header : header.slice(0, end));
    header = null;
    if (opts.stopAtHeader?.(h)) {
      stoppedAtHeader = true;
      child.kill('SIGKILL');
      return;
    }
    try {
      opts.onHeader?.(h);
    } catch {
      // what the header starts is best effort: it must not break the recording
    }
  });
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, sig) => resolve({ code: c, signal: sig }));
    });
    const text = stderr.toString();
    // The exact count, from the end summary, on every ffmpeg version (progress may have estimated it).
    return { code, signal, stderr: text, frames: muxedVideoFrames(text) ?? (sawFrameKey ? frames : 0), outSeconds, stalled, stoppedAtHeader };
  } finally {
    clearInterval(watchdog);
    unsubscribe();
  }
}

/**
 * Record the capture window of `source` into one local clip: stream copy when the codec allows,
 * else re-encode; in keyframe-aligned segments so a crashed capture resumes with the segments it
 * has not recorded yet (never the same window twice). Finished segments are joined by a
 * stream-copy remux, which also gives the exact frame count.
 */
export async function recordSource(opts: RecordOptions): Promise<RecordedClip> {
  const shown = redactText(opts.source, opts.source);
  // Live streams record in 30 s segments (a crash loses at most one); a file is read in seconds,
  // so it is one segment unless asked otherwise.
  const live = isLiveSource(opts.source);
  const segmentSeconds = opts.segmentSeconds ?? (live ? 30 : 1e6);
  const stallSeconds = opts.stallSeconds ?? Math.max(20, (opts.timeoutSec ?? 10) * 2);
  const total = windowSeconds(opts);
  await mkdir(opts.workDir, { recursive: true });

  const previous = await finishedSegments(opts.workDir);
  const resumedSegments = previous.length;
  // A segment file not in any list was being written when the last attempt died: drop it.
  await dropUnlistedSegments(opts.workDir);
  const doneSeconds = previous.reduce((acc, s) => acc + (s.end - s.start), 0);
  const remaining = total === undefined ? undefined : total - doneSeconds;
  const fileDone = !live && previous.length > 0 && (await readFile(path.join(opts.workDir, 'complete'), 'utf8').catch(() => '')) === 'yes';

  let reencoded = Boolean(opts.reencode);
  let segmentsNow = previous.length;
  let inputHeader = '';
  let timedByArrival = false;
  let recordedFrames = 0;
  if (!fileDone && (remaining === undefined || remaining > 0.05)) {
    const attempt = async (reencode: boolean): Promise<RunResult> => {
      const about: RecordAttempt = { reencode, resumed: previous.length > 0, seconds: remaining };
      const listNo = (await readdir(opts.workDir)).filter((n) => /^list-\d+\.csv$/.test(n)).length;
      const args = ['-hide_banner', '-nostdin', '-nostats', '-v', 'verbose', '-progress', 'pipe:1'];
      // Files resume where the finished segments end (a keyframe); a live stream simply goes on.
      if (!live && doneSeconds > 0) args.push('-ss', doneSeconds.toFixed(3));
      const wallclock = live && wallclockSources.has(opts.source);
      timedByArrival ||= wallclock;
      args.push(...inputArgs(opts.source, { timeoutSec: opts.timeoutSec, wallclock, rtspTransport: opts.rtspTransport }));
      if (remaining !== undefined) args.push('-t', remaining.toFixed(3));
      args.push('-map', '0:v:0', '-an', '-sn', '-dn');
      args.push(...(reencode ? await reencodeArgs(segmentSeconds) : ['-c:v', 'copy']));
      args.push(
        '-f', 'segment', '-segment_time', String(segmentSeconds), '-reset_timestamps', '1',
        // No Matroska CRC-32 elements: ~8 % of this ffmpeg's CPU (~5-7 ms a demo capture), and
        // nothing reads them (ffmpeg's demuxer does not check them by default); the store's
        // SHA-256 of the clip is what recognises a damaged one (ArtifactStore.verify).
        '-segment_format_options', 'write_crc32=0',
        '-segment_start_number', String(previous.length),
        '-segment_list', path.join(opts.workDir, `list-${String(listNo).padStart(3, '0')}.csv`), '-segment_list_type', 'csv',
        path.join(opts.workDir, 'seg-%05d.mkv'),
      );
      return runWithProgress(args, {
        signal: opts.signal,
        stallSeconds,
        onSpawn: opts.onRecording && (() => opts.onRecording!(about)),
        onHeader: opts.onSourceHeader && ((h) => opts.onSourceHeader!(h, about)),
        // a live input without timestamps is started again with arrival times (before any frame is stored)
        stopAtHeader: live && !wallclock ? (h) => hasNoTimestamps(h.inputFormat) : undefined,
        onBlock: (frames, outSeconds) => {
          // The segment lists grow as files close; re-read them in the background (a few lines)
          // so the next heartbeat carries an up-to-date count.
          void finishedSegments(opts.workDir).then((segs) => {
            segmentsNow = Math.max(segmentsNow, segs.length);
          });
          opts.onProgress?.({ framesSoFar: frames, segmentsDone: segmentsNow, seconds: doneSeconds + outSeconds });
        },
      });
    };
    const cleanupFailed = async (): Promise<void> => {
      // a segment ffmpeg failed to finish is listed all the same: a retry must not resume after it
      await unlistSegments(opts.workDir, failedSegmentNames(run.stderr));
      await dropUnlistedSegments(opts.workDir);
    };
    let run = await attempt(reencoded);
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('capture aborted');
    if (run.stoppedAtHeader) {
      // remembered for this source: the worker's next captures of it start with arrival times
      wallclockSources.add(opts.source);
      await dropUnlistedSegments(opts.workDir);
      run = await attempt(reencoded);
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('capture aborted');
    }
    if (run.stalled) {
      throw new SourceUnreachableError(`capture of ${shown} stalled: no data for ${stallSeconds} s`, shown, stderrTail(run.stderr, opts.source));
    }
    // The rest of a live window after an outage can be shorter than the camera's keyframe interval:
    // the stream copy then ends before its first keyframe with nothing new, and the window is the
    // segments recorded before the outage (not a stream that "gave zero frames").
    const nothingLeftToCopy = live && previous.length > 0 && run.code === 0 && run.frames === 0 && !outputWriteFailure(run.stderr);
    let error: SourceError | null = nothingLeftToCopy || (run.code === 0 && run.frames > 0 && !outputWriteFailure(run.stderr)) ? null : classifyFfmpegFailure({ source: opts.source, exitCode: run.code, signal: run.signal, stderr: run.stderr, frames: run.frames, what: 'capture', output: opts.workDir });
    // (not when retrying could help: an unreachable camera or a full disk, where re-encoding only writes more)
    if (error && !reencoded && !error.retryable && !(error instanceof EmptySourceError) && !/file not found|permission denied|authorization/.test(error.message)) {
      // Stream copy fails for codecs/timestamps the container cannot hold: re-encode instead.
      await cleanupFailed();
      await rm(path.join(opts.workDir, `list-${String((await readdir(opts.workDir)).filter((n) => /^list-\d+\.csv$/.test(n)).length - 1).padStart(3, '0')}.csv`), { force: true });
      reencoded = true;
      run = await attempt(true);
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('capture aborted');
      error = run.code === 0 && run.frames > 0 && !outputWriteFailure(run.stderr) ? null : classifyFfmpegFailure({ source: opts.source, exitCode: run.code, signal: run.signal, stderr: run.stderr, frames: run.frames, what: 'capture', output: opts.workDir });
    }
    if (error) {
      await cleanupFailed();
      throw error;
    }
    if (nothingLeftToCopy) {
      // whatever this attempt left (an empty segment) is not part of the window
      const before = new Set(previous.map((p) => p.file));
      await unlistSegments(opts.workDir, (await finishedSegments(opts.workDir)).map((p) => p.file).filter((f) => !before.has(f)));
      await dropUnlistedSegments(opts.workDir);
    }
    // (a network source whose header announces a duration is a file on a server, which may just end)
    if (live && remaining !== undefined && !nothingLeftToCopy && parseHeader(run.stderr).durationSec === null) {
      // A live stream that ends (ffmpeg exits 0 at its end) before the window is recorded is an
      // outage, not a shorter window: the camera dropped off the network or stopped sending. Its
      // finished segments stay, so the retry records only the rest of the window.
      const got = (await finishedSegments(opts.workDir)).reduce((acc, s) => acc + (s.end - s.start), 0) - doneSeconds;
      if (got < remaining - Math.max(1, 0.05 * remaining)) {
        throw new SourceUnreachableError(
          `capture of ${shown} was cut short: the stream ended after ${got.toFixed(1)} s of the ${remaining.toFixed(1)} s to record (the camera stopped sending or dropped off the network); the ${got.toFixed(1)} s recorded are kept and a retry records the rest`,
          shown,
          stderrTail(run.stderr, opts.source),
        );
      }
    }
    inputHeader = run.stderr;
    recordedFrames = run.frames;
    if (!live) await writeFile(path.join(opts.workDir, 'complete'), 'yes');
  }

  // A file whose video covers well under half its window has gaps (a live stream is held to its window instead).
  const footage = (frames: number, fps: number, seconds: number): { footageSeconds?: number } =>
    !live && fps > 0 && frames / fps < 0.5 * seconds ? { footageSeconds: Math.round((frames / fps) * 1000) / 1000 } : {};
  // A file that ends well before both its announced duration and the window is cut off.
  const checkTruncated = (durationSec: number | null, seconds: number): void => {
    if (!live && durationSec && seconds < 0.9 * Math.min(durationSec, total ?? Infinity) - 1) {
      throw new SourceInvalidError(`capture of ${shown} failed: truncated video (${seconds.toFixed(1)} s of ${durationSec.toFixed(1)} s)`, shown);
    }
  };
  const segments = await finishedSegments(opts.workDir);
  if (segments.length === 0) throw new EmptySourceError(`capture of ${shown} gave zero video frames`, shown);
  const clip = path.join(opts.workDir, `clip${CLIP_EXTENSION}`);
  await rm(clip, { force: true });
  const src = parseHeader(inputHeader);
  const total0 = segments.reduce((acc, s) => acc + (s.end - s.start), 0);
  // the source's size as shown; a re-encode has turned the pixels already
  const rotation: Rotation = reencoded ? 0 : (src.input?.rotation ?? 0);
  const shownSize = src.input ? displayedSize(src.input) : null;
  const interlaced = src.input?.interlaced ?? null;
  if (segments.length === 1 && resumedSegments === 0 && recordedFrames > 0 && src.input) {
    // One segment recorded just now: it is the clip (a hard link, no copy) and this run's
    // progress already counted its frames, so the joining remux is skipped.
    await link(path.join(opts.workDir, segments[0]!.file), clip);
    checkTruncated(src.durationSec, total0);
    const fps = (timedByArrival ? liveFps(recordedFrames, total0) : 0) || ownFps(src.input) || opts.fps;
    return {
      path: clip, frames: recordedFrames, seconds: total0, width: shownSize!.width, height: shownSize!.height, rotation, interlaced,
      fps, ...footage(recordedFrames, fps, total0), codec: src.input.codec, source: shown, reencoded, segments: 1, resumedSegments,
    };
  }
  const list = path.join(opts.workDir, 'concat.txt');
  // concat demuxer list: paths are quoted with ' escaped as '\'' per its syntax.
  await writeFile(list, segments.map((s) => `file '${path.join(opts.workDir, s.file).replace(/'/g, "'\\''")}'`).join('\n') + '\n');
  const remux = await runWithProgress(
    ['-hide_banner', '-nostdin', '-nostats', '-v', 'verbose', '-progress', 'pipe:1', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0:v:0', '-c', 'copy', '-write_crc32', '0', '-y', clip],
    { signal: opts.signal, stallSeconds: 60 },
  );
  if (remux.code !== 0 || outputWriteFailure(remux.stderr)) {
    const cause = classifyFfmpegFailure({ source: opts.source, exitCode: remux.code, stderr: remux.stderr, what: 'capture', output: opts.workDir });
    if (cause instanceof DiskFullError) throw cause;
    throw new SourceInvalidError(`capture of ${shown} recorded segments that cannot be joined: ${stderrTail(remux.stderr, opts.source, 3)}`, shown);
  }
  if (remux.frames === 0) throw new EmptySourceError(`capture of ${shown} gave zero video frames`, shown);
  const h = parseHeader(remux.stderr);
  const seconds = total0 || remux.outSeconds;
  const fps = (timedByArrival ? liveFps(remux.frames, seconds) : 0) || (h.input && ownFps(h.input)) || (src.input && ownFps(src.input)) || opts.fps;
  checkTruncated(src.durationSec, seconds);
  return {
    path: clip,
    frames: remux.frames,
    seconds,
    width: shownSize?.width ?? h.input?.width ?? 0,
    height: shownSize?.height ?? h.input?.height ?? 0,
    rotation,
    interlaced,
    fps,
    ...footage(remux.frames, fps, seconds),
    codec: h.input?.codec ?? 'unknown',
    source: shown,
    reencoded,
    segments: segments.length,
    resumedSegments,
  };
}
