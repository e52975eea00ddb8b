import { spawn } from 'node:child_process';
import { classifyFfmpegFailure, type SourceError } from './errors.js';
import { displayedSize, hasGaps, hasNoTimestamps, inputArgs, ownFps, isLiveSource, locateFfmpeg, parseHeader, TailBuffer, type FieldOrder, type Rotation } from './ffmpeg.js';
import { redactText } from './redact.js';

export interface SourceDescription {
  /** the source, credentials redacted */
  source: string;
  format: string | null;
  codec: string;
  /** as shown (after `rotation`), as the capture reports it */
  width: number;
  height: number;
  /** the stream's display matrix as a clockwise turn (StreamInfo.rotation) */
  rotation: Rotation;
  /** the header says the video is interlaced, this field first (StreamInfo.interlaced) */
  interlaced: FieldOrder | null;
  /** the stream's own frame rate (ownFps; a guess of 25 for a stream without timestamps) */
  fps: number;
  /** a file whose average rate is far under its own: its timeline has gaps (hasGaps) */
  gaps: boolean;
  /** seconds, for a file (or a file on a server) */
  durationSec: number | null;
  live: boolean;
  /** a live stream whose frames carry no timestamps: the capture times them by arrival */
  timedByArrival: boolean;
}

/**
 * Open a camera's source the way the capture does (same input options) and read its header and
 * first frame: what `autotuner doctor` reports for each camera. A source that cannot be read is
 * the capture's own error (unreachable, authorization failed, refused transport, …), so the
 * fix it names is the one a capture would need. Bounded by `timeoutSec` (twice, for the probe).
 */
export async function describeSource(source: string, opts: { timeoutSec?: number; rtspTransport?: 'tcp' | 'udp' } = {}): Promise<SourceDescription> {
  const timeoutSec = opts.timeoutSec ?? 10;
  const ffmpeg = await locateFfmpeg();
  const args = ['-hide_banner', '-nostdin', '-v', 'info', ...inputArgs(source, { timeoutSec, rtspTransport: opts.rtspTransport }), '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'];
  const child = spawn(ffmpeg.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = new TailBuffer();
  child.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  // a camera that answers and then sends nothing would hold ffmpeg's probe for as long as it likes
  const timer = setTimeout(() => child.kill('SIGKILL'), 2 * timeoutSec * 1000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => clearTimeout(timer));
  const text = stderr.toString();
  const h = parseHeader(text);
  if (code !== 0 || !h.input) {
    const err: SourceError = classifyFfmpegFailure({ source, exitCode: code, signal, stderr: text, frames: 0, what: 'probe' });
    throw err;
  }
  const live = isLiveSource(source);
  return {
    source: redactText(source, source),
    format: h.inputFormat,
    codec: h.input.codec,
    ...displayedSize(h.input),
    rotation: h.input.rotation,
    interlaced: h.input.interlaced,
    fps: ownFps(h.input),
    gaps: hasGaps(h.input),
    durationSec: h.durationSec,
    live,
    timedByArrival: live && hasNoTimestamps(h.inputFormat),
  };
}

/**
 * One line for people: "h264 1920x1080 @ 25 fps, live (rtsp)", "msmpeg4v3 768x576 @ 10 fps, 79.5 s"
 * or "mpeg2video 720x576 @ 25 fps, interlaced (top field first), 60.0 s".
 */
export function formatSourceDescription(d: SourceDescription): string {
  const rate = d.timedByArrival ? 'no timestamps: timed by arrival' : `@ ${d.fps} fps`;
  const kind = d.live ? `live (${d.format ?? 'stream'})` : d.durationSec !== null ? `${d.durationSec.toFixed(1)} s${d.gaps ? ' with gaps (video only part of the time)' : ''}` : (d.format ?? 'file');
  // a phone video's display matrix: shown (and captured) upright, stored on its side
  const turned = d.rotation === 90 || d.rotation === 270 ? ` (turned from ${d.height}x${d.width})` : d.rotation === 180 ? ' (turned 180°)' : '';
  // analog cameras through a DVR: the capture deinterlaces them (capture.deinterlace)
  const fields = d.interlaced ? `, interlaced (${d.interlaced === 'tff' ? 'top' : 'bottom'} field first)` : '';
  return `${d.codec} ${d.width}x${d.height}${turned} ${rate}${fields}, ${kind}`;
}
