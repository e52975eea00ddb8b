import { Option, type Command } from 'commander';
import { connectWorker } from '../../temporal/connection.js';
import type { WorkerRole } from '../../worker/run.js';
import { loadFor } from '../context.js';
import { positiveInt } from '../numbers.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('run workers: gpu (workflows, annotate/train/validate), edge (capture/sample/deploy for a site), or all')
    .addOption(new Option('--role <role>', 'which queues to serve').choices(['edge', 'gpu', 'all']).default('all'))
    .option('--site <name...>', 'edge site(s) to serve (default: every site in the config)')
    // no commander default: it would hide $AUTOTUNER_SHUTDOWN_GRACE (the compose file sets 10 minutes for GPU workers)
    .option('--shutdown-grace <duration>', 'let running activities finish this long on shutdown (default: $AUTOTUNER_SHUTDOWN_GRACE or 5 minutes)')
    .option('--gpu-concurrency <n>', 'GPU activities at once (default: $AUTOTUNER_GPU_CONCURRENCY or 2)', positiveInt)
    .option('--edge-concurrency <n>', "activities at once per edge site (default: $AUTOTUNER_EDGE_CONCURRENCY or the site's cameras, at least 4)", positiveInt)
    .action(async (o: { role: WorkerRole; site?: string[]; shutdownGrace?: string; gpuConcurrency?: number; edgeConcurrency?: number }, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const [{ installWorkerRuntime }, { createWorkers }] = await Promise.all([import('../../worker/logger.js'), import('../../worker/run.js')]);
      // INFO, as the SDK's own default, without the warning every edge worker would print at start
      installWorkerRuntime('INFO');
      const connection = await connectWorker(loaded.config);
      const { workers, queues } = await createWorkers({ loaded, role: o.role, sites: o.site, connection, shutdownGraceTime: o.shutdownGrace, gpuConcurrency: o.gpuConcurrency, edgeConcurrency: o.edgeConcurrency });
      console.error(`worker (${o.role}) polling ${queues.join(', ')}; Ctrl-C stops it after running activities finish`);
      // One queue failing must not leave a half-dead process polling the others: stop them all and fail.
      let failure: unknown = null;
      await Promise.all(
        workers.map((w) =>
          w.run().catch((err: unknown) => {
            failure ??= err;
            for (const other of workers) if (other !== w && other.getState() === 'RUNNING') other.shutdown();
          }),
        ),
      );
      await connection.close();
      if (failure) throw failure;
    });
}
