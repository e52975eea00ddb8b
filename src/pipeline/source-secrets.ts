import type { AutotunerConfig, CameraConfig } from '../config/schema.js';
import { findCamera, loadConfig } from '../config/load.js';
import { redactUrl } from '../video/redact.js';

/**
 * Camera URLs may carry credentials (rtsp://user:pass@…). The camera config frozen into workflow
 * history keeps only the redacted form; the edge worker that captures puts the secret back from its
 * own config file, so credentials never reach Temporal's history or the Web UI.
 */
export function redactCameraForHistory(camera: CameraConfig): CameraConfig {
  return { ...camera, source: redactUrl(camera.source) };
}

export class SourceSecretError extends Error {
  override name = 'SourceSecretError';
}

export async function restoreCameraSource(
  camera: CameraConfig,
  local: { config: AutotunerConfig; configPath?: string },
): Promise<CameraConfig> {
  if (redactUrl(camera.source) !== camera.source) return camera; // nothing was redacted
  const config = local.configPath ? (await loadConfig(local.configPath, { create: false })).config : local.config;
  let mine: CameraConfig;
  try {
    mine = findCamera(config, camera.id);
  } catch {
    throw new SourceSecretError(`camera "${camera.id}" is not in this worker's config, so its stream credentials are unknown here: add it to the edge worker's config`);
  }
  if (redactUrl(mine.source) !== camera.source) {
    throw new SourceSecretError(
      `the source of camera "${camera.id}" in this run (${camera.source}) differs from this worker's config (${redactUrl(mine.source)}): keep the configs of the gpu and edge workers in step`,
    );
  }
  return { ...camera, source: mine.source };
}
