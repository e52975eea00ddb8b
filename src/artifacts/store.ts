import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat, open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactKind, ArtifactRef } from './ref.js';

/**
 * Where artifacts live. The directory store is the default (shared between hosts by a mount);
 * an object store can implement the same interface later.
 */
export interface ArtifactStore {
  putFile(file: string, kind: ArtifactKind, opts?: PutOptions): Promise<ArtifactRef>;
  putDir(dir: string, kind: ArtifactKind, opts?: PutDirOptions): Promise<ArtifactRef>;
  putJson(value: unknown, kind?: ArtifactKind): Promise<ArtifactRef>;
  /** A local path holding the artifact's bytes (a file or a directory). */
  localPath(ref: ArtifactRef): Promise<string>;
  readJson<T>(ref: ArtifactRef): Promise<T>;
  /** Re-hash the stored bytes; throws ArtifactIntegrityError on mismatch. */
  verify(ref: ArtifactRef): Promise<void>;
}

export interface PutOptions {
  /**
   * The caller gives the file or directory up: it is renamed into the store instead of copied when
   * both are on one filesystem (a run's scratch under the data directory), and may be gone after.
   */
  move?: boolean;
}

/**
 * When a path last changed: for a directory, its own entries or those of the directories right
 * under it (a sample step's scratch gets its JPEGs in images/, so its own mtime stays that of its
 * start). Infinity when it cannot be read: nothing is removed on a doubt.
 */
/** The newest mtime of `p` and, for a directory, of its entries (Infinity when `p` is gone). */
export async function newestChange(p: string): Promise<number> {
  const st = await stat(p).catch(() => null);
  if (!st) return Infinity;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of await readdir(p).catch(() => [] as string[])) {
    const c = await stat(path.join(p, name)).catch(() => null);
    if (c) newest = Math.max(newest, c.mtimeMs);
  }
  return newest;
}

/** Whether a process with this pid runs on this host (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Rename, or copy across filesystems; says which ('renamed': the same inode, so what was flushed stays flushed). */
async function moveOrCopy(from: string, to: string): Promise<'renamed' | 'copied'> {
  try {
    await rename(from, to);
    return 'renamed';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await cp(from, to, { recursive: true });
    return 'copied';
  }
}

export interface PutDirOptions extends PutOptions {
  /**
   * Digests of files under the directory (by relative path, '/'-separated) that the caller has
   * just written from memory: taken as given where the file has that size, instead of reading
   * the files back (the sampler's JPEGs: the read-back was a serial tail of every sample step).
   */
  known?: ReadonlyMap<string, KnownDigest>;
}

export class ArtifactIntegrityError extends Error {
  override name = 'ArtifactIntegrityError';
}
export class ArtifactMissingError extends Error {
  override name = 'ArtifactMissingError';
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  // 1 MB reads: a clip or a model hashes in a fraction of the default 64 KB reads' round trips (8 MB: ~12 ms against ~20)
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file under `dir` with its size, by sorted relative path ('/'-separated). */
async function listFiles(dir: string, prefix = ''): Promise<Array<{ rel: string; size: number }>> {
  // All entries at once: one by one, each stat waits for a thread-pool round trip (a frames tree of
  // ~110 files: ~15 ms, most of what storing it cost).
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const found = await Promise.all(
    entries.map(async (entry): Promise<Array<{ rel: string; size: number }>> => {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) return listFiles(dir, rel);
      if (entry.isFile()) return [{ rel, size: (await stat(path.join(dir, rel))).size }];
      return [];
    }),
  );
  return found.flat().sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** A file's digest, given by the code that just wrote its bytes (so they need not be read back). */
export interface KnownDigest {
  sha256: string;
  bytes: number;
}

/**
 * Hash of a directory: sha256 over its sorted `sha256  relpath` lines (like `sha256sum`), and its
 * shape (every relpath and size: a cheap check that a stored tree is whole). `known` digests are
 * taken as given where the file still has that size; everything else is read and hashed.
 */
export async function hashDir(dir: string, known?: ReadonlyMap<string, KnownDigest>): Promise<{ sha256: string; bytes: number; shape: string }> {
  const files = await listFiles(dir);
  const lines = new Array<string>(files.length);
  let bytes = 0;
  // A few files at a time: a frames tree is a hundred ~100 KB JPEGs, and one by one the hashing
  // waited on each read in turn.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const { rel, size } = files[i]!;
      const given = known?.get(rel);
      const full = path.join(dir, rel);
      const digest =
        given && given.bytes === size ? given.sha256 : size <= 8 << 20 ? createHash('sha256').update(await readFile(full)).digest('hex') : await sha256File(full);
      lines[i] = `${digest}  ${rel}`;
      bytes += size;
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
  return { sha256: createHash('sha256').update(lines.join('\n')).digest('hex'), bytes, shape: shapeOf(files) };
}

function shapeOf(files: ReadonlyArray<{ rel: string; size: number }>): string {
  return files.map((f) => `${f.rel}\t${f.size}`).join('\n');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Write a file atomically: temp file in the same directory, fsync, rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await syncPath(path.dirname(file));
  } catch (err) {
    // no half-written temp file left behind (a full disk would keep it full), and the error names the file
    await rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(file, err);
  }
}

/** A failed write as an error that names the file and, for a full disk, what to do; keeps `code`. */
export function writeError(file: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (e?.message?.includes(file)) return e;
  const hint = e?.code === 'ENOSPC' ? ' (the disk is full: free space there)' : '';
  const out = new Error(`cannot write ${file}: ${e?.message ?? String(err)}${hint}`, { cause: err }) as NodeJS.ErrnoException;
  if (e?.code) out.code = e.code;
  return out;
}

/** Flush a file (or a directory's entries) to disk: a rename alone survives a crash, not a power loss. */
async function syncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Relative path and size of every file under `dir`, sorted: a cheap check that a stored tree is whole. */
async function treeShape(dir: string): Promise<string> {
  return shapeOf(await listFiles(dir));
}

/**
 * Content-addressed directory store: `<root>/objects/<sha[0:2]>/<sha><ext>` for files and
 * `<root>/trees/<sha>/` for directories. Writing the same bytes twice is a no-op, so a retried
 * activity that re-stores its output returns the same ref.
 */
export class DirectoryArtifactStore implements ArtifactStore {
  readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Scratch space on the same filesystem, so moves into the store are atomic renames. */
  async tempDir(label: string): Promise<string> {
    const dir = path.join(this.root, 'tmp', `${label}-${process.pid}-${randomUUID().slice(0, 8)}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Remove what crashed runs left behind: scratch directories (`tmp/<label>-<pid>-<id>`) and
   * half-stored objects and trees (`*.tmp`, `*.damaged`). A crash in a sample step leaves a frames
   * directory of a few MB; on an edge disk they would pile up with every crash. Only what is older
   * than `maxAgeMs` (default an hour) goes, and never the scratch of a process alive on this host:
   * a store shared through a mount may be written by other hosts right now. Returns the removed paths.
   */
  async sweepLeftovers(opts: { maxAgeMs?: number; now?: number } = {}): Promise<string[]> {
    const cutoff = (opts.now ?? Date.now()) - (opts.maxAgeMs ?? 3_600_000);
    const removed: string[] = [];
    const sweep = async (dir: string, isLeftover: (name: string) => boolean): Promise<void> => {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        if (!isLeftover(name)) continue;
        const p = path.join(dir, name);
        if ((await newestChange(p)) > cutoff) continue;
        await rm(p, { recursive: true, force: true });
        removed.push(p);
      }
    };
    const halfStored = (name: string): boolean => name.endsWith('.tmp') || name.endsWith('.damaged');
    await sweep(path.join(this.root, 'tmp'), (name) => {
      const pid = Number(/-(\d+)-[0-9a-f]{8}$/.exec(name)?.[1] ?? NaN);
      return !(Number.isInteger(pid) && processAlive(pid));
    });
    await sweep(path.join(this.root, 'trees'), halfStored);
    for (const shard of await readdir(path.join(this.root, 'objects')).catch(() => [] as string[])) {
      await sweep(path.join(this.root, 'objects', shard), halfStored);
    }
    return removed;
  }

  async putFile(file: string, kind: ArtifactKind, opts: PutOptions = {}): Promise<ArtifactRef> {
    // A moved file becomes the object itself: it is flushed while it is hashed, not after (on an
    // SD card flushing a clip takes longer than hashing it; here it takes ~6 of the ~17 ms).
    // Never rejects: a failed early flush means flushing the object below, as before.
    const flushed = opts.move ? syncPath(file).then(() => true, () => false) : Promise.resolve(false);
    let sha256: string;
    try {
      sha256 = await sha256File(file);
    } finally {
      await flushed;
    }
    const { size } = await stat(file);
    const dest = path.join(this.root, 'objects', sha256.slice(0, 2), sha256 + path.extname(file));
    // Stored already, whole? (A truncated object, from a power loss or a hand, is replaced, not served.)
    const stored = await stat(dest).then((st) => st.size, () => -1);
    if (stored !== size) {
      await mkdir(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.${randomUUID().slice(0, 8)}.tmp`;
      try {
        const how = opts.move ? await moveOrCopy(file, tmp) : (await cp(file, tmp), 'copied');
        // on disk before it gets its valid name (edge boxes lose power), and the name after
        if (!(how === 'renamed' && (await flushed))) await syncPath(tmp);
        await rename(tmp, dest);
        await syncPath(path.dirname(dest));
      } catch (err) {
        // a moved file goes back where the caller had it: nothing is lost by a failed store
        if (opts.move && !(await exists(file))) await rename(tmp, file).catch(() => undefined);
        await rm(tmp, { force: true }).catch(() => undefined);
        throw writeError(dest, err);
      }
    }
    return { uri: pathToFileURL(dest).href, sha256, bytes: size, kind };
  }

  async putDir(dir: string, kind: ArtifactKind, opts: PutDirOptions = {}): Promise<ArtifactRef> {
    const { sha256, bytes, shape: want } = await hashDir(dir, opts.known);
    const dest = path.join(this.root, 'trees', sha256);
    const whole = (await exists(dest)) && (await treeShape(dest)) === want;
    if (!whole) {
      const tmp = path.join(this.root, 'trees', `.${sha256}.${randomUUID().slice(0, 8)}.tmp`);
      try {
        await mkdir(path.dirname(tmp), { recursive: true });
        if (opts.move) await moveOrCopy(dir, tmp);
        else await cp(dir, tmp, { recursive: true });
      } catch (err) {
        await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        throw writeError(dest, err);
      }
      // A damaged copy (a file missing or cut short) is moved aside and replaced.
      const aside = `${tmp}.damaged`;
      if (await exists(dest)) await rename(dest, aside).catch(() => undefined);
      try {
        // Trees (sampled frames, datasets: a hundred files or more) are not flushed file by file: on an
        // SD card that costs seconds per run, they can be made again from the stored clip, and a
        // tree cut short by a power loss is replaced the next time its content is stored.
        await rename(tmp, dest);
      } catch (err) {
        // Another writer stored the same tree first: identical content, keep theirs.
        if (await exists(dest)) await rm(tmp, { recursive: true, force: true });
        else {
          // a moved tree goes back where the caller had it
          if (opts.move && !(await exists(dir))) await rename(tmp, dir).catch(() => undefined);
          await rm(tmp, { recursive: true, force: true });
          throw err;
        }
      } finally {
        await rm(aside, { recursive: true, force: true });
      }
    }
    return { uri: pathToFileURL(dest).href, sha256, bytes, kind };
  }

  async putJson(value: unknown, kind: ArtifactKind = 'json'): Promise<ArtifactRef> {
    const text = JSON.stringify(value, null, 2);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const dest = path.join(this.root, 'objects', sha256.slice(0, 2), `${sha256}.json`);
    if (!(await exists(dest))) await writeFileAtomic(dest, text);
    return { uri: pathToFileURL(dest).href, sha256, bytes: Buffer.byteLength(text), kind };
  }

  async localPath(ref: ArtifactRef): Promise<string> {
    if (!ref.uri.startsWith('file://')) {
      throw new ArtifactMissingError(`artifact ${ref.uri} is not in a directory store; configure a store that can read it`);
    }
    const p = fileURLToPath(ref.uri);
    if (!(await exists(p))) {
      throw new ArtifactMissingError(
        `artifact ${ref.kind} ${ref.sha256.slice(0, 12)} is missing at ${p}: is the artifact directory shared (mounted) on this worker?`,
      );
    }
    return p;
  }

  async readJson<T>(ref: ArtifactRef): Promise<T> {
    return JSON.parse(await readFile(await this.localPath(ref), 'utf8')) as T;
  }

  async verify(ref: ArtifactRef): Promise<void> {
    const p = await this.localPath(ref);
    const isDir = (await stat(p)).isDirectory();
    const actual = isDir ? (await hashDir(p)).sha256 : await sha256File(p);
    if (actual !== ref.sha256) {
      throw new ArtifactIntegrityError(`artifact at ${p} is corrupt: sha256 ${actual.slice(0, 12)} != expected ${ref.sha256.slice(0, 12)}`);
    }
  }
}

/** Write a JSON file atomically (registries, manifests). */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

