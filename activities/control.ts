import { ApplicationFailure } from '@temporalio/activity';
import { cameraSchema, type CameraConfig } from '../src/config/schema.js';
import { findCamera, loadConfig } from '../src/config/load.js';
import { OVERRIDABLE_KEYS, type CameraOverrides } from '../src/pipeline/overrides.js';
import { markVersionRejected } from '../src/registry/reject.js';
import type { ActivityDeps } from '../src/worker/deps.js';
import { redactCameraForHistory } from '../src/pipeline/source-secrets.js';

/** Apply a run's overrides to the camera config (sections merge one level deep) and re-validate. */
export function applyOverrides(camera: CameraConfig, overrides: CameraOverrides): CameraConfig {
  const unknown = Object.keys(overrides ?? {}).filter((k) => !(OVERRIDABLE_KEYS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new Error(`unknown override(s) ${unknown.join(', ')}: tuneCamera accepts cameraId plus ${OVERRIDABLE_KEYS.join(', ')}`);
  }
  const merged: Record<string, unknown> = { ...camera };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    const base = merged[k];
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && base && typeof base === 'object' ? { ...base, ...v } : v;
  }
  const parsed = cameraSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid overrides for camera ${camera.id}: ${issues}`);
  }
  return parsed.data;
}

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
