import { rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { annotateFrames, scratchKey } from '../src/annotate/annotate-frames.js';
import { ClassMappingError } from '../src/annotate/labels.js';
import { ManifestError, frameImagePath, readSampleManifest } from '../src/annotate/manifest.js';
import { writeYoloDataset } from '../src/dataset/yolo-dataset.js';
import { ModelLayoutError } from '../src/detect/decoders/index.js';
import { FrameDecodeError } from '../src/detect/load-frame.js';
import { ProviderUnavailableError } from '../src/detect/providers.js';
import { TeacherModelError, createTeacherDetector, resolveTeacherModel } from '../src/detect/teacher-model.js';
import type { AnnotateResult, RunContext, SampleResult } from '../src/pipeline/types.js';
import type { ActivityDeps } from '../src/worker/deps.js';
import { removeScratch } from '../src/pipeline/scratch.js';

/** Errors a retry cannot fix: fail the activity at once with a clear type. */
function classify(err: unknown): never {
  const msg = (err as Error).message ?? String(err);
  if (err instanceof ModelLayoutError) throw ApplicationFailure.nonRetryable(msg, 'ModelInvalid');
  if (err instanceof ClassMappingError) throw ApplicationFailure.nonRetryable(msg, 'ConfigInvalid');
  if (err instanceof ProviderUnavailableError) throw ApplicationFailure.nonRetryable(msg, 'ProviderUnavailable');
  if (err instanceof ManifestError || err instanceof FrameDecodeError) throw ApplicationFailure.nonRetryable(msg, 'CorruptInput');
  if (err instanceof TeacherModelError && /does not exist|does not name/.test(msg)) throw ApplicationFailure.nonRetryable(msg, 'ConfigInvalid');
  throw err;
}

export function makeAnnotateActivities(deps: ActivityDeps) {
  return {
    async annotate(ctx: RunContext, sampled: SampleResult): Promise<AnnotateResult> {
      const activity = Context.current();
      const started = performance.now();
      const teacher = ctx.camera.teacher;
      let progress: Record<string, unknown> = { stage: 'annotate', done: 0, total: sampled.selected };
      // Model export/loading takes seconds with nothing to report: keep heartbeating meanwhile.
      const timer = setInterval(() => activity.heartbeat(progress), 10_000);
      activity.heartbeat(progress);
      let detector: Awaited<ReturnType<typeof createTeacherDetector>> | undefined;
      try {
        const framesDir = await deps.store.localPath(sampled.frames);
        const manifest = await readSampleManifest(framesDir);
        const model = await resolveTeacherModel(deps, teacher);
        detector = await createTeacherDetector(model, teacher);
        const key = scratchKey({ model: model.id, imgsz: model.imgsz, crops: teacher.crops, tta: teacher.tta, ...(teacher.ttaScales.length ? { ttaScales: teacher.ttaScales } : {}), classes: ctx.camera.classes, frames: sampled.frames.sha256 });
        // Keyed by run: a retried attempt of this activity finds the frames already labelled.
        const scratchDir = path.join(deps.dataDir, 'work', ctx.cameraId, ctx.runId, 'annotate', key);
        const result = await annotateFrames({
          detector,
          framesDir,
          frames: manifest.frames,
          policy: { classes: ctx.camera.classes, minScore: teacher.minScore, classScores: teacher.classScores, crops: teacher.crops, tta: teacher.tta, ttaScales: teacher.ttaScales, keepStatic: teacher.keepStatic },
          scratchDir,
          signal: activity.cancellationSignal,
          onProgress: (p) => {
            progress = { stage: 'annotate', done: p.done, total: p.total, lastIndex: p.lastIndex, reused: p.reused };
            activity.heartbeat(progress);
          },
        });
        const tmp = await deps.store.tempDir('dataset');
        try {
          await writeYoloDataset(
            tmp,
            {
              cameraId: ctx.cameraId,
              source: manifest.source,
              classes: [...ctx.camera.classes],
              teacher: { model: model.id, imgsz: model.imgsz, minScore: teacher.minScore, classScores: teacher.classScores, crops: teacher.crops, tta: teacher.tta, ttaScales: teacher.ttaScales },
              width: manifest.width || result.frames[0]?.width || 0,
              height: manifest.height || result.frames[0]?.height || 0,
              stats: {
                labels: result.labels,
                perClass: result.perClass,
                suppressedStatic: result.suppressedStatic,
                droppedByTemporal: result.droppedByTemporal,
                emptyFrames: result.frames.filter((f) => f.labels.length === 0).length,
              },
            },
            result.frames.map((f) => ({
              name: f.frame.name,
              t: f.frame.t,
              split: f.frame.split,
              image: frameImagePath(framesDir, f.frame.name),
              width: f.width,
              height: f.height,
              labels: f.labels,
            })),
          );
          const dataset = await deps.store.putDir(tmp, 'dataset', { move: true });
          await removeScratch(deps, ctx, path.dirname(scratchDir));
          activity.log.info('annotate done', { frames: result.frames.length, labels: result.labels, reused: result.reused });
          return {
            dataset,
            frames: result.frames.length,
            labels: result.labels,
            perClass: result.perClass,
            teacher: model.id,
            suppressedStatic: result.suppressedStatic,
            seconds: (performance.now() - started) / 1000,
          };
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      } catch (err) {
        classify(err);
      } finally {
        clearInterval(timer);
        await detector?.close();
      }
    },
  };
}
