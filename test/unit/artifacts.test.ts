import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactIntegrityError, DirectoryArtifactStore, writeFileAtomic } from '../../src/artifacts/store.js';
import { sweepCaptureDirs } from '../../src/video/capture-step.js';

async function fixture() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'store-'));
  return { dir, store: new DirectoryArtifactStore(path.join(dir, 'store')) };
}

test('the same bytes give the same ref; a re-put is a no-op', async () => {
  const { dir, store } = await fixture();
  const a = path.join(dir, 'a.onnx');
  await writeFile(a, 'model-bytes');
  const r1 = await store.putFile(a, 'model');
  const r2 = await store.putFile(a, 'model');
  assert.deepEqual(r1, r2);
  assert.equal(r1.bytes, 11);
  assert.match(r1.sha256, /^[0-9a-f]{64}$/);
  assert.equal(await readFile(fileURLToPath(r1.uri), 'utf8'), 'model-bytes');
  await writeFile(a, 'other');
  const r3 = await store.putFile(a, 'model');
  assert.notEqual(r3.sha256, r1.sha256);
  assert.equal(await readFile(fileURLToPath(r1.uri), 'utf8'), 'model-bytes', 'older artifact untouched');
});

test('directories are addressed by content, not by where they came from', async () => {
  const { dir, store } = await fixture();
  for (const name of ['d1', 'd2']) {
    await mkdir(path.join(dir, name, 'images'), { recursive: true });
    await writeFile(path.join(dir, name, 'images', 'f1.jpg'), 'jpg1');
    await writeFile(path.join(dir, name, 'dataset.json'), '{}');
  }
  const r1 = await store.putDir(path.join(dir, 'd1'), 'dataset');
  const r2 = await store.putDir(path.join(dir, 'd2'), 'dataset');
  assert.equal(r1.uri, r2.uri);
  assert.equal(r1.bytes, 6);
  await store.verify(r1);
});

test('putDir takes the digests its caller wrote from memory (no read-back), and only where the size still matches', async () => {
  const { dir, store } = await fixture();
  const tree = path.join(dir, 't');
  await mkdir(path.join(tree, 'images'), { recursive: true });
  await writeFile(path.join(tree, 'images', 'f1.jpg'), 'jpg-bytes');
  await writeFile(path.join(tree, 'manifest.json'), '{}');
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
  const plain = await store.putDir(tree, 'frames');
  // the right digest: the same tree as when every file is read
  const right = await store.putDir(tree, 'frames', { known: new Map([['images/f1.jpg', { sha256: sha('jpg-bytes'), bytes: 9 }]]) });
  assert.deepEqual(right, plain);
  await store.verify(right);
  // a digest given for a file of another size is not trusted: the file is read
  const stale = await store.putDir(tree, 'frames', { known: new Map([['images/f1.jpg', { sha256: sha('other'), bytes: 5 }]]) });
  assert.deepEqual(stale, plain);
  // a digest of the right size is taken as given (the file is not read back): a different tree hash
  const taken = await store.putDir(tree, 'frames', { known: new Map([['images/f1.jpg', { sha256: sha('JPG-BYTES'), bytes: 9 }]]) });
  assert.notEqual(taken.sha256, plain.sha256);
});

test('verify detects corruption and names the path', async () => {
  const { dir, store } = await fixture();
  const a = path.join(dir, 'a.bin');
  await writeFile(a, 'abc');
  const ref = await store.putFile(a, 'other');
  await appendFile(fileURLToPath(ref.uri), 'x');
  await assert.rejects(store.verify(ref), (e: Error) => e instanceof ArtifactIntegrityError && e.message.includes(fileURLToPath(ref.uri)));
});

test('json artifacts round-trip and a missing artifact says where it looked', async () => {
  const { store } = await fixture();
  const ref = await store.putJson({ a: 1 });
  assert.deepEqual(await store.readJson(ref), { a: 1 });
  await assert.rejects(store.localPath({ ...ref, uri: 'file:///nope/x.json' }), /missing at \/nope\/x.json.*shared/);
});

test('a damaged stored object or tree is repaired by storing the same content again, not served as it is', async () => {
  const { dir, store } = await fixture();
  const f = path.join(dir, 'model.onnx');
  await writeFile(f, Buffer.alloc(10_000, 7));
  const ref = await store.putFile(f, 'model');
  const stored = fileURLToPath(ref.uri);
  await truncate(stored, 100); // a power loss or a stray hand
  assert.deepEqual(await store.putFile(f, 'model'), ref);
  assert.equal((await stat(stored)).size, 10_000);
  await store.verify(ref);

  const tree = path.join(dir, 'tree');
  await mkdir(path.join(tree, 'images'), { recursive: true });
  await writeFile(path.join(tree, 'images', 'a.jpg'), 'aaaa');
  await writeFile(path.join(tree, 'manifest.json'), '{}');
  const tref = await store.putDir(tree, 'frames');
  await rm(path.join(fileURLToPath(tref.uri), 'images', 'a.jpg'));
  assert.deepEqual(await store.putDir(tree, 'frames'), tref);
  assert.equal(await readFile(path.join(fileURLToPath(tref.uri), 'images', 'a.jpg'), 'utf8'), 'aaaa');
  await store.verify(tref);
  assert.deepEqual((await readdir(path.join(dir, 'store', 'trees'))).filter((n) => n.startsWith('.')), [], 'no temp or damaged copies left');
});

test('a failed atomic write names the file and leaves no temp file', async () => {
  const { dir } = await fixture();
  const blocker = path.join(dir, 'not-a-dir');
  await writeFile(blocker, 'x');
  await assert.rejects(writeFileAtomic(path.join(blocker, 'state.json'), '{}'), (e: NodeJS.ErrnoException) => e.message.startsWith(`cannot write ${path.join(blocker, 'state.json')}: `) && e.code === 'EEXIST');
  assert.deepEqual(await readdir(dir), ['not-a-dir']);
});

test('move: a given-up file or tree is renamed into the store (same ref as a copy); a failed store gives it back', async () => {
  const { dir, store } = await fixture();
  const a = path.join(dir, 'clip.mkv');
  await writeFile(a, 'clip-bytes');
  const copied = await store.putFile(a, 'other');
  await rm(fileURLToPath(copied.uri));
  const moved = await store.putFile(a, 'other', { move: true });
  assert.deepEqual(moved, copied);
  assert.equal(await readFile(fileURLToPath(moved.uri), 'utf8'), 'clip-bytes');
  await assert.rejects(stat(a), /ENOENT/, 'renamed, not copied');

  const tree = path.join(dir, 'frames');
  await mkdir(path.join(tree, 'images'), { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(path.join(tree, 'images', `f${i}.jpg`), `jpeg ${i}`);
  await writeFile(path.join(tree, 'manifest.json'), '{}');
  const treeCopy = await store.putDir(tree, 'frames');
  await rm(fileURLToPath(treeCopy.uri), { recursive: true });
  const treeMoved = await store.putDir(tree, 'frames', { move: true });
  assert.deepEqual(treeMoved, treeCopy);
  assert.equal((await readdir(path.join(fileURLToPath(treeMoved.uri), 'images'))).length, 20);
  await assert.rejects(stat(tree), /ENOENT/);

  // the store cannot take it (its place is blocked by a directory): the file is back where it was
  const b = path.join(dir, 'b.mkv');
  await writeFile(b, 'other-clip');
  const probe = await store.putFile(b, 'other');
  await rm(fileURLToPath(probe.uri));
  await mkdir(path.join(fileURLToPath(probe.uri), 'blocker'), { recursive: true });
  await assert.rejects(store.putFile(b, 'other', { move: true }), (err: Error) => err.message.includes(fileURLToPath(probe.uri)));
  assert.equal(await readFile(b, 'utf8'), 'other-clip', 'nothing lost');
  assert.deepEqual((await readdir(path.dirname(fileURLToPath(probe.uri)))).filter((f) => f.endsWith('.tmp')), []);
});

test('sweepLeftovers removes what crashed runs left (old scratch of dead processes, half-stored objects and trees) and nothing else', async () => {
  const { dir, store } = await fixture();
  const root = store.root;
  await writeFile(path.join(dir, 'kept.bin'), 'stored bytes');
  const kept = await store.putFile(path.join(dir, 'kept.bin'), 'other');
  const keptTree = path.join(dir, 'sweep-tree');
  await mkdir(keptTree, { recursive: true });
  await writeFile(path.join(keptTree, 'a.txt'), 'a');
  const treeRef = await store.putDir(keptTree, 'frames');
  // a pid no process has here (the highest possible pid is far below this)
  const deadPid = 2 ** 22 + 12345;
  const old = new Date(Date.now() - 2 * 3_600_000);
  const deadScratch = path.join(root, 'tmp', `sample-cam-${deadPid}-0a1b2c3d`);
  const liveScratch = path.join(root, 'tmp', `sample-cam-${process.pid}-0a1b2c3d`);
  const freshDeadScratch = path.join(root, 'tmp', `sample-cam-${deadPid}-ffffffff`);
  const halfObject = path.join(root, 'objects', 'ab', 'abcdef.mkv.12345678.tmp');
  const halfTree = path.join(root, 'trees', '.abcdef.12345678.tmp');
  const damagedTree = path.join(root, 'trees', '.abcdef.12345678.tmp.damaged');
  for (const d of [deadScratch, liveScratch, freshDeadScratch, halfTree, damagedTree]) {
    await mkdir(path.join(d, 'images'), { recursive: true });
    await writeFile(path.join(d, 'images', 'f1.jpg'), 'x');
  }
  await mkdir(path.dirname(halfObject), { recursive: true });
  await writeFile(halfObject, 'half');
  // a scratch whose own entries are old but whose images/ got a frame just now: a long step still writing
  const busyScratch = path.join(root, 'tmp', `sample-cam-${deadPid}-0000beef`);
  await mkdir(path.join(busyScratch, 'images'), { recursive: true });
  await writeFile(path.join(busyScratch, 'images', 'f9.jpg'), 'x');
  await utimes(busyScratch, old, old);
  for (const p of [deadScratch, liveScratch, halfTree, damagedTree]) {
    await utimes(path.join(p, 'images', 'f1.jpg'), old, old);
    await utimes(path.join(p, 'images'), old, old);
  }
  for (const p of [deadScratch, liveScratch, halfObject, halfTree, damagedTree]) await utimes(p, old, old);

  const removed = await store.sweepLeftovers();
  assert.deepEqual(removed.sort(), [deadScratch, halfObject, halfTree, damagedTree].sort());
  for (const p of removed) assert.equal(existsSync(p), false, p);
  // a live process's scratch, a fresh one (maybe another host's run), and what is stored stay
  assert.ok(existsSync(liveScratch) && existsSync(freshDeadScratch) && existsSync(busyScratch));
  await store.verify(kept);
  await store.verify(treeRef);
  // nothing left to do the second time; a store that was never written is fine too
  assert.deepEqual(await store.sweepLeftovers(), []);
  assert.deepEqual(await new DirectoryArtifactStore(path.join(dir, 'never-written')).sweepLeftovers(), []);
});

test('sweepCaptureDirs removes capture segments no retry will resume, and keeps any a retry still may', async () => {
  const { dir } = await fixture();
  const dataDir = path.join(dir, 'data-sweep');
  const hours = (h: number): Date => new Date(Date.now() - h * 3_600_000);
  const make = async (name: string, files: Record<string, Date>, dirTime: Date): Promise<string> => {
    const d = path.join(dataDir, 'capture', name);
    await mkdir(d, { recursive: true });
    for (const [f, t] of Object.entries(files)) {
      await writeFile(path.join(d, f), 'x');
      await utimes(path.join(d, f), t, t);
    }
    await utimes(d, dirTime, dirTime);
    return d;
  };
  // a run retried past its outage window: nothing written for 10 h
  const abandoned = await make('tune_cam1-run-a', { 'seg-00000.mkv': hours(10), 'list-000.csv': hours(10) }, hours(10));
  // a command-line capture killed long ago
  const cli = await make('cli-cam1-123-456', { 'seg-00000.mkv': hours(30) }, hours(30));
  // an outage still being retried: its last segment is an hour old
  const retrying = await make('tune_cam2-run-b', { 'seg-00000.mkv': hours(9), 'seg-00001.mkv': hours(1) }, hours(9));
  const removed = await sweepCaptureDirs(dataDir, 7 * 3_600_000);
  assert.deepEqual(removed.sort(), [abandoned, cli].sort());
  assert.equal(existsSync(abandoned) || existsSync(cli), false);
  assert.ok(existsSync(path.join(retrying, 'seg-00001.mkv')));
  assert.deepEqual(await sweepCaptureDirs(dataDir, 7 * 3_600_000), []);
  assert.deepEqual(await sweepCaptureDirs(path.join(dir, 'no-data-yet'), 3_600_000), []);
});
