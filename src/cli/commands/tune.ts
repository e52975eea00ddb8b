import type { Command } from 'commander';
import type { TuneOutcome } from '../../pipeline/progress.js';
import type { CameraOverrides } from '../../pipeline/overrides.js';
import { tuneWorkflowId } from '../../temporal/queues.js';
import { globalOpts, loadFor, printJson, uiLink, withClient } from '../context.js';

/** The suggested motion mask, in words (sampling/restless.ts says why it is only a suggestion). */
function maskHint(o: TuneOutcome): string[] {
  const r = o.restlessRegions ?? [];
  if (!r.length) return [];
  return [
    `  HINT          ${r.map((x) => `[${x.join(', ')}]`).join(', ')} changed in most frames of this run and the last with nothing moving there`,
    "                (an on-screen clock?): add to the camera's sample.motionMask (autotuner capture --out DIR draws it in motion.jpg)",
  ];
}

export function formatOutcome(o: TuneOutcome): string {
  if (!o.metrics) {
    return [
      `camera ${o.cameraId}: ${o.state.toUpperCase()} ${o.modelVersion ?? ''}`.trim(),
      `  reason        ${o.reason}`,
      ...(o.cameraMoved ? ['  WARNING       the camera moved during/before this window'] : []),
      ...maskHint(o),
    ].join('\n');
  }
  const c = o.metrics.candidate;
  const b = o.metrics.baseline;
  const p = o.metrics.pretrained;
  const sign = o.metrics.gain >= 0 ? '+' : '';
  const d = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  return [
    `camera ${o.cameraId}: ${o.state.toUpperCase()} ${o.modelVersion ?? ''}`.trim(),
    `  mAP@0.5       ${b.map50.toFixed(3)} (${b.version}) -> ${c.map50.toFixed(3)} (${d(c.map50 - b.map50)})`,
    `  mAP@.5:.95    ${b.map5095.toFixed(3)} -> ${c.map5095.toFixed(3)} (${d(c.map5095 - b.map5095)})`,
    `  gate gain     ${sign}${o.metrics.gain.toFixed(3)}`,
    `  latency       ${b.latencyMs.toFixed(1)} ms -> ${c.latencyMs.toFixed(1)} ms`,
    // against a deployed model the gain is this run's alone: the untuned student shows the whole way
    ...(p && b.version !== 'pretrained'
      ? [`  pretrained    mAP@.5:.95 ${p.map5095.toFixed(3)}, mAP@0.5 ${p.map50.toFixed(3)} (the student before any tuning; candidate ${d(c.map5095 - p.map5095)})`]
      : []),
    `  reason        ${o.reason}`,
    ...(o.cameraMoved ? ['  WARNING       the camera moved during/before this window (see the report)'] : []),
    ...maskHint(o),
    ...(o.reportPath ? [`  report        ${o.reportPath}`] : []),
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('tune <cameraId>')
    .description('start tuneCamera for a camera (workflow ID tune/<cameraId>)')
    .option('--wait', 'wait for the result, printing progress (attaches to a running tuning)')
    .option('--json', 'machine-readable output (last stdout line)')
    .option('--set <json>', 'overrides, e.g. \'{"student":{"epochs":3}}\'')
    .action(async (cameraId: string, o: { wait?: boolean; set?: string }, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const [{ findCamera }, { ensureSearchAttributes }, { startTune, waitForTune }, { applyOverrides }] = await Promise.all([
        import('../../config/load.js'),
        import('../../client/search-attributes.js'),
        import('../../client/tune.js'),
        import('../../pipeline/overrides.js'),
      ]);
      findCamera(loaded.config, cameraId);
      const json = globalOpts(cmd).json;
      let overrides: CameraOverrides = {};
      try {
        if (o.set) overrides = JSON.parse(o.set) as CameraOverrides;
      } catch (err) {
        throw new Error(`--set is not valid JSON (${(err as Error).message}); e.g. --set '{"student":{"epochs":3}}'`);
      }
      // checked here against this config, before a run starts (the run checks again with the worker's)
      try {
        applyOverrides(findCamera(loaded.config, cameraId), overrides);
      } catch (err) {
        throw new Error(`--set: ${(err as Error).message}`);
      }
      await withClient(loaded, async (client, namespace) => {
        await ensureSearchAttributes(client, namespace);
        const started = await startTune(client, cameraId, overrides, Boolean(o.wait));
        const link = uiLink(loaded, namespace, started.workflowId, started.runId);
        console.error(`${started.attached ? 'attached to running' : 'started'} ${started.workflowId} (run ${started.runId})\n  Web UI: ${link}`);
        if (started.attached && o.set) console.error('  note: the running tuning keeps the settings it was started with; --set was not applied');
        // a run nobody serves waits silently (and `--wait` with it): say so, and what would serve it
        const [{ hasPollers }, { edgeTaskQueue, GPU_TASK_QUEUE }] = await Promise.all([import('../../demo/workers-present.js'), import('../../temporal/queues.js')]);
        const site = findCamera(loaded.config, cameraId).site;
        const queues: Array<[string, string]> = [
          [GPU_TASK_QUEUE, 'start one: autotuner worker --role gpu, or --role all'],
          [edgeTaskQueue(site), `start one next to the camera: autotuner worker --role edge --site ${site}`],
        ];
        for (const [queue, how] of queues) {
          if (!(await hasPollers(client, namespace, queue).catch(() => true))) console.error(`  note: no worker polls ${queue}: the run waits until one does (${how})`);
        }
        if (!o.wait) {
          if (json) printJson({ workflowId: started.workflowId, runId: started.runId, attached: started.attached, link });
          return;
        }
        const outcome = await waitForTune(client, cameraId, started.handle, (line) => console.error(line));
        if (json) printJson(outcome);
        else console.log(formatOutcome(outcome));
      });
    });

  program
    .command('status <cameraId>')
    .description('current stage and progress of the camera\'s tuning (workflow query + heartbeats)')
    .option('--json', 'machine-readable output')
    .action(async (cameraId: string, _o, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const { liveStatus, formatActivityDetails, failureSummary } = await import('../../client/tune.js');
      await withClient(loaded, async (client) => {
        let s;
        try {
          s = await liveStatus(client, cameraId);
        } catch (err) {
          if ((err as Error).name === 'WorkflowNotFoundError') {
            console.error(`no tuning of camera "${cameraId}" found (workflow ${tuneWorkflowId(cameraId)}); start one with "autotuner tune ${cameraId}"`);
            process.exitCode = 1;
            return;
          }
          throw err;
        }
        if (s.status !== 'RUNNING') {
          // A finished run: its result (or failure) says more than a replayed query would.
          const handle = client.workflow.getHandle(s.workflowId, s.runId);
          let outcome: TuneOutcome | undefined;
          let failure: string | undefined;
          try {
            outcome = (await handle.result()) as TuneOutcome;
          } catch (err) {
            failure = failureSummary(err);
            // scripts tell a failed (or terminated) run from a finished one by the exit code
            process.exitCode = 1;
          }
          if (globalOpts(cmd).json) return printJson({ ...s, outcome, failure });
          console.log(`${s.workflowId} run ${s.runId}: ${s.status}`);
          if (outcome) console.log(formatOutcome(outcome));
          if (failure) console.log(`  failure: ${failure}`);
          return;
        }
        if (globalOpts(cmd).json) return printJson(s);
        console.log(`${s.workflowId} run ${s.runId}: ${s.status}${s.progress ? `, stage ${s.progress.stage}` : ''}`);
        if (!s.progress) console.log('  no worker answered for its progress within 5 s: is a worker polling autotuner-gpu? (autotuner worker --role gpu, or --role all)');
        for (const st of s.progress?.stages ?? []) {
          console.log(`  ${st.state.padEnd(8)} ${st.stage.padEnd(9)} ${st.summary ?? ''}`);
        }
        for (const a of s.activities) {
          // in words where we know the details (epoch/step, frames), else as they came (a custom trainer's, say)
          const words = formatActivityDetails(a.details);
          const details = words || (a.details ? JSON.stringify(a.details) : '');
          console.log(`  running ${a.type} attempt ${a.attempt}${details ? `: ${details}` : ''}${a.lastFailure ? `\n    last failure: ${a.lastFailure}` : ''}`);
        }
        if (s.progress?.awaitingApproval) console.log(`  waiting for approval: autotuner approve ${cameraId} [--reject]`);
      });
    });

  program
    .command('approve <cameraId>')
    .description('approve (or --reject) a candidate waiting for manual approval')
    .option('--reject', 'reject instead')
    .option('--reason <text>', 'why')
    .action(async (cameraId: string, o: { reject?: boolean; reason?: string }, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const { liveStatus } = await import('../../client/tune.js');
      await withClient(loaded, async (client) => {
        // Say why when nothing waits (the workflow ignores such a decision anyway: it must not
        // approve a candidate that comes later).
        let s;
        try {
          s = await liveStatus(client, cameraId);
        } catch (err) {
          if ((err as Error).name === 'WorkflowNotFoundError') throw new Error(`no tuning of camera "${cameraId}" found (workflow ${tuneWorkflowId(cameraId)}): nothing waits for approval`);
          throw err;
        }
        if (s.status !== 'RUNNING') throw new Error(`the tuning of ${cameraId} (${s.workflowId}, run ${s.runId}) is ${s.status.toLowerCase()}: nothing waits for approval`);
        if (!s.progress) throw new Error(`no worker answers for the tuning of ${cameraId}, so whether a candidate waits cannot be told; try again when a worker runs`);
        if (!s.progress.awaitingApproval) {
          throw new Error(`no candidate of ${cameraId} waits for approval yet (stage: ${s.progress.stage}); "autotuner status ${cameraId}" shows when one does`);
        }
        await client.workflow.getHandle(s.workflowId, s.runId).signal('approval', {
          approve: !o.reject,
          by: process.env.USER ?? 'cli',
          reason: o.reason,
        });
        console.error(`${o.reject ? 'rejected' : 'approved'} the candidate of ${cameraId}`);
      });
    });
}
