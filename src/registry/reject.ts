import type { ActivityDeps } from '../worker/deps.js';
import { ModelRegistry } from './registry.js';

/** Mark a candidate rejected (gate or operator said no). Idempotent: a retry changes nothing. */
export async function markVersionRejected(deps: Pick<ActivityDeps, 'dataDir'>, cameraId: string, version: string, reason: string): Promise<void> {
  const registry = new ModelRegistry(deps.dataDir);
  const v = await registry.get(cameraId, version);
  if (v.state === 'candidate') await registry.setState(cameraId, version, 'rejected', reason);
}
