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
  /** activities at once on the GPU queue (default: $AUTOTUNER_GPU_CONCURRENCY or 2) */
  gpuConcurrency?: number;
  /** activities at once on each edge site's queue (default: $AUTOTUNER_EDGE_CONCURRENCY or activitySlots' rule) */
  edgeConcurrency?: number;
  /** a pre-built bundle (tests build it once) */
  workflowBundle?: WorkflowBundleWithSourceMap;
  deps?: ActivityDeps;
}

export const WORKFLOWS_PATH = path.join(REPO_ROOT, 'workflows', 'index.ts');

/**
 * How many activities a worker runs at once on a queue: the option, else the environment
 * variable (a whole number of 1 or more, or the worker refuses to start and says which), else
 * the default. GPU: 2 (a teacher and a trainer, or two of one). Edge: one per camera of the site,
 * at least 4. Captures of live cameras record in real time: a site whose cameras are all due at
 * 02:00 would otherwise record them four at a time, the later ones minutes late, and a sample
 * (CPU) would hold a slot a capture is waiting for.
 */
export function activitySlots(queue: 'gpu' | 'edge', option: number | undefined, env: NodeJS.ProcessEnv, camerasAtSite = 0): number {
  if (option !== undefined) return option;
  const name = queue === 'gpu' ? 'AUTOTUNER_GPU_CONCURRENCY' : 'AUTOTUNER_EDGE_CONCURRENCY';
  const raw = env[name];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw} is not a whole number of 1 or more: set it to how many ${queue} activities one worker may run at once, or unset it`);
    return n;
  }
  return queue === 'gpu' ? 2 : Math.max(4, camerasAtSite);
}

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
        maxConcurrentActivityTaskExecutions: activitySlots('gpu', o.gpuConcurrency, process.env),
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
          maxConcurrentActivityTaskExecutions: activitySlots('edge', o.edgeConcurrency, process.env, o.loaded.config.cameras.filter((c) => c.site === site).length),
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
