/** `autotuner models list|show|rollback <cameraId> [--json]` */
import path from 'node:path';
import { Command } from 'commander';
import type { ModelRegistry } from '../../registry/registry.js';

/** Resolves the data directory from the root program's --config (or AUTOTUNER_CONFIG / the default file). */
async function dataDirOf(cmd: Command): Promise<string> {
  const { config } = cmd.optsWithGlobals() as { config?: string };
  const { loadConfig } = await import('../../config/load.js');
  const loaded = await loadConfig(config, { create: false });
  return path.resolve(loaded.dir, loaded.config.dataDir);
}

/** The camera registry of the command's data directory (loaded on use, like every command's code). */
async function registryOf(cmd: Command): Promise<{ dataDir: string; registry: ModelRegistry }> {
  const [dataDir, { ModelRegistry }] = await Promise.all([dataDirOf(cmd), import('../../registry/registry.js')]);
  return { dataDir, registry: new ModelRegistry(dataDir) };
}

const num = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : '–');

export function modelsCommand(): Command {
  const models = new Command('models').description('list, inspect and roll back model versions of a camera');

  models
    .command('list <cameraId>')
    .option('--json', 'machine-readable output')
    .action(async (cameraId: string, opts: { json?: boolean }, cmd: Command) => {
      const versions = await (await registryOf(cmd)).registry.list(cameraId);
      const rows = versions.map((v) => ({ version: v.version, state: v.state, metrics: v.metrics, createdAt: v.createdAt, parent: v.lineage.parent }));
      if (opts.json) return void console.log(JSON.stringify({ versions: rows }, null, 2));
      if (!rows.length) return void console.log(`camera ${cameraId} has no model versions yet`);
      console.log(['version', 'state', 'mAP50', 'mAP50-95', 'latency ms', 'parent', 'created'].join('\t'));
      for (const r of rows) console.log([r.version, r.state, num(r.metrics.map50), num(r.metrics.map5095), num(r.metrics.latencyMs), r.parent ?? '-', r.createdAt].join('\t'));
    });

  models
    .command('show <cameraId> [version]')
    .description('one version with its lineage (default: the deployed one)')
    .option('--json', 'machine-readable output')
    .action(async (cameraId: string, version: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const reg = (await registryOf(cmd)).registry;
      const v = version ? await reg.get(cameraId, version) : await reg.deployed(cameraId);
      if (!v) throw new Error(`camera ${cameraId} has no deployed version; name one (autotuner models list ${cameraId})`);
      console.log(opts.json ? JSON.stringify(v, null, 2) : `${v.version} (${v.state})${v.reason ? `: ${v.reason}` : ''}\n${JSON.stringify({ lineage: v.lineage, metrics: v.metrics, model: v.model, history: v.history }, null, 2)}`);
    });

  models
    .command('rollback <cameraId>')
    .description('point the edge back at the previously deployed version (run on the edge host / shared data dir)')
    .option('--reason <text>', 'why', 'manual rollback')
    .option('--json', 'machine-readable output')
    .action(async (cameraId: string, opts: { reason: string; json?: boolean }, cmd: Command) => {
      const [{ dataDir, registry }, { rollbackEdge }] = await Promise.all([registryOf(cmd), import('../../edge/deploy.js')]);
      const r = await rollbackEdge({ dataDir, cameraId, registry, reason: opts.reason });
      console.log(opts.json ? JSON.stringify(r, null, 2) : r.message);
    });

  return models;
}

/** Adds `models` to the root program (src/cli/main.ts). */
export function register(program: Command): void {
  program.addCommand(modelsCommand());
}
