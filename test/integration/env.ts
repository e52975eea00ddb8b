/** Shared set-up for integration tests: a real Temporal dev server and a throwaway project dir. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';
import { temporalCli } from '../../src/temporal/dev-server.js';
import type { CameraOverrides } from '../../src/pipeline/overrides.js';

export const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli() },
      searchAttributes: [...ALL_SEARCH_ATTRIBUTES],
    },
  });
}

/** A project directory with one camera on a short window of the real demo video. */
export async function makeProject(cameras: Record<string, unknown>[] = [{ id: 'itest', source: VTEST, site: 'lab', classes: ['person'] }]): Promise<LoadedConfig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autotuner-it-'));
  const file = path.join(dir, 'autotuner.config.json');
  await writeFile(file, JSON.stringify({ dataDir: 'data', cameras }, null, 2));
  return loadConfig(file);
}

/** Small but real: a 12 s window, 20 frames, 2 epochs of a 160 px student. */
export const TINY: CameraOverrides = {
  capture: { seconds: 12 },
  sample: { budget: 20, blockSeconds: 3, valShare: 0.3 },
  teacher: { crops: false },
  student: { epochs: 2, imgsz: 160, batch: 4 },
};
