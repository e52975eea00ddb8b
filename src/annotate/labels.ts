import type { Detection } from '../detect/types.js';

export interface LabelPolicy {
  /** camera.classes: the student's classes, by teacher class name */
  classes: readonly string[];
  minScore: number;
  classScores: Readonly<Record<string, number>>;
}

export class ClassMappingError extends Error {
  override name = 'ClassMappingError';
}

/** teacher class index → camera class index (-1 = not wanted). Unknown names are a config error. */
export function classMap(teacherClasses: readonly string[], policy: Pick<LabelPolicy, 'classes'>): Int32Array {
  const map = new Int32Array(teacherClasses.length).fill(-1);
  const missing: string[] = [];
  policy.classes.forEach((name, i) => {
    const t = teacherClasses.indexOf(name);
    if (t < 0) missing.push(name);
    else map[t] = i;
  });
  if (missing.length) {
    throw new ClassMappingError(
      `camera class(es) ${missing.map((m) => `"${m}"`).join(', ')} are not classes of the teacher (it knows ${teacherClasses.slice(0, 12).join(', ')}${teacherClasses.length > 12 ? ', …' : ''}); fix camera.classes`,
    );
  }
  return map;
}

/** Keep only allowed classes, renumbered to camera classes. */
export function mapClasses(dets: readonly Detection[], map: Int32Array): Detection[] {
  const out: Detection[] = [];
  for (const d of dets) {
    const c = map[d.cls] ?? -1;
    if (c >= 0) out.push({ cls: c, score: d.score, box: d.box });
  }
  return out;
}

/** Per camera class threshold: classScores by name, else minScore. */
export function thresholds(policy: LabelPolicy): number[] {
  return policy.classes.map((n) => policy.classScores[n] ?? policy.minScore);
}

export function applyThresholds(dets: readonly Detection[], th: readonly number[]): Detection[] {
  return dets.filter((d) => d.score >= (th[d.cls] ?? 1));
}
