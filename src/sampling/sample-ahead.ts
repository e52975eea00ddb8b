import path from 'node:path';
import type { SampleConfig } from '../config/schema.js';
import type { CaptureResult } from '../pipeline/types.js';
import { captureCamera, type CaptureStepOptions } from '../video/capture-step.js';
import { deinterlaceFor, displayedSize, hasGaps, isLiveSource, type ParsedHeader } from '../video/ffmpeg.js';
import { CLIP_EXTENSION, type RecordAttempt } from '../video/record.js';
import { redactText } from '../video/redact.js';
import type { WarmLease } from '../video/warm-decoder.js';
import { prewarmSampleDecode, windowPlan } from './sample.js';
import { keepSampledAhead, sampleKey, sampleToStore, WARM_KEEP_MS, type CameraStateUse, type SampleStepResult } from './sample-step.js';

/**
 * Sampling ahead: a camera that is a local file is sampled while its clip is being recorded.
 *
 * The clip of a whole file is a stream copy of the file's video packets, so decoding the file
 * gives the very frames that decoding the clip would. Once the recording ffmpeg has read the
 * file's header (size, rate, duration: what the sampler plans with), the sample step's decoder,
 * started alongside the recording, is given the file instead of waiting for the stored clip. The
 * capture step then waits for that sample too, and keeps it in this worker for the sample step,
 * which takes it where everything the sample depends on matches (sampleKey). Everywhere else the
 * sample step samples the stored clip as before: live sources, windows shorter than the file, a
 * resumed or re-encoded recording, a sample step on another worker, a failed sample ahead.
 *
 * What it saves: the sample's decode starts when the recording has read the header (~90 ms into
 * the capture on the demo video) instead of after the clip is recorded and stored (~125 ms),
 * plus the sample step's own start. Set AUTOTUNER_SAMPLE_AHEAD=0 to turn it off.
 */

export interface CaptureSamplingAheadOptions extends CaptureStepOptions {
  dataDir: string;
  /** the run (see SampleStepOptions.runKey): part of what the sample step matches */
  runKey?: string;
  /** see SampleStepOptions.cameraState: part of what the sample step matches */
  cameraState?: CameraStateUse;
  /** progress of the sample taken ahead */
  onSample?: (p: { decoded: number; t: number }) => void;
  /**
   * A sample taken ahead was kept for the sample step, or dropped and why (the sample step then
   * samples the clip): for the activity's log.
   */
  onSampledAhead?: (outcome: { kept: true } | { kept: false; reason: string }) => void;
}

/**
 * Whether a sample planned with the file header's duration (`headerSeconds`) samples the recorded
 * window (`recordedSeconds`): where both give the same plan (slots, time blocks, stride) it is
 * the very sample the clip gives; otherwise the durations must be within half a second or 1 %.
 * Containers count a window's end differently: an H.264 MP4 with B-frames records two frames longer
 * than its header says (79.6 s against 79.52), and slots planned over either choose from the same
 * frames. A header far off (audio that outlasts the video: 9.5 s against 8) would leave the last
 * slots without frames.
 */
export function windowsAgree(headerSeconds: number, recordedSeconds: number, sampleFps: number, cfg: SampleConfig): boolean {
  if (windowPlan(headerSeconds, sampleFps, cfg) === windowPlan(recordedSeconds, sampleFps, cfg)) return true;
  return Math.abs(headerSeconds - recordedSeconds) <= Math.max(0.5, 0.01 * recordedSeconds);
}

/** Whether a capture of `source` samples ahead: local files (not devices, not URLs), unless turned off. */
export function samplesAhead(source: string): boolean {
  return process.env.AUTOTUNER_SAMPLE_AHEAD !== '0' && !isLiveSource(source) && !/^[a-z][a-z0-9+.-]*:/i.test(source) && !source.startsWith('/dev/');
}

/**
 * The capture step with the sample step's ffmpeg started alongside it and, for a local file whose
 * whole length is the window, the sample itself taken while the clip is recorded (see above).
 * Resolves with the capture's result once both are done; a failed or unmatched sample ahead only
 * means the sample step samples the clip.
 */
export async function captureSamplingAhead(opts: CaptureSamplingAheadOptions): Promise<CaptureResult> {
  const { camera } = opts;
  const settings = { fps: camera.capture.fps, width: camera.capture.width };
  const warmed: Array<Promise<WarmLease | null>> = [];
  /** the lease the sample step may take after the capture (a decoder waiting for the clip) */
  let forStep: Promise<WarmLease | null> | null = null;
  let aheadAttempt: RecordAttempt | null = null;
  let ahead: Promise<SampleStepResult | null> | null = null;
  let plan: { expectedSeconds: number; clipFps: number; clipWidth: number } | null = null;
  let reencoded = false;
  let failure = '';
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const warmForClip = (): void => {
    if (forStep) return;
    forStep = prewarmSampleDecode({ ...settings, clipExt: CLIP_EXTENSION }).catch(() => null);
    warmed.push(forStep);
  };

  const recording = (attempt: RecordAttempt): void => {
    opts.onRecording?.(attempt);
    if (warmed.length) {
      // the copy failed and the window is being re-encoded: the clip's pixels are not the file's
      reencoded ||= attempt.reencode;
      if (attempt.reencode) stop.abort();
      return;
    }
    if (samplesAhead(camera.source) && !attempt.resumed && !attempt.reencode) {
      aheadAttempt = attempt;
      // the decoder the sample ahead will take: the file's extension, the window as the recording's
      warmed.push(prewarmSampleDecode({ ...settings, clipExt: path.extname(camera.source), maxSeconds: attempt.seconds }).catch(() => null));
    } else warmForClip();
  };

  const header = (h: ParsedHeader, attempt: RecordAttempt): void => {
    opts.onSourceHeader?.(h, attempt);
    if (attempt !== aheadAttempt || ahead || reencoded) return;
    const input = h.input;
    // only a whole file: a window's end may cut the copy and the decode at different frames
    const whole = h.durationSec !== null && (attempt.seconds === undefined || attempt.seconds >= h.durationSec);
    // a file with gaps (average rate far under its own) is sampled from its clip, gaps left out
    if (!whole || !input || hasGaps(input) || !(input.fps > 0) || !(input.width > 0) || !(h.durationSec! > 0)) {
      warmForClip();
      return;
    }
    // the file's size as shown, and its turn: what the capture will report for the clip
    plan = { expectedSeconds: h.durationSec!, clipFps: input.fps, clipWidth: displayedSize(input).width };
    ahead = sampleToStore({
      camera,
      store: opts.store,
      dataDir: opts.dataDir,
      runKey: opts.runKey,
      cameraState: opts.cameraState,
      clip: camera.source,
      // as the capture reports it (CaptureResult.source), so the manifests are the same
      source: redactText(camera.source, camera.source),
      ...plan,
      rotate: input.rotation,
      deinterlace: deinterlaceFor(camera.capture.deinterlace, input.interlaced),
      maxSeconds: attempt.seconds,
      checkTruncation: true,
      alwaysGrid: true,
      onProgress: opts.onSample,
      signal: stop.signal,
    }).catch((err: unknown) => {
      failure = err instanceof Error ? err.message : String(err);
      return null;
    });
  };

  let ok = false;
  try {
    const captured = await captureCamera({ ...opts, onRecording: recording, onSourceHeader: header, signal: opts.signal });
    ok = true;
    // (the casts undo TypeScript's narrowing to null: it cannot see the assignments in the callbacks)
    const started = ahead as Promise<SampleStepResult | null> | null;
    const planned = plan as { expectedSeconds: number; clipFps: number; clipWidth: number } | null;
    if (started && planned) {
      const p = planned;
      const sampleFps = camera.capture.fps ?? captured.fps;
      // (a window with gaps is sampled from its clip, gaps left out: a header need not show them)
      // (a window with gaps is sampled from its clip, gaps left out: a header need not show them)
      const samePlan = !reencoded && captured.footageSeconds === undefined && p.clipFps === captured.fps && p.clipWidth === captured.width && windowsAgree(p.expectedSeconds, captured.seconds, sampleFps, camera.sample);
      if (!samePlan) stop.abort();
      const result = await started;
      // every packet recorded was decoded (no resampling: the counts must agree)
      const allFrames = !result || sampleFps !== captured.fps || result.decoded === captured.frames;
      if (result && samePlan && allFrames) {
        keepSampledAhead(sampleKey(camera, captured, opts.runKey, opts.cameraState), result);
        opts.onSampledAhead?.({ kept: true });
      } else {
        const reason = reencoded
          ? 'the recording fell back to re-encoding'
          : captured.footageSeconds !== undefined
            ? `the window has gaps (${captured.footageSeconds} s of video in ${captured.seconds} s)`
            : !samePlan
            ? `the recorded window (${captured.seconds} s at ${captured.fps} fps, ${captured.width} px) differs from the file's header (${p.expectedSeconds} s at ${p.clipFps} fps, ${p.clipWidth} px)`
            : !result
              ? `it failed: ${redactText(failure, camera.source)}`
              : `it decoded ${result.decoded} frames where the clip has ${captured.frames}`;
        opts.onSampledAhead?.({ kept: false, reason });
        // the sample step samples the clip: its ffmpeg can start loading now
        warmForClip();
      }
    }
    return captured;
  } catch (err) {
    stop.abort();
    await ahead;
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    for (const lease of warmed) {
      const l = await lease;
      // a decoder still waiting for the clip is kept for the sample step; any other is stopped
      l?.release(ok && lease === forStep ? WARM_KEEP_MS : 0);
    }
  }
}
