import { Option, type Command } from 'commander';
import { connectWorker } from '../../temporal/connection.js';
import { createWorkers, type WorkerRole } from '../../worker/run.js';
import { loadFor } from '../context.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('run workers: gpu (workflows, annotate/train/validate), edge (capture/sample/deploy for a site), or all')
    .addOption(new Option('--role <role>', 'which queues to serve').choices(['edge', 'gpu', 'all']).default('all'))
    .option('--site <name...>', 'edge site(s) to serve (default: every site in the config)')
    .option('--shutdown-grace <duration>', 'let running activities finish this long on shutdown', '5 minutes')
    .action(async (o: { role: WorkerRole; site?: string[]; shutdownGrace: string }, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const connection = await connectWorker(loaded.config);
      const { workers, queues } = await createWorkers({ loaded, role: o.role, sites: o.site, connection, shutdownGraceTime: o.shutdownGrace });
      console.error(`worker (${o.role}) polling ${queues.join(', ')}; Ctrl-C stops it after running activities finish`);
      await Promise.all(workers.map((w) => w.run()));
      await connection.close();
    });
}
