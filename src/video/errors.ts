import { ApplicationFailure } from '@temporalio/common';
import { redactText } from './redact.js';

/**
 * Base of the ways reading a video source fails: the source's three, and a full local disk.
 * Messages and stderr tails are already redacted.
 */
export class SourceError extends Error {
  readonly retryable: boolean = false;
  /** Temporal ApplicationFailure type */
  readonly failureType: string = 'SourceInvalid';
  constructor(
    message: string,
    /** the source, redacted */
    readonly source: string,
    /** last lines of ffmpeg's stderr, redacted */
    readonly stderrTail = '',
  ) {
    super(message);
  }
}

/** The camera cannot be reached now (network, refused, timeout): retried for hours (edge outage). */
export class SourceUnreachableError extends SourceError {
  override name = 'SourceUnreachableError';
  override readonly retryable = true;
  override readonly failureType = 'SourceUnreachable';
}

/** The input itself is bad (missing file, unsupported codec, corrupt/truncated, auth): retrying cannot help. */
export class SourceInvalidError extends SourceError {
  override name = 'SourceInvalidError';
  override readonly failureType = 'SourceInvalid';
}

/** The source opened but gave zero video frames. */
export class EmptySourceError extends SourceError {
  override name = 'EmptySourceError';
  override readonly failureType = 'EmptySource';
}

/**
 * The disk the capture writes its segments to is full. Not the camera's fault and not for good:
 * retried like an outage (the worker's hourly sweep or an operator frees space; a retry keeps the
 * finished segments), and never answered with a re-encode, which would only write more.
 */
export class DiskFullError extends SourceError {
  override name = 'DiskFullError';
  override readonly retryable = true;
  override readonly failureType = 'DiskFull';
}

// ffmpeg's own error lines (not indented, maybe "[ctx @ 0x…]"-prefixed); the input's metadata, echoed
// indented in the header, could hold the same words
const DISK_FULL = /^(?:\[[^\]\n]*\][ \t]*)?\S[^\n]*(?:no space left on device|disk quota exceeded)/im;

/**
 * ffmpeg's report that an output was not written whole (the offending line), or null. ffmpeg 5.1
 * can exit 0 after a write failed at the very end: a short window still in its buffers when the
 * segment closes on a full disk ("Error writing trailer of …: No space left on device"), so the
 * exit code alone would take a lost segment for a recorded one.
 */
export function outputWriteFailure(stderr: string): string | null {
  const m = /^(?:\[[^\]\n]*\][ \t]*)?(?:Error writing trailer|Error closing file|Failure occurred when ending segment|av_interleaved_write_frame\(\):|Error muxing a packet|Error submitting a packet to the muxer)[^\n]*/m.exec(stderr);
  return m ? m[0].trim() : null;
}

const UNREACHABLE = [
  /connection refused/i,
  /connection timed out/i,
  /operation timed out/i,
  /timed? ?out/i,
  /no route to host/i,
  /network is unreachable/i,
  /host is unreachable/i,
  /connection reset/i,
  /broken pipe/i,
  /name or service not known/i,
  /temporary failure in name resolution/i,
  /failed to resolve hostname/i,
  /server returned 5\d\d/i,
  /503 service unavailable/i,
  /stalled/i,
];
/** Read-side words for "no packet came": a socket timeout, or the end before any frame gave the format. */
const NO_VIDEO_ARRIVED = /connection timed out|operation timed out|cannot determine format of input (stream )?\S+ after eof/i;
/**
 * A streamed protocol's session describes the codec (RTSP's SDP) before any frame: a frame size
 * still unknown when the probe gives up means no frame came. (Over HTTP it can mean a bad file.)
 */
const NO_FRAME_TO_PROBE = /could not find codec parameters[^\n]*unspecified size/i;
const NO_VIDEO_STREAM = /matches no streams|does not contain any stream/i;
const EMPTY = [
  /matches no streams/i,
  /does not contain any stream/i,
  /output file is empty/i,
  /cannot determine format of input (stream )?\S+ after eof/i, // "input 0:0" since ffmpeg 7
  /nothing was written into output file.*because at least one of its streams received no packets/i, // 5.1 names the file
  /EOF before video frames/i,
];
/** Causes that make a source bad whatever else its log says: checked before the network's words. */
const INVALID_FIRST: Array<[RegExp, string]> = [
  [/no such file or directory/i, 'file not found'],
  [/permission denied/i, 'permission denied'],
  [/401 unauthorized|403 forbidden|authorization failed|unauthorized/i, 'authorization failed (check the camera user and password)'],
  [/461 unsupported transport/i, 'the camera refuses the RTSP transport asked for (461 Unsupported Transport): set the camera\'s capture.rtspTransport to the other one ("udp" for a camera that refuses the default "tcp"; UDP needs the network to let RTP through)'],
  [/404 not found|server returned 4\d\d/i, 'stream path not found on the camera'],
  [/protocol not found/i, 'unsupported protocol'],
  [/decoder .* not found|unsupported codec|could not find codec parameters|no decoder/i, 'unsupported or undetectable codec'],
];
/** Words a dropped connection can cause too: checked after the network's. */
const INVALID_LAST: Array<[RegExp, string]> = [
  [/moov atom not found/i, 'truncated or incomplete MP4 (no moov atom)'],
  [/invalid data found when processing input/i, 'not a readable video (corrupt or unknown format)'],
  [/corrupt decoded frame|truncated|partial file/i, 'corrupt or truncated video'],
];

/**
 * Progress, end-of-run statistics and `-v verbose` housekeeping (ffmpeg 7 prefixes them with
 * "[out#0/mux @ 0x…]"): counts and thread chatter, not causes; error messages leave them out.
 */
const STATS_LINE = new RegExp(
  '^(\\[[^\\]]*\\]\\s*)?(' +
    [
      'frame=', 'size=', 'video:', 'progress=', 'out_time', 'bitrate=', 'speed=',
      '(Input|Output) stream #\\d+:\\d+ \\(', '(Input|Output) file #\\d+ \\(', 'Total: \\d+ packets', 'Statistics: ',
      'Starting thread', 'Terminating thread', 'EOF while reading input', 'All streams finished', 'No more output streams',
      "segment:'", 'Selected stream', 'Created video stream', 'Adding streams from explicit maps', '\\[… ffmpeg log cut …\\]',
    ].join('|') +
    ')',
);

/** Last `n` meaningful stderr lines, redacted. */
export function stderrTail(stderr: string, source: string, n = 8): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !STATS_LINE.test(l));
  return redactText(lines.slice(-n).join('\n'), source);
}

/** Signals of a crashed ffmpeg (not of one that was stopped: SIGKILL/SIGTERM come from us, a watchdog or the OOM killer). */
const CRASH_SIGNALS = new Set<string>(['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGILL', 'SIGFPE']);

/**
 * Turn a failed (or frameless) ffmpeg run into one of the three source errors. `what` says which
 * step failed ("capture", "decode"). Order matters: emptiness and local-file problems are checked
 * before network words, because "End of file" and "timed out" can appear in either.
 */
export function classifyFfmpegFailure(args: {
  source: string;
  exitCode: number | null;
  signal?: NodeJS.Signals | null;
  stderr: string;
  frames?: number;
  what: string;
  /** where this ffmpeg writes (the capture's segment directory), named when that disk is full */
  output?: string;
}): SourceError {
  const shown = redactText(args.source, args.source);
  const tail = stderrTail(args.stderr, args.source);
  const last = tail.split('\n').slice(-3).join(' | ');
  const detail = last ? `: ${last}` : '';
  // before anything else: a full disk fails ffmpeg with words (trailer, muxing) that say nothing of the source
  if (DISK_FULL.test(args.stderr)) {
    const where = args.output ? ` writing ${args.output}` : '';
    return new DiskFullError(`${args.what} of ${shown} failed: the disk is full${where} (No space left on device): free space there; a retry resumes with what was recorded`, shown, tail);
  }
  // A camera whose stream opens but sends no video until the read times out or the stream ends (its
  // encoder stalled or restarting): ffmpeg then cannot learn the codec's parameters or format, and
  // a copy writes nothing. An outage to wait out, not an empty or unsupported source (a URL with no
  // video stream at all still is one: "matches no streams").
  const streamed = /^(rtsps?|rtmps?|srt|udp|rtp):\/\//i.test(args.source);
  const noVideoCame = NO_VIDEO_ARRIVED.test(args.stderr) || (streamed && NO_FRAME_TO_PROBE.test(args.stderr));
  if (isNetworkSource(args.source) && !args.frames && noVideoCame && !NO_VIDEO_STREAM.test(args.stderr)) {
    return new SourceUnreachableError(`${args.what} of ${shown} failed: the camera sent no video before its stream timed out or ended (its encoder stalled or is restarting?)${detail}`, shown, tail);
  }
  if (args.exitCode === 0 && (args.frames ?? 0) === 0) {
    return new EmptySourceError(`${args.what} of ${shown} gave zero video frames${detail}`, shown, tail);
  }
  // A Ctrl-C or a stop signal sent to the worker's process group reaches ffmpeg too: it exits
  // "normally" with 255. That says nothing about the source: retry it (after the worker restarts).
  const received = /Exiting normally, received signal (\d+)/.exec(args.stderr);
  if (received) {
    return new SourceUnreachableError(`${args.what} of ${shown} was interrupted: ffmpeg received signal ${received[1]} (is the worker stopping?)`, shown, tail);
  }
  for (const re of EMPTY) {
    if (re.test(args.stderr)) return new EmptySourceError(`${args.what} of ${shown} gave zero video frames${detail}`, shown, tail);
  }
  for (const [re, why] of INVALID_FIRST) {
    if (re.test(args.stderr)) return new SourceInvalidError(`${args.what} of ${shown} failed: ${why}${detail}`, shown, tail);
  }
  for (const re of UNREACHABLE) {
    if (re.test(args.stderr)) return new SourceUnreachableError(`${args.what} of ${shown} failed: source unreachable${detail}`, shown, tail);
  }
  // An RTSP server that closes the connection without answering (a camera rebooting, or at its
  // limit of viewers) reads to ffmpeg as invalid data: an outage, not a bad video.
  if (/^rtsps?:\/\//i.test(args.source) && !args.frames && /invalid data found when processing input/i.test(args.stderr)) {
    return new SourceUnreachableError(`${args.what} of ${shown} failed: the camera closed the connection without an RTSP answer (rebooting, at its limit of viewers, or not an RTSP port?)${detail}`, shown, tail);
  }
  for (const [re, why] of INVALID_LAST) {
    if (re.test(args.stderr)) return new SourceInvalidError(`${args.what} of ${shown} failed: ${why}${detail}`, shown, tail);
  }
  if (args.signal && CRASH_SIGNALS.has(args.signal) && !isNetworkSource(args.source)) {
    // a crash on a local file repeats on every retry: say so instead of retrying for hours
    return new SourceInvalidError(
      `${args.what} of ${shown} failed: ffmpeg crashed (${args.signal}) on this file; try another ffmpeg build (FFMPEG_PATH) or re-encode the file${detail}`,
      shown,
      tail,
    );
  }
  if (args.signal) {
    return new SourceUnreachableError(`${args.what} of ${shown} was interrupted (${args.signal})${detail}`, shown, tail);
  }
  // Unknown ffmpeg failure: a network source most likely dropped; a local file is most likely bad.
  if (isNetworkSource(args.source)) {
    return new SourceUnreachableError(`${args.what} of ${shown} failed (ffmpeg exit ${args.exitCode})${detail}`, shown, tail);
  }
  return new SourceInvalidError(`${args.what} of ${shown} failed (ffmpeg exit ${args.exitCode})${detail}`, shown, tail);
}

export function isNetworkSource(source: string): boolean {
  return /^(rtsps?|rtmps?|https?|udp|tcp|srt|rtp|mms[th]?):\/\//i.test(source);
}

/**
 * The Temporal failure for a source error: unreachable or a full disk → retryable (the workflow's
 * retry policy waits out edge outages), invalid/empty → non-retryable. Other errors pass through
 * unchanged, but for a full disk's (ENOSPC), which become DiskFull too.
 */
export function toSourceFailure(err: unknown): unknown {
  // a full disk while storing frames (JPEGs, the clip): retried like the capture's, under one failure type
  if (!(err instanceof SourceError) && (err as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    return ApplicationFailure.retryable((err as Error).message, 'DiskFull');
  }
  if (!(err instanceof SourceError)) return err;
  const details = err.stderrTail ? [{ stderr: err.stderrTail }] : [];
  return err.retryable
    ? ApplicationFailure.retryable(err.message, err.failureType, ...details)
    : ApplicationFailure.nonRetryable(err.message, err.failureType, ...details);
}
