import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEMO_VIDEO } from '../../config/demo-video.js';
import { connectWorker, isTemporalUp, temporalTarget } from '../../temporal/connection.js';
import { edgeTaskQueue, GPU_TASK_QUEUE } from '../../temporal/queues.js';
import { globalOpts, loadFor, printJson, uiLink, withClient } from '../context.js';
import { formatOutcome } from './tune.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('the main job on the offline defaults: server + workers if none run, tune the demo camera, print the report')
    .option('--quick', 'reduced run (fewer frames and epochs): a few minutes on 2 cores')
    .option('--camera <id>', 'camera to tune', 'demo')
    .option('--json', 'last stdout line is one JSON object with the outcome')
    .action(async (o: { quick?: boolean; camera: string }, cmd: Command) => {
      const json = globalOpts(cmd).json;
      const say = (s: string) => console.error(s);
      const loaded = await loadFor(cmd);
      const [{ findCamera }, { ensureSearchAttributes }, { startTune, waitForTune }, { QUICK_OVERRIDES }, { hasPollers, workflowPickedUp }, { ensureDevServer }] = await Promise.all([
        import('../../config/load.js'),
        import('../../client/search-attributes.js'),
        import('../../client/tune.js'),
        import('../../demo/quick.js'),
        import('../../demo/workers-present.js'),
        import('../../temporal/dev-server.js'),
      ]);
      if (loaded.created) say(`created ${loaded.path} with the demo camera`);
      const camera = findCamera(loaded.config, o.camera);
      if (camera.source === DEMO_VIDEO && !existsSync(DEMO_VIDEO)) {
        throw new Error(`the demo video ${DEMO_VIDEO} is missing: install it with "apt-get install opencv-doc" (or run "npm run setup")`);
      }
      const { address, namespace } = temporalTarget(loaded.config);
      const dataDir = path.resolve(loaded.dir, loaded.config.dataDir);
      if (process.env.TEMPORAL_ADDRESS) {
        if (!(await isTemporalUp(address))) throw new Error(`TEMPORAL_ADDRESS=${address} does not answer; unset it to use the embedded dev server`);
      } else {
        // a no-op when a healthy server answers; replaces our own dev server if it lost its database
        if (!(await isTemporalUp(address))) say(`starting the Temporal dev server on ${address} (left running for the Web UI; "autotuner server stop" stops it)`);
        const s = await ensureDevServer({ dataDir, address, namespace, uiPort: loaded.config.temporal.uiPort });
        if (s.replaced) say(`the dev server on ${address} (pid ${s.replaced.join(', ')}) had lost its database (${dataDir} deleted while it ran): replaced it with a fresh one`);
        if (s.started) say(`  log: ${s.log}`);
      }
      await withClient(loaded, async (client) => {
        await ensureSearchAttributes(client, namespace);
        const need = [GPU_TASK_QUEUE, edgeTaskQueue(camera.site)];
        const missing: string[] = [];
        for (const q of need) if (!(await hasPollers(client, namespace, q))) missing.push(q);
        let stopWorkers: (() => Promise<void>) | undefined;
        const startLocalWorkers = async () => {
          // The demo prints its own progress line; worker chatter below WARN would bury it.
          // (AUTOTUNER_LOG_LEVEL=INFO brings it back.)
          const [{ installWorkerRuntime, REPORTED_BY_THE_DEMO }, { createWorkers }] = await Promise.all([import('../../worker/logger.js'), import('../../worker/run.js')]);
          installWorkerRuntime('WARN', REPORTED_BY_THE_DEMO);
          const connection = await connectWorker(loaded.config);
          const { workers } = await createWorkers({ loaded, role: 'all', connection, shutdownGraceTime: '10 seconds' });
          const running = workers.map((w) => w.run());
          stopWorkers = async () => {
            workers.forEach((w) => w.shutdown());
            await Promise.allSettled(running);
            await connection.close();
          };
        };
        if (missing.length > 0) {
          say(`no workers on ${missing.join(', ')}: running them in this process`);
          await startLocalWorkers();
        }
        try {
          const started = await startTune(client, camera.id, o.quick ? QUICK_OVERRIDES : {}, true);
          const link = uiLink(loaded, namespace, started.workflowId, started.runId);
          say(`${started.attached ? 'attached to' : 'started'} ${started.workflowId}\n  Web UI: ${link}`);
          if (!stopWorkers && !(await workflowPickedUp(started.handle, 15_000))) {
            say('the workers that looked alive did not pick the run up: running workers in this process');
            await startLocalWorkers();
          }
          const t0 = Date.now();
          const outcome = await waitForTune(client, camera.id, started.handle, (line) => say(`  ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s ${line}`));
          say(formatOutcome(outcome));
          say(`  Web UI        ${link}`);
          if (json) printJson({ ...outcome, link, seconds: (Date.now() - t0) / 1000 });
        } finally {
          await stopWorkers?.();
        }
      });
    });
}
