import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import type { AnnotateResult, RunContext, TrainResult } from '../src/pipeline/types.js';
import { builtinTrainer, resolveStudentInit } from '../src/models/builtin.js';
import { exportPretrainedStudent } from '../src/models/export.js';
import { builtinTrainerExtraArgs, PARENT_WATCHDOG, runTrainer, TrainerError, trainerArgs, type TrainerEvent } from '../src/trainer/run-trainer.js';
import type { ActivityDeps } from '../src/worker/deps.js';
import { removeScratch, runWorkDir } from '../src/pipeline/scratch.js';

export function makeTrainActivities(deps: ActivityDeps) {
  return {
    async train(ctx: RunContext, annotated: AnnotateResult): Promise<TrainResult> {
      const activity = Context.current();
      const student = ctx.camera.student;
      const data = await deps.store.localPath(annotated.dataset);
      const out = runWorkDir(deps, ctx, 'train');
      let init: string;
      try {
        init = resolveStudentInit(student.init, path.dirname(deps.dataDir));
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'TrainerInputError');
      }
      const custom = student.command && student.command.length > 0;
      // a custom trainer runs under a watchdog that stops it if this worker dies (the built-in one watches by itself)
      const { command, env } = custom ? { command: [process.execPath, PARENT_WATCHDOG, String(process.pid), ...student.command!], env: process.env } : builtinTrainer(deps);
      // A retried attempt (worker crash, restart) continues from the last epoch checkpoint.
      const resume = existsSync(path.join(out, 'last.pt'));
      let last: Record<string, unknown> = { stage: 'train', resume, attempt: activity.info.attempt };
      let resumedFromEpoch = 0;
      const beat = () => heartbeat(last);
      beat();
      const timer = setInterval(beat, 15_000);
      const opts = {
        command,
        env,
        data,
        init,
        out,
        epochs: student.epochs,
        imgsz: student.imgsz,
        device: student.device,
        resume,
        extraArgs: custom ? [] : builtinTrainerExtraArgs(student),
        signal: activity.cancellationSignal,
        stallMs: student.stallMinutes * 60_000,
        onEvent: (ev: TrainerEvent) => {
          if (ev.event === 'start' && typeof ev.startEpoch === 'number') resumedFromEpoch = ev.startEpoch;
          if (ev.event === 'start' || ev.event === 'epoch' || ev.event === 'progress') {
            // progress: steps inside an epoch (the built-in trainer's, at most one every 2 s), so a long
            // epoch shows it is moving in the heartbeat, `status` and the CLI's progress line
            last = { stage: 'train', ...ev };
            beat();
            if (ev.event !== 'progress') activity.log.info(`train ${ev.event}`, ev);
          }
        },
      };
      try {
        const done = await runTrainer(opts);
        const model = await deps.store.putFile(done.onnx, 'model');
        const ckptPath = done.checkpoint ?? path.join(out, 'best.pt');
        const checkpoint = await deps.store.putFile(ckptPath, 'checkpoint');
        const metrics = Object.fromEntries(Object.entries(done.metrics ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
        metrics.resumedFromEpoch = resumedFromEpoch;
        const pretrained = await exportPretrainedStudent(deps, ctx.camera, init);
        await removeScratch(deps, ctx, out);
        return {
          model,
          checkpoint,
          pretrained,
          epochs: typeof metrics.epochs === 'number' ? metrics.epochs : student.epochs,
          metrics,
          trainer: custom ? student.command!.join(' ') : 'builtin:autotuner_trainer',
          trainerArgs: trainerArgs({ ...opts, data: '<dataset>', out: '<out>' }),
        };
      } catch (err) {
        if (err instanceof TrainerError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'TrainerInputError');
        throw err;
      } finally {
        clearInterval(timer);
      }
    },
  };
}
