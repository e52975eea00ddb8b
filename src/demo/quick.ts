import type { CameraOverrides } from '../pipeline/overrides.js';

/**
 * A reduced run for CI and first contact: a 60 s window, fewer frames, few epochs, a small
 * student. Finishes in a few minutes on 2 CPU cores.
 */
export const QUICK_OVERRIDES: CameraOverrides = {
  capture: { seconds: 60 },
  sample: { budget: 96, blockSeconds: 6 },
  teacher: { crops: true },
  student: { epochs: 8, imgsz: 256, batch: 8 },
};
