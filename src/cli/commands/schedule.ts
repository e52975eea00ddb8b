import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { globalOpts, loadFor, printJson, withClient } from '../context.js';

export function register(program: Command): void {
  const schedule = program.command('schedule').description('per-camera Temporal Schedules (autotune/<cameraId>), reconciled from the config');
  schedule
    .command('sync')
    .description('create/update/pause/delete schedules to match the config (idempotent)')
    .option('--json')
    .action(async (_o, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const [{ syncSchedules }, { ensureSearchAttributes }] = await Promise.all([import('../../client/schedules.js'), import('../../client/search-attributes.js')]);
      await withClient(loaded, async (client, ns) => {
        await ensureSearchAttributes(client, ns);
        const changes = await syncSchedules(client, loaded.config);
        const failed = changes.filter((c) => c.change === 'failed');
        // the others were reconciled; the command still fails so a deploy script notices
        if (failed.length) process.exitCode = 1;
        if (globalOpts(cmd).json) return printJson({ changes });
        if (changes.length === 0) console.log('no cameras have a schedule; nothing to do');
        for (const c of changes) console.log(`${c.change.padEnd(9)} ${c.scheduleId}${c.error ? `: ${c.error}` : ''}`);
      });
    });
  schedule
    .command('list')
    .option('--json')
    .action(async (_o, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const { listSchedules } = await import('../../client/schedules.js');
      await withClient(loaded, async (client) => {
        const rows = await listSchedules(client);
        if (globalOpts(cmd).json) return printJson({ schedules: rows });
        if (rows.length === 0) console.log('no schedules; run "autotuner schedule sync"');
        for (const r of rows) console.log(`${r.scheduleId.padEnd(24)} ${r.paused ? 'paused ' : 'active '} next ${r.nextRuns[0] ?? '-'}${r.note ? `  (${r.note})` : ''}`);
      });
    });
  const handle = async (c: Client, id: string) => (await import('../../client/schedules.js')).scheduleHandle(c, id);
  const simple: [string, string, (cameraId: string, client: Client) => Promise<void>][] = [
    ['pause', 'pause a camera\'s schedule (until the next sync, if the config does not say "paused": true)', async (id, c) => (await handle(c, id)).pause('paused from the CLI')],
    ['unpause', 'unpause a camera\'s schedule', async (id, c) => (await handle(c, id)).unpause('unpaused from the CLI')],
    ['trigger', 'run a camera\'s schedule now (skipped if a tuning of the camera runs)', async (id, c) => (await handle(c, id)).trigger()],
    ['delete', 'delete a camera\'s schedule (sync recreates it while the config has one)', async (id, c) => (await handle(c, id)).delete()],
  ];
  for (const [name, description, fn] of simple) {
    schedule
      .command(`${name} <cameraId>`)
      .description(description)
      .action(async (cameraId: string, _o, cmd: Command) => {
        const loaded = await loadFor(cmd);
        const { findCamera } = await import('../../config/load.js');
        // a camera removed from the config may still have a schedule to pause or delete
        if (name !== 'pause' && name !== 'delete') findCamera(loaded.config, cameraId);
        await withClient(loaded, async (client) => {
          try {
            await fn(cameraId, client);
          } catch (err) {
            if ((err as Error).name === 'ScheduleNotFoundError') {
              throw new Error(`camera "${cameraId}" has no schedule: add "schedule" to it in the config and run "autotuner schedule sync"`);
            }
            throw err;
          }
          console.error(`${name}: autotune/${cameraId}`);
        });
      });
  }
}
