import { Context } from '@temporalio/activity';
import type { CaptureResult, RunContext, SampleResult } from '../src/pipeline/types.js';
import { restlessHint } from '../src/sampling/restless.js';
import { sampleCapture } from '../src/sampling/sample-step.js';
import { toSourceFailure } from '../src/video/errors.js';
import type { ActivityDeps } from '../src/worker/deps.js';

export function makeSampleActivities(deps: ActivityDeps) {
  return {
    /**
     * Score and select frames of the captured clip (edge queue). Decoding runs in pipe events,
     * each its own event-loop turn, so heartbeats go out while it works.
     */
    async sample(ctx: RunContext, captured: CaptureResult): Promise<SampleResult> {
      const actx = Context.current();
      actx.heartbeat({ decoded: 0 });
      try {
        const { manifest, ...result } = await sampleCapture({
          camera: ctx.camera,
          captured,
          store: deps.store,
          dataDir: deps.dataDir,
          runKey: `${ctx.workflowId}/${ctx.runId}`,
          onProgress: (p) => actx.heartbeat({ decoded: p.decoded }),
          signal: actx.cancellationSignal,
        });
        const restless = manifest.stats.restlessRegions ?? [];
        if (restless.length) {
          // in the worker's log and the run's manifest: masking is the camera owner's decision (sampling/restless.ts)
          actx.log.warn(`camera ${ctx.camera.id}: ${restlessHint(restless)}`);
        }
        return result;
      } catch (err) {
        throw toSourceFailure(err);
      }
    },
  };
}
