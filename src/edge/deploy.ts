/**
 * Edge side of a deploy: `<dataDir>/edge/<cameraId>/models/<version>.onnx` plus a `current.json`
 * pointer {version, path, sha256} that the edge runtime watches. The pointer is swapped atomically,
 * and only after the new model loaded and produced the expected output on one frame; a model that
 * fails is never pointed at (or the previous pointer is restored) and is marked rolled-back.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { sha256File, writeJsonAtomic } from '../artifacts/store.js';
import { createStudentDetector, sidecarPath } from '../detect/teacher-model.js';
import type { ModelRegistry } from '../registry/registry.js';
import type { DeployResult } from '../pipeline/types.js';

export interface CurrentPointer {
  version: string;
  path: string;
  sha256: string;
  deployedAt?: string;
}

export function edgeDir(dataDir: string, cameraId: string): string {
  return path.join(path.resolve(dataDir), 'edge', cameraId);
}

export function currentPointerPath(dataDir: string, cameraId: string): string {
  return path.join(edgeDir(dataDir, cameraId), 'current.json');
}

export async function readCurrent(dataDir: string, cameraId: string): Promise<CurrentPointer | null> {
  try {
    const p = JSON.parse(await readFile(currentPointerPath(dataDir, cameraId), 'utf8')) as CurrentPointer;
    return typeof p.version === 'string' && typeof p.path === 'string' ? p : null;
  } catch {
    return null;
  }
}

/** Copy through a temp file in the target directory so readers never see a half-written model. */
async function copyAtomic(src: string, dest: string): Promise<void> {
  const tmp = `${dest}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await copyFile(src, tmp);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true }); // a full disk must not leave half a model behind
    throw err;
  }
}

/** Model files kept on the host: the current one, the rollback target, and the newest few. */
const KEEP_MODELS = 3;

/**
 * After a deploy, remove model files this camera will not go back to, so months of retraining do
 * not fill a small edge disk. Best effort: a failure here must not fail a deploy that succeeded.
 */
async function pruneModels(modelsDir: string, keep: ReadonlySet<string>): Promise<void> {
  const names = await readdir(modelsDir).catch(() => [] as string[]);
  const num = (n: string): number => Number(/^v(\d+)\.onnx$/.exec(n)?.[1] ?? -1);
  const newest = names.filter((n) => num(n) >= 0).sort((a, b) => num(b) - num(a)).slice(0, KEEP_MODELS);
  const hourAgo = Date.now() - 3600_000;
  for (const n of names) {
    const file = path.join(modelsDir, n);
    const version = /^(.+)\.onnx(\.json)?$/.exec(n)?.[1];
    // a .tmp is a copy that died half-way (an old one: a deploy running now may own a fresh one)
    const stale = n.endsWith('.tmp') ? (await stat(file).then((st) => st.mtimeMs < hourAgo, () => false)) : version !== undefined && !keep.has(version) && !newest.includes(`${version}.onnx`);
    if (stale) await rm(file, { force: true }).catch(() => undefined);
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export class DeployChecksumError extends Error {
  override name = 'DeployChecksumError';
}

export interface DeployOptions {
  dataDir: string;
  cameraId: string;
  version: string;
  /** local path of the model to deploy (from the artifact store) */
  modelFile: string;
  /** expected sha256 of the model */
  sha256: string;
  registry: ModelRegistry;
  /** replaces the default one-frame onnxruntime check (tests) */
  check?: (modelPath: string) => Promise<void>;
  threads?: number;
}

/** Load the model as the edge runtime will; loading runs it on a blank frame and checks its outputs. */
async function healthCheck(modelPath: string, threads: number): Promise<void> {
  const detector = await createStudentDetector(modelPath, { threads });
  await detector.close();
}

/** Deploy one version on this edge host. Retrying the same version once it is current is a no-op. */
export async function deployModel(opts: DeployOptions): Promise<DeployResult> {
  const { dataDir, cameraId, version, registry } = opts;
  const dir = edgeDir(dataDir, cameraId);
  const modelsDir = path.join(dir, 'models');
  const dest = path.join(modelsDir, `${version}.onnx`);
  const previous = await readCurrent(dataDir, cameraId);

  if (previous && previous.version === version && previous.sha256 === opts.sha256 && (await exists(previous.path)) && (await sha256File(previous.path)) === opts.sha256) {
    // A retried activity after the swap: make sure the registry caught up and report success.
    await registry.markDeployed(cameraId, version, 'deployed on edge');
    return { version, state: 'deployed', modelPath: previous.path, previousVersion: (await registry.get(cameraId, version)).lineage.parent, message: `${version} is already deployed` };
  }

  await mkdir(modelsDir, { recursive: true });
  if (!(await exists(dest)) || (await sha256File(dest)) !== opts.sha256) await copyAtomic(opts.modelFile, dest);
  if (await exists(sidecarPath(opts.modelFile))) await copyAtomic(sidecarPath(opts.modelFile), sidecarPath(dest));
  const copied = await sha256File(dest);
  // A checksum mismatch after copying is a transport problem (retryable), not a bad model.
  if (copied !== opts.sha256) throw new DeployChecksumError(`copied model ${dest} has sha256 ${copied.slice(0, 12)}, expected ${opts.sha256.slice(0, 12)}`);

  const check = opts.check ?? ((p: string) => healthCheck(p, opts.threads ?? 1));
  const fail = async (err: unknown, restore: boolean): Promise<DeployResult> => {
    if (restore && previous) await writeJsonAtomic(currentPointerPath(dataDir, cameraId), previous);
    const message = `health check of ${version} failed: ${(err as Error).message}`;
    await registry.setState(cameraId, version, 'rolled-back', message);
    return { version, state: 'rolled-back', modelPath: dest, previousVersion: previous?.version ?? null, message: previous ? `${message}; kept ${previous.version}` : message };
  };

  try {
    await check(dest);
  } catch (err) {
    return fail(err, false);
  }
  const pointer: CurrentPointer = { version, path: dest, sha256: opts.sha256, deployedAt: new Date().toISOString() };
  await writeJsonAtomic(currentPointerPath(dataDir, cameraId), pointer);
  // Post-swap check through the pointer, as the runtime will read it.
  try {
    const now = await readCurrent(dataDir, cameraId);
    if (!now || now.version !== version) throw new Error('current.json did not take the new version');
    if ((await sha256File(now.path)) !== opts.sha256) throw new Error('model behind current.json changed after the swap');
  } catch (err) {
    return fail(err, true);
  }
  const { previous: prevVersion } = await registry.markDeployed(cameraId, version, 'deployed on edge');
  const rollbackTo = await registry.rollbackTarget(cameraId).catch(() => null);
  await pruneModels(modelsDir, new Set([version, previous?.version, prevVersion, rollbackTo?.version].filter((v): v is string => Boolean(v))));
  return { version, state: 'deployed', modelPath: dest, previousVersion: prevVersion ?? previous?.version ?? null, message: `deployed ${version}${prevVersion ? ` (replacing ${prevVersion})` : ''}` };
}

/**
 * Point the edge back at the registry's rollback target (the previously deployed version) and mark
 * the current one rolled-back. The target's model file must still be on this host.
 */
export async function rollbackEdge(opts: { dataDir: string; cameraId: string; registry: ModelRegistry; reason: string }): Promise<DeployResult> {
  const { dataDir, cameraId, registry } = opts;
  const current = await registry.deployed(cameraId);
  const target = await registry.rollbackTarget(cameraId);
  if (!target) throw new Error(`camera ${cameraId} has no previously deployed version to roll back to`);
  const file = path.join(edgeDir(dataDir, cameraId), 'models', `${target.version}.onnx`);
  if (!(await exists(file)) || (await sha256File(file)) !== target.model.sha256) {
    throw new Error(`model file of ${target.version} is missing or changed at ${file}; redeploy it instead`);
  }
  await writeJsonAtomic(currentPointerPath(dataDir, cameraId), { version: target.version, path: file, sha256: target.model.sha256, deployedAt: new Date().toISOString() } satisfies CurrentPointer);
  await registry.rollbackTo(cameraId, target.version, opts.reason);
  return { version: target.version, state: 'deployed', modelPath: file, previousVersion: current?.version ?? null, message: `rolled back ${current?.version ?? '(none)'} → ${target.version}: ${opts.reason}` };
}
