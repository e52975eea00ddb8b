import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { ActivityDeps } from '../worker/deps.js';
import type { RunContext } from './types.js';

/** Scratch directory of one run: stable across activity retries so the trainer can resume. */
export function runWorkDir(deps: ActivityDeps, ctx: RunContext, stage: string): string {
  return path.join(deps.dataDir, 'work', ctx.cameraId, ctx.runId, stage);
}

/**
 * Drop a stage's scratch once its results are in the store (a run left ~40 MB of checkpoints there:
 * gigabytes a month for nightly runs), then the run's directory when no other stage uses it.
 */
export async function removeScratch(deps: ActivityDeps, ctx: RunContext, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const parent of [path.join(deps.dataDir, 'work', ctx.cameraId, ctx.runId), path.join(deps.dataDir, 'work', ctx.cameraId)]) {
    // rmdir fails on a directory that is not empty: exactly the one to keep
    await rmdir(parent).catch(() => undefined);
  }
}
