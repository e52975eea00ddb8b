import type { CameraConfig } from '../config/schema.js';

/** What a tuneCamera input may override in the camera's config (one level deep per section). */
export type CameraOverrides = {
  [K in 'source' | 'classes']?: CameraConfig[K];
} & {
  [K in 'capture' | 'sample' | 'teacher' | 'student' | 'gate']?: Partial<CameraConfig[K]>;
};

export const OVERRIDABLE_KEYS = ['source', 'classes', 'capture', 'sample', 'teacher', 'student', 'gate'] as const;
