import { cameraSchema, type CameraConfig } from '../config/schema.js';

/** What a tuneCamera input may override in the camera's config (one level deep per section). */
export type CameraOverrides = {
  [K in 'source' | 'classes']?: CameraConfig[K];
} & {
  [K in 'capture' | 'sample' | 'teacher' | 'student' | 'gate']?: Partial<CameraConfig[K]>;
};

export const OVERRIDABLE_KEYS = ['source', 'classes', 'capture', 'sample', 'teacher', 'student', 'gate'] as const;

/**
 * Apply a run's overrides to the camera config (sections merge one level deep) and re-validate:
 * the resolveCamera activity does (with the worker's config), and `tune --set` before it starts a run.
 */
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
