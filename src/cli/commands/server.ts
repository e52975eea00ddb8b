import type { Command } from 'commander';
import path from 'node:path';
import { isTemporalUp, temporalTarget } from '../../temporal/connection.js';
import { loadFor } from '../context.js';

export function register(program: Command): void {
  const server = program
    .command('server')
    .description('run the embedded Temporal dev server (SQLite under the data dir, Web UI, search attributes registered)');
  server
    .command('start', { isDefault: true })
    .description('run the dev server in the foreground')
    .action(async (_o, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const { address, namespace } = temporalTarget(loaded.config);
      if (await isTemporalUp(address)) {
        console.error(`a Temporal server already answers at ${address}; nothing to start`);
        return;
      }
      const dataDir = path.resolve(loaded.dir, loaded.config.dataDir);
      const { runDevServerForeground } = await import('../../temporal/dev-server.js');
      console.error(`Temporal dev server on ${address}, Web UI http://localhost:${loaded.config.temporal.uiPort}, data ${dataDir}/temporal`);
      process.exitCode = await runDevServerForeground({ dataDir, address, namespace, uiPort: loaded.config.temporal.uiPort });
    });
  server
    .command('stop')
    .description('stop a dev server started in the background by "autotuner demo"')
    .action(async (_o, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const { stopDevServer } = await import('../../temporal/dev-server.js');
      const stopped = await stopDevServer(path.resolve(loaded.dir, loaded.config.dataDir));
      console.error(stopped ? 'dev server stopped' : 'no dev server started by autotuner is recorded');
    });
}
