import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { LoadedConfig } from '../config/load.js';
import { sitesOf } from '../config/load.js';
import { edgeTaskQueue, GPU_TASK_QUEUE } from '../temporal/queues.js';
import { temporalTarget } from '../temporal/connection.js';
import { makeDeps, REPO_ROOT, type ActivityDeps } from './deps.js';
import { sweepCaptureDirs } from '../video/capture-step.js';
import { makeControlActivities } from '../../activities/control.js';
import { makeCaptureActivities } from '../../activities/capture.js';
import { makeSampleActivities } from '../../activities/sample.js';
import { makeAnnotateActivities } from '../../activities/annotate.js';
import { makeTrainActivities } from '../../activities/train.js';
import { makeValidateActivities } from '../../activities/validate.js';
import { makeDeployActivities } from '../../activities/deploy.js';

export type WorkerRole = 'edge' | 'gpu' | 'all';

export interface WorkerOptions {
  loaded: LoadedConfig;
  role: WorkerRole;
  /** edge sites to serve; default: every site in the config */
  sites?: string[];
  connection: NativeConnection;
  /** how long a stopping worker lets running activities (a training) finish before cancelling them */
  shutdownGraceTime?: string;
  /** a pre-built bundle (tests build it once) */
  workflowBundle?: WorkflowBundleWithSourceMap;
  deps?: ActivityDeps;
}

export const WORKFLOWS_PATH = path.join(REPO_ROOT, 'workflows', 'index.ts');

let cachedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  // webpack's build report is noise for users; warnings and errors still show.
  cachedBundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return cachedBundle;
}

export function gpuActivities(deps: ActivityDeps) {
  return {
    ...makeControlActivities(deps),
    ...makeAnnotateActivities(deps),
    ...makeTrainActivities(deps),
    ...makeValidateActivities(deps),
  };
}

export function edgeActivities(deps: ActivityDeps) {
  return {
    ...makeCaptureActivities(deps),
    ...makeSampleActivities(deps),
    ...makeDeployActivities(deps),
  };
}

/** Build the workers of a role: the gpu queue (+ workflows) and/or one edge queue per site. */
export async function createWorkers(o: WorkerOptions): Promise<{ workers: Worker[]; queues: string[] }> {
  const deps = { ...(o.deps ?? makeDeps(o.loaded.config, o.loaded.dir)), configPath: o.loaded.path };
  // What runs left behind, now and every hour (a worker runs for months): crashed runs' scratch in
  // the store, and capture segments no retry will resume (past every camera's outage window).
  const captureMaxAgeMs = (Math.max(6, ...o.loaded.config.cameras.map((c) => c.capture.outageRetryHours)) + 1) * 3_600_000;
  const sweep = async (): Promise<void> => {
    const warn = (where: string) => (err: unknown): string[] => {
      console.warn(`could not clean leftovers in ${where}: ${(err as Error).message}`);
      return [];
    };
    const swept = await deps.store.sweepLeftovers().catch(warn(deps.store.root));
    if (swept.length) console.log(`removed ${swept.length} leftover(s) of crashed runs from ${deps.store.root}`);
    const captures = await sweepCaptureDirs(deps.dataDir, captureMaxAgeMs).catch(warn(path.join(deps.dataDir, 'capture')));
    if (captures.length) console.log(`removed ${captures.length} capture segment director${captures.length === 1 ? 'y' : 'ies'} no retry will resume from ${path.join(deps.dataDir, 'capture')}`);
  };
  await sweep();
  setInterval(() => void sweep(), 3_600_000).unref();
  const { namespace } = temporalTarget(o.loaded.config);
  const shutdownGraceTime = o.shutdownGraceTime ?? process.env.AUTOTUNER_SHUTDOWN_GRACE ?? '5 minutes';
  const workers: Worker[] = [];
  const queues: string[] = [];
  if (o.role === 'gpu' || o.role === 'all') {
    workers.push(
      await Worker.create({
        connection: o.connection,
        namespace,
        taskQueue: GPU_TASK_QUEUE,
        workflowBundle: o.workflowBundle ?? (await workflowBundle()),
        activities: gpuActivities(deps),
        shutdownGraceTime,
        // Send heartbeat details often enough for `status` and the demo's progress line to be live
        // (the default throttle follows the heartbeat timeout: minutes).
        maxHeartbeatThrottleInterval: '5 seconds',
        // GPU work is heavy: a teacher and a trainer (or two of one) at a time per worker by default.
        maxConcurrentActivityTaskExecutions: Number(process.env.AUTOTUNER_GPU_CONCURRENCY ?? 2),
      }),
    );
    queues.push(GPU_TASK_QUEUE);
  }
  if (o.role === 'edge' || o.role === 'all') {
    const sites = o.sites && o.sites.length > 0 ? o.sites : sitesOf(o.loaded.config);
    const activities = edgeActivities(deps);
    for (const site of sites) {
      workers.push(
        await Worker.create({
          connection: o.connection,
          namespace,
          taskQueue: edgeTaskQueue(site),
          activities,
          shutdownGraceTime,
          maxHeartbeatThrottleInterval: '5 seconds',
          maxConcurrentActivityTaskExecutions: 4,
        }),
      );
      queues.push(edgeTaskQueue(site));
    }
  }
  return { workers, queues };
}

/** Run workers until SIGINT/SIGTERM (or the signal aborts). */
export async function runWorkers(o: WorkerOptions & { signal?: AbortSignal }): Promise<void> {
  const { workers } = await createWorkers(o);
  const stop = () => workers.forEach((w) => w.shutdown());
  o.signal?.addEventListener('abort', stop, { once: true });
  await Promise.all(workers.map((w) => w.run()));
}
