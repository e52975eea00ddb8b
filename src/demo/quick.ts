import type { CameraOverrides } from '../pipeline/overrides.js';

/**
 * A reduced run for CI and first contact: a 40 s window, fewer frames, few epochs, a small
 * student. Finishes in a few minutes on 2 CPU cores.
 */
export const QUICK_OVERRIDES: CameraOverrides = {
  capture: { seconds: 40 },
  sample: { budget: 48, blockSeconds: 5 },
  teacher: { crops: false },
  student: { epochs: 4, imgsz: 256, batch: 8 },
};
