/**
 * deploy (edge queue): copy the accepted version to this edge host, health-check it, swap the
 * runtime's pointer; a failed health check keeps the previous model and marks the version
 * rolled-back (returned, not thrown: retrying cannot fix a bad model).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ArtifactIntegrityError, ArtifactMissingError } from '../src/artifacts/store.js';
import { deployModel, rollbackEdge } from '../src/edge/deploy.js';
import type { DeployResult, RunContext, ValidateResult } from '../src/pipeline/types.js';
import { ModelRegistry, RegistryError } from '../src/registry/registry.js';
import type { ActivityDeps } from '../src/worker/deps.js';

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity
  }
}

export function makeDeployActivities(deps: ActivityDeps) {
  const registry = new ModelRegistry(deps.dataDir);
  return {
    async deploy(ctx: RunContext, validated: ValidateResult): Promise<DeployResult> {
      let version;
      try {
        version = await registry.get(ctx.cameraId, validated.version);
      } catch (err) {
        if (err instanceof RegistryError) throw ApplicationFailure.nonRetryable(err.message, 'RegistryError');
        throw err;
      }
      if (version.state === 'rejected') throw ApplicationFailure.nonRetryable(`version ${version.version} was rejected: ${version.reason ?? ''}`, 'VersionRejected');
      heartbeat({ stage: 'deploy', step: 'verify', version: version.version });
      let modelFile: string;
      try {
        modelFile = await deps.store.localPath(version.model);
        await deps.store.verify(version.model);
      } catch (err) {
        // A corrupt artifact will not heal by retrying; a missing one may (mount not ready yet).
        if (err instanceof ArtifactIntegrityError) throw ApplicationFailure.nonRetryable(err.message, err.name);
        if (err instanceof ArtifactMissingError) throw err;
        throw err;
      }
      heartbeat({ stage: 'deploy', step: 'swap', version: version.version });
      return deployModel({ dataDir: deps.dataDir, cameraId: ctx.cameraId, version: version.version, modelFile, sha256: version.model.sha256, registry });
    },

    /** Return the edge to the previously deployed version (manual rollback or a failed post-deploy check). */
    async rollback(ctx: RunContext, reason: string): Promise<DeployResult> {
      try {
        return await rollbackEdge({ dataDir: deps.dataDir, cameraId: ctx.cameraId, registry, reason });
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'RollbackError');
      }
    },
  };
}
