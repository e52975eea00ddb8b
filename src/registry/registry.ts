/**
 * Per-camera model registry: `<dataDir>/registry/<cameraId>.json`.
 * Writes are crash-safe (temp + fsync + rename) and serialized between processes on one host by an
 * O_EXCL lock file with stale-lock recovery. The API keeps exactly one `deployed` version per camera.
 */
import { open, readFile, unlink, link, mkdir, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/ref.js';
import { processAlive, writeError, writeJsonAtomic } from '../artifacts/store.js';

export type VersionState = 'candidate' | 'deployed' | 'rejected' | 'rolled-back';

const artifactRefSchema = z.object({ uri: z.string(), sha256: z.string(), bytes: z.number(), kind: z.string() }).passthrough();

const versionSchema = z.object({
  version: z.string().regex(/^v\d+$/),
  state: z.enum(['candidate', 'deployed', 'rejected', 'rolled-back']),
  model: artifactRefSchema,
  lineage: z.object({
    dataset: artifactRefSchema.nullable(),
    teacher: z.string(),
    trainer: z.string(),
    trainerArgs: z.array(z.string()),
    parent: z.string().nullable(),
  }),
  metrics: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  idempotencyKey: z.string().optional(),
  reason: z.string().optional(),
  history: z.array(z.object({ state: z.string(), at: z.string(), reason: z.string().optional() })),
});

const fileSchema = z
  .object({ schema: z.literal(1), cameraId: z.string(), deployed: z.string().nullable(), versions: z.array(versionSchema) })
  .superRefine((f, ctx) => {
    const deployed = f.versions.filter((v) => v.state === 'deployed');
    if (deployed.length > 1) ctx.addIssue({ code: 'custom', message: `more than one deployed version: ${deployed.map((v) => v.version).join(', ')}` });
    if ((deployed[0]?.version ?? null) !== f.deployed) ctx.addIssue({ code: 'custom', message: 'deployed pointer disagrees with version states' });
  });

export interface ModelVersion {
  version: string;
  state: VersionState;
  model: ArtifactRef;
  lineage: {
    dataset: ArtifactRef | null;
    teacher: string;
    trainer: string;
    trainerArgs: string[];
    parent: string | null;
  };
  metrics: Record<string, unknown>;
  createdAt: string;
  /** e.g. the workflow run id: a retried create with the same key returns the same version */
  idempotencyKey?: string;
  /** why the version is in its state (gate reason, health-check error, ...) */
  reason?: string;
  history: { state: string; at: string; reason?: string }[];
}

export interface RegistryFile {
  schema: 1;
  cameraId: string;
  deployed: string | null;
  versions: ModelVersion[];
}

export interface CreateVersionInput {
  model: ArtifactRef;
  dataset: ArtifactRef | null;
  teacher: string;
  trainer: string;
  trainerArgs: string[];
  metrics: Record<string, unknown>;
  state?: 'candidate' | 'rejected';
  reason?: string;
  idempotencyKey?: string;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

export class RegistryLockTimeoutError extends RegistryError {
  override name = 'RegistryLockTimeoutError';
}

const CAMERA_ID = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lock tokens this process holds now (any registry instance). */
const heldLocks = new Set<string>();

export interface RegistryOptions {
  /** give up waiting for the lock after this long */
  lockTimeoutMs?: number;
  /** a lock older than this is stale even if its pid looks alive (pid reuse, other host) */
  staleLockMs?: number;
  now?: () => Date;
}

export class ModelRegistry {
  readonly dir: string;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;
  private readonly now: () => Date;

  constructor(dataDir: string, opts: RegistryOptions = {}) {
    this.dir = path.join(path.resolve(dataDir), 'registry');
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.staleLockMs = opts.staleLockMs ?? 60_000;
    this.now = opts.now ?? (() => new Date());
  }

  file(cameraId: string): string {
    if (!CAMERA_ID.test(cameraId)) throw new RegistryError(`invalid camera id "${cameraId}"`);
    return path.join(this.dir, `${cameraId}.json`);
  }

  /** The registry of one camera (empty when none was written yet). Validates the invariants. */
  async read(cameraId: string): Promise<RegistryFile> {
    const file = this.file(cameraId);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schema: 1, cameraId, deployed: null, versions: [] };
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new RegistryError(`registry ${file} is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) throw new RegistryError(`registry ${file} is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return parsed.data as RegistryFile;
  }

  async list(cameraId: string): Promise<ModelVersion[]> {
    return (await this.read(cameraId)).versions;
  }

  async get(cameraId: string, version: string): Promise<ModelVersion> {
    const v = (await this.read(cameraId)).versions.find((x) => x.version === version);
    if (!v) throw new RegistryError(`camera ${cameraId} has no model version ${version}`);
    return v;
  }

  async deployed(cameraId: string): Promise<ModelVersion | null> {
    const reg = await this.read(cameraId);
    return reg.versions.find((v) => v.version === reg.deployed) ?? null;
  }

  /** Create a new version (v1, v2, ...). With an idempotency key, a retry returns the existing version. */
  async createVersion(cameraId: string, input: CreateVersionInput): Promise<ModelVersion> {
    return this.update(cameraId, (reg) => {
      if (input.idempotencyKey) {
        const existing = reg.versions.find((v) => v.idempotencyKey === input.idempotencyKey);
        if (existing) return existing;
      }
      const next = reg.versions.reduce((m, v) => Math.max(m, Number(v.version.slice(1))), 0) + 1;
      const at = this.now().toISOString();
      const state = input.state ?? 'candidate';
      const v: ModelVersion = {
        version: `v${next}`,
        state,
        model: input.model,
        lineage: { dataset: input.dataset, teacher: input.teacher, trainer: input.trainer, trainerArgs: input.trainerArgs, parent: reg.deployed },
        metrics: input.metrics,
        createdAt: at,
        ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
        ...(input.reason ? { reason: input.reason } : {}),
        history: [{ state, at, ...(input.reason ? { reason: input.reason } : {}) }],
      };
      reg.versions.push(v);
      return v;
    });
  }

  /**
   * Make `version` the deployed one; the previously deployed version goes back to `candidate`
   * (still eligible for a rollback). Deploying the deployed version again is a no-op.
   */
  async markDeployed(cameraId: string, version: string, reason?: string): Promise<{ version: ModelVersion; previous: string | null }> {
    return this.update(cameraId, (reg) => {
      const v = mustFind(reg, version);
      if (reg.deployed === version) return { version: v, previous: v.lineage.parent };
      const previous = reg.deployed;
      if (previous) setState(mustFind(reg, previous), 'candidate', this.now(), `superseded by ${version}`);
      setState(v, 'deployed', this.now(), reason);
      reg.deployed = version;
      return { version: v, previous };
    });
  }

  /** Set a non-deployed state. Rolling back / rejecting the deployed version clears the deployed pointer. */
  async setState(cameraId: string, version: string, state: Exclude<VersionState, 'deployed'>, reason?: string): Promise<ModelVersion> {
    return this.update(cameraId, (reg) => {
      const v = mustFind(reg, version);
      if (v.state !== state) setState(v, state, this.now(), reason);
      if (reg.deployed === version) reg.deployed = null;
      return v;
    });
  }

  /**
   * Atomically mark the deployed version rolled-back and deploy `target` instead (one write, so the
   * file never shows zero or two deployed versions).
   */
  async rollbackTo(cameraId: string, target: string, reason: string): Promise<{ from: string | null; to: string }> {
    return this.update(cameraId, (reg) => {
      const t = mustFind(reg, target);
      const from = reg.deployed;
      if (from === target) return { from, to: target };
      if (from) setState(mustFind(reg, from), 'rolled-back', this.now(), reason);
      setState(t, 'deployed', this.now(), `rollback: ${reason}`);
      reg.deployed = target;
      return { from, to: target };
    });
  }

  /** The version a rollback of the deployed one returns to: the most recently deployed other version still usable. */
  async rollbackTarget(cameraId: string): Promise<ModelVersion | null> {
    const reg = await this.read(cameraId);
    const lastDeployedAt = (v: ModelVersion) => v.history.filter((h) => h.state === 'deployed').map((h) => h.at).sort().at(-1) ?? '';
    return (
      reg.versions
        .filter((v) => v.version !== reg.deployed && v.state === 'candidate' && lastDeployedAt(v))
        .sort((a, b) => lastDeployedAt(b).localeCompare(lastDeployedAt(a)))[0] ?? null
    );
  }

  /** Read-modify-write under the lock; the callback mutates `reg` in place. */
  async update<T>(cameraId: string, fn: (reg: RegistryFile) => T): Promise<T> {
    const file = this.file(cameraId);
    await mkdir(this.dir, { recursive: true });
    const release = await this.lock(file);
    try {
      const reg = await this.read(cameraId);
      const before = JSON.stringify(reg);
      const out = fn(reg);
      const parsed = fileSchema.safeParse(reg);
      if (!parsed.success) throw new RegistryError(`refusing to write an invalid registry: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      if (JSON.stringify(reg) !== before) await writeJsonAtomic(file, reg);
      return out;
    } finally {
      await release();
    }
  }

  private async lock(file: string): Promise<() => Promise<void>> {
    const lockFile = `${file}.lock`;
    // The host: workers in other containers (other pid namespaces) share the registry volume, and a
    // pid means something only on the host that wrote it.
    const token = `${process.pid} ${Date.now()} ${randomUUID()} ${os.hostname()}`;
    // Write the token to a private file and link() it into place: link is atomic and fails with
    // EEXIST (O_EXCL semantics), so a crash can never leave an empty, ownerless lock behind.
    const mine = `${lockFile}.${process.pid}.${randomUUID().slice(0, 8)}`;
    try {
      const fh = await open(mine, 'wx');
      try {
        await fh.writeFile(token);
      } finally {
        await fh.close();
      }
    } catch (err) {
      await unlink(mine).catch(() => undefined);
      throw writeError(mine, err);
    }
    const deadline = Date.now() + this.lockTimeoutMs;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await link(mine, lockFile);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        await this.breakIfStale(lockFile);
        if (Date.now() > deadline) throw new RegistryLockTimeoutError(`timed out waiting for registry lock ${lockFile}`);
        // short, capped waits: a long backoff would make the longest waiter the least likely to get the lock
        await sleep(Math.min(20, 2 + attempt) * (0.5 + Math.random()));
      }
    } finally {
      await unlink(mine).catch(() => undefined);
    }
    heldLocks.add(token);
    return async () => {
      heldLocks.delete(token);
      // Only remove our own lock: a stale-lock recovery may have replaced it.
      const content = await readFile(lockFile, 'utf8').catch(() => '');
      if (content === token) await unlink(lockFile).catch(() => undefined);
    };
  }

  private async breakIfStale(lockFile: string): Promise<void> {
    const content = await readFile(lockFile, 'utf8').catch(() => null);
    if (content === null || !this.isStale(content)) return;
    // Breaking is itself done under a lock (`.break`), so two processes can never both judge the
    // same stale lock and then remove each other's fresh one (moving it aside and putting back a
    // lock that was not ours lost a third writer's lock, and two writers held it at once). Under
    // the breaker lock nobody else removes the lock file: its holder is dead and other breakers wait.
    const breaker = `${lockFile}.break`;
    const token = `${process.pid} ${Date.now()} ${randomUUID()} ${os.hostname()}`;
    const mine = `${breaker}.${process.pid}.${randomUUID().slice(0, 8)}`;
    try {
      await writeFile(mine, token, { flag: 'wx' });
      await link(mine, breaker);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') await this.breakStaleBreaker(breaker);
      return; // someone else is breaking it (or we could not write): look again on the next attempt
    } finally {
      await unlink(mine).catch(() => undefined);
    }
    try {
      if ((await readFile(lockFile, 'utf8').catch(() => null)) === content) await unlink(lockFile).catch(() => undefined);
    } finally {
      if ((await readFile(breaker, 'utf8').catch(() => '')) === token) await unlink(breaker).catch(() => undefined);
    }
  }

  /** A lock whose holder is gone (dead pid here, or our own pid that we do not hold) or that is too old. */
  private isStale(content: string): boolean {
    const [pidText, tsText, , host] = content.split(' ');
    const pid = Number(pidText);
    const ts = Number(tsText);
    // The pid is checked only where it was written (locks from before the host was recorded count as
    // ours). A lock with our own pid that we do not hold is a dead predecessor's: a restarted
    // container often gets the same pid.
    const here = !host || host === os.hostname();
    const deadHolder = here && (!Number.isFinite(pid) || !processAlive(pid) || (pid === process.pid && !heldLocks.has(content)));
    return deadHolder || !Number.isFinite(ts) || Date.now() - ts > this.staleLockMs;
  }

  /**
   * A breaker holds `.break` for milliseconds; one that crashed in between leaves it behind. Such a
   * leftover (dead holder, or older than a few seconds) is removed so breaking can go on.
   */
  private async breakStaleBreaker(breaker: string): Promise<void> {
    const content = await readFile(breaker, 'utf8').catch(() => null);
    if (content === null) return;
    const [pidText, tsText, , host] = content.split(' ');
    const pid = Number(pidText);
    const here = !host || host === os.hostname();
    const dead = here && (!Number.isFinite(pid) || !processAlive(pid));
    if (dead || !(Date.now() - Number(tsText) < BREAKER_STALE_MS)) {
      if ((await readFile(breaker, 'utf8').catch(() => null)) === content) await unlink(breaker).catch(() => undefined);
    }
  }
}

/** `.break` older than this belongs to a breaker that died or hung (breaking takes milliseconds). */
const BREAKER_STALE_MS = 5_000;

function mustFind(reg: RegistryFile, version: string): ModelVersion {
  const v = reg.versions.find((x) => x.version === version);
  if (!v) throw new RegistryError(`camera ${reg.cameraId} has no model version ${version}`);
  return v;
}

function setState(v: ModelVersion, state: VersionState, at: Date, reason?: string): void {
  v.state = state;
  if (reason) v.reason = reason;
  v.history.push({ state, at: at.toISOString(), ...(reason ? { reason } : {}) });
}
