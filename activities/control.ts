import { ApplicationFailure } from '@temporalio/activity';
import type { CameraConfig } from '../src/config/schema.js';
import { findCamera, loadConfig } from '../src/config/load.js';
import { applyOverrides, type CameraOverrides } from '../src/pipeline/overrides.js';

// (the tests and older imports find it here too)
export { applyOverrides };
import { markVersionRejected } from '../src/registry/reject.js';
import type { ActivityDeps } from '../src/worker/deps.js';
import { redactCameraForHistory } from '../src/pipeline/source-secrets.js';

export function makeControlActivities(deps: ActivityDeps) {
  return {
    /**
     * Freeze the camera's config for this run; re-reads the file so schedules see the latest config.
     * Stream credentials are redacted: the capturing edge worker restores them from its own config.
     */
    async resolveCamera(cameraId: string, overrides: CameraOverrides): Promise<CameraConfig> {
      try {
        const config = deps.configPath ? (await loadConfig(deps.configPath, { create: false })).config : deps.config;
        return redactCameraForHistory(applyOverrides(findCamera(config, cameraId), overrides));
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'ConfigError');
      }
    },
    async markRejected(cameraId: string, version: string, reason: string): Promise<void> {
      await markVersionRejected(deps, cameraId, version, reason);
    },
  };
}
