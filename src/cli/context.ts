import type { Command } from 'commander';
import type { Client, Connection } from '@temporalio/client';
import type { LoadedConfig } from '../config/load.js';
import { connectClient, temporalTarget } from '../temporal/connection.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/** The root program's options (--config is global: every command takes it). */
export function globalOpts(cmd: Command): GlobalOptions {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return { ...root.opts<GlobalOptions>(), ...cmd.opts<GlobalOptions>() };
}

export async function loadFor(cmd: Command): Promise<LoadedConfig> {
  // loaded on use: the schema's validators are most of what `--help` would otherwise wait for
  const { loadConfig } = await import('../config/load.js');
  return loadConfig(globalOpts(cmd).config);
}

export async function withClient<T>(loaded: LoadedConfig, fn: (client: Client, namespace: string) => Promise<T>): Promise<T> {
  const { client, connection }: { client: Client; connection: Connection } = await connectClient(loaded.config);
  try {
    return await fn(client, temporalTarget(loaded.config).namespace);
  } finally {
    await connection.close();
  }
}

/** Print a JSON object as the last stdout line (machine-readable mode). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export function uiLink(loaded: LoadedConfig, namespace: string, workflowId?: string, runId?: string): string {
  const base = process.env.TEMPORAL_UI_URL ?? `http://localhost:${loaded.config.temporal.uiPort}`;
  if (!workflowId) return `${base}/namespaces/${namespace}/workflows`;
  return `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;
}
