import { rm } from 'node:fs/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CaptureResult, RunContext } from '../src/pipeline/types.js';
import { captureWorkDir } from '../src/video/capture-step.js';
import { toSourceFailure } from '../src/video/errors.js';
import type { ActivityDeps } from '../src/worker/deps.js';
import { restoreCameraSource } from '../src/pipeline/source-secrets.js';
import { captureSamplingAhead } from '../src/sampling/sample-ahead.js';

/** Heartbeat details of a running capture: counts only (frames never travel through Temporal). */
export interface CaptureHeartbeat {
  framesSoFar: number;
  segmentsDone: number;
  /** frames decoded by the sample taken while a local file is recorded (src/sampling/sample-ahead.ts) */
  sampledAhead?: number;
}

export function makeCaptureActivities(deps: ActivityDeps) {
  return {
    /**
     * Record the camera's window (edge queue). Segments live in a per-run directory, so a retry
     * after a crash keeps the finished ones and records only the rest of the window; the
     * heartbeat details say how far the last attempt got.
     */
    async capture(ctx: RunContext): Promise<CaptureResult> {
      const actx = Context.current();
      const last = actx.info.heartbeatDetails as CaptureHeartbeat | undefined;
      if (last?.segmentsDone) {
        actx.log.info('capture resuming', { segmentsDone: last.segmentsDone, framesSoFar: last.framesSoFar });
      }
      let camera;
      try {
        camera = await restoreCameraSource(ctx.camera, deps);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'ConfigError');
      }
      let details: CaptureHeartbeat = { framesSoFar: last?.framesSoFar ?? 0, segmentsDone: last?.segmentsDone ?? 0 };
      // Joining the segments and storing a long clip (hashing, copying to a mounted store) reports no
      // progress: keep heartbeating meanwhile. A stalled stream is caught by the recorder's own watchdog.
      const timer = setInterval(() => actx.heartbeat(details), Math.max(1000, Math.min(20_000, (actx.info.heartbeatTimeoutMs || 60_000) / 3)));
      try {
        // The sample activity that follows on this worker finds its ffmpeg started, or, for a
        // local file, the sample already taken while the clip was recorded (same run key as its).
        return await captureSamplingAhead({
          camera,
          store: deps.store,
          workDir: captureWorkDir(deps.dataDir, ctx),
          dataDir: deps.dataDir,
          runKey: `${ctx.workflowId}/${ctx.runId}`,
          onProgress: (p) => {
            details = { ...details, framesSoFar: p.framesSoFar, segmentsDone: p.segmentsDone };
            actx.heartbeat(details);
          },
          onSample: (p) => {
            details = { ...details, sampledAhead: p.decoded };
            actx.heartbeat(details);
          },
          onSampledAhead: (o) => {
            if (o.kept) actx.log.info('sampled while recording: the sample activity takes it');
            else actx.log.info('sample taken while recording dropped: the sample activity samples the clip', { reason: o.reason });
          },
          signal: actx.cancellationSignal,
        });
      } catch (err) {
        const failure = toSourceFailure(err);
        // No retry will resume these segments: do not leave them on the edge disk.
        if (failure instanceof ApplicationFailure && failure.nonRetryable) await rm(captureWorkDir(deps.dataDir, ctx), { recursive: true, force: true });
        throw failure;
      } finally {
        clearInterval(timer);
      }
    },
  };
}
