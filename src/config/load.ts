import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { writeFileAtomic } from '../artifacts/store.js';
import { configSchema, DEMO_VIDEO, type AutotunerConfig, type CameraConfig } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadedConfig {
  config: AutotunerConfig;
  /** absolute path of the config file */
  path: string;
  /** directory relative paths in the config are resolved against */
  dir: string;
  created: boolean;
}

const CANDIDATES = ['autotuner.config.json', 'autotuner.config.yaml', 'autotuner.config.yml'];

/** The config a fresh install gets: the demo camera on the offline defaults. */
export function defaultConfigObject(): Record<string, unknown> {
  return {
    dataDir: '.autotuner',
    cameras: [
      {
        id: 'demo',
        source: DEMO_VIDEO,
        site: 'default',
        classes: ['person'],
        schedule: { cron: '0 3 * * *', paused: true },
      },
    ],
  };
}

export function resolveConfigPath(explicit?: string): string {
  const given = explicit ?? process.env.AUTOTUNER_CONFIG;
  if (given) return path.resolve(given);
  for (const name of CANDIDATES) {
    const p = path.resolve(name);
    if (existsSync(p)) return p;
  }
  return path.resolve(CANDIDATES[0]!);
}

function formatIssues(file: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    return `  - ${where}: ${issue.message}`;
  });
  return `invalid config ${file}:\n${lines.join('\n')}\nFix the field(s) above (see README "Configuration").`;
}

export function parseConfig(raw: unknown, file = '<config>'): AutotunerConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));
  return parsed.data;
}

/** Load (and on first use create) the config file. */
export async function loadConfig(explicit?: string, opts: { create?: boolean } = {}): Promise<LoadedConfig> {
  const file = resolveConfigPath(explicit);
  let created = false;
  if (!existsSync(file)) {
    // Only the default location is created on first use; a path the user named must exist.
    if (opts.create === false || explicit || process.env.AUTOTUNER_CONFIG) {
      throw new ConfigError(`config file ${file} not found: create it (see README "Configuration") or fix --config / AUTOTUNER_CONFIG`);
    }
    const isYaml = /\.ya?ml$/i.test(file);
    const obj = defaultConfigObject();
    await writeFileAtomic(file, isYaml ? YAML.stringify(obj) : JSON.stringify(obj, null, 2) + '\n');
    created = true;
  }
  const text = await readFile(file, 'utf8');
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  return { config: parseConfig(raw, file), path: file, dir: path.dirname(file), created };
}

export function findCamera(config: AutotunerConfig, cameraId: string): CameraConfig {
  const cam = config.cameras.find((c) => c.id === cameraId);
  if (!cam) {
    const known = config.cameras.map((c) => c.id).join(', ');
    throw new ConfigError(`unknown camera "${cameraId}": the config lists ${known}. Add it to "cameras" or pick one of those.`);
  }
  return cam;
}

/** Sites that have cameras: one edge task queue each. */
export function sitesOf(config: AutotunerConfig): string[] {
  return [...new Set(config.cameras.map((c) => c.site))].sort();
}
