import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AutotunerConfig } from '../config/schema.js';
import { DirectoryArtifactStore } from '../artifacts/store.js';

/** What activities need from the process that hosts them (injected, so tests can build their own). */
export interface ActivityDeps {
  config: AutotunerConfig;
  /** absolute data directory (artifact store, registry, edge models, caches) */
  dataDir: string;
  store: DirectoryArtifactStore;
  /** the project's Python (venv) used for the trainer and model export */
  python: string;
  repoRoot: string;
  /** the config file, re-read where the latest config matters (run start, stream credentials) */
  configPath?: string;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function defaultPython(): string {
  return process.env.AUTOTUNER_PYTHON ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');
}

export function makeDeps(config: AutotunerConfig, configDir: string): ActivityDeps {
  const dataDir = path.resolve(configDir, config.dataDir);
  return {
    config,
    dataDir,
    store: new DirectoryArtifactStore(path.join(dataDir, 'artifacts')),
    python: defaultPython(),
    repoRoot: REPO_ROOT,
  };
}
