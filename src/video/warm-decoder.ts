import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { openOutputChannel, type OutputChannel } from './channel.js';

/**
 * Decoders started before their input exists, so that an ffmpeg's start (~60–80 ms for Debian's
 * shared build: the dynamic linker binding 215 libraries) overlaps the step before the decode
 * instead of preceding the decode. The sample step's decode of a clip can only start once the
 * capture has stored it, but its ffmpeg can: the capture step warms one, and the sample step takes
 * it when its arguments match.
 *
 * How ffmpeg waits: its filter graph comes from `-filter_complex_script pipe:0` (stdin), which
 * ffmpeg reads to the end while it parses its global options, before it opens any input. Its input
 * is a symbolic link, in a private directory, that does not exist until the decode is taken. So the
 * process links its libraries, then blocks on stdin; taking it creates the link to the real clip and
 * writes the graph. Nothing else changes: the same arguments, the same outputs, the same log.
 * If this process dies, ffmpeg reads an empty graph, fails to open the missing input and exits, so
 * a waiting decoder never outlives the worker.
 */

/** Where the reads of the frame channel land: set by the decode that takes the decoder. */
export interface ChannelHooks {
  buffer: () => Uint8Array;
  callback: (bytes: number) => void;
}

export interface StartedDecoder {
  child: ChildProcess;
  channel: OutputChannel | null;
  /** resolves when the process has exited and its pipes are closed */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** log lines ffmpeg printed before the decode took it (utf8) */
  earlyStderr: string;
  /** the input's path as ffmpeg sees it (a warm decoder's link), to be shown as the source in messages */
  inputAlias: string | null;
  /** removes what the decoder used on disk (a warm decoder's link directory) */
  cleanup: () => void;
}

/** Stands in for the input in the argument templates that warm decoders are matched by. */
const INPUT_TOKEN = '\0input';
const MAX_WARM = 4;

interface Warm {
  key: string;
  child: ChildProcess;
  channel: OutputChannel;
  hooks: ChannelHooks;
  dir: string;
  link: string;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  early: string[];
  onEarly: (s: string) => void;
  exited: boolean;
  timer: NodeJS.Timeout | null;
}

const pool: Warm[] = [];
let exitHook = false;
let warmedTotal = 0;
let takenTotal = 0;

/** How many decoders were started warm and how many of them a decode took (tests, bench). */
export function warmDecoderStats(): { warmed: number; taken: number; waiting: number } {
  return { warmed: warmedTotal, taken: takenTotal, waiting: pool.length };
}

/**
 * The option that reads the filter graph from a file: `-/filter_complex` since ffmpeg 7.0, which
 * deprecates `-filter_complex_script` (5.x and 6.x know only the latter). None for a build whose
 * version does not say (a git snapshot): such decodes start cold.
 */
function scriptOption(ffmpegVersion: string): string | null {
  const m = /^(\d+)\.\d/.exec(ffmpegVersion);
  if (!m) return null;
  return Number(m[1]) >= 7 ? '-/filter_complex' : '-filter_complex_script';
}

/**
 * A decode's arguments as a warm decoder takes them: the filter graph read from stdin and the
 * input replaced by a token. Null where the decode cannot wait this way (no filter graph, or the
 * input is not a local file).
 */
export function warmTemplate(args: readonly string[], source: string, ffmpegVersion: string): { template: string[]; graph: string } | null {
  const option = scriptOption(ffmpegVersion);
  if (!option || /^[a-z][a-z0-9+.-]*:/i.test(source) || source.startsWith('/dev/')) return null;
  const g = args.indexOf('-filter_complex');
  const i = args.findIndex((a, n) => a === '-i' && args[n + 1] === source);
  if (g < 0 || i < 0 || g + 1 >= args.length) return null;
  const template = [...args];
  template[g] = option;
  template[g + 1] = 'pipe:0';
  template[i + 1] = INPUT_TOKEN + path.extname(source);
  return { template, graph: args[g + 1]! };
}

function keyOf(ffmpegPath: string, template: readonly string[]): string {
  return [ffmpegPath, ...template].join('\u0001');
}

function discard(w: Warm): void {
  const at = pool.indexOf(w);
  if (at >= 0) pool.splice(at, 1);
  if (w.timer) clearTimeout(w.timer);
  w.timer = null;
  if (!w.exited) w.child.kill('SIGKILL');
  w.channel.reader.destroy();
  rmSync(w.dir, { recursive: true, force: true });
}

export interface WarmLease {
  /**
   * The step that warmed the decoder is over: keep it for `keepMs` for the decode that follows
   * (0: it will not come, stop it now). Until then it waits however long the step takes.
   */
  release(keepMs: number): void;
}

const NO_LEASE: WarmLease = { release: () => {} };

/**
 * Start a decoder for a decode whose arguments will be `args` (`source` being a placeholder for
 * the file it will read, with the right extension): it loads and then waits. Best effort: where a
 * decoder cannot be warmed (no socket channel, too many waiting), the decode later starts cold.
 */
export async function warmDecoder(ffmpeg: { path: string; version: string }, args: readonly string[], source: string): Promise<WarmLease> {
  const t = warmTemplate(args, source, ffmpeg.version);
  if (!t || pool.length >= MAX_WARM) return NO_LEASE;
  // Node may ask for a read's buffer before the decode has taken the decoder: that read lands in
  // `firstRead` and is handed on, in the decode's own buffers, when it completes.
  const firstRead = new Uint8Array(1 << 16);
  let handed: Uint8Array | null = null;
  const hooks: ChannelHooks = { buffer: () => firstRead, callback: () => {} };
  const relay = (n: number): void => {
    for (let off = 0; off < n; ) {
      const into = hooks.buffer();
      const k = Math.min(into.length, n - off);
      into.set(firstRead.subarray(off, off + k));
      hooks.callback(k);
      off += k;
    }
  };
  const channel = await openOutputChannel({
    buffer: () => (handed = hooks.buffer()),
    callback: (n) => {
      if (handed === firstRead) relay(n);
      else hooks.callback(n);
      return true;
    },
  }).catch(() => null);
  if (!channel) return NO_LEASE;
  let dir: string;
  try {
    dir = mkdtempSync(path.join(os.tmpdir(), 'autotuner-warm-'));
  } catch {
    // no room for a link directory (a full or read-only temp dir): the decode will start cold
    channel.childEnd.destroy();
    channel.reader.destroy();
    return NO_LEASE;
  }
  const link = path.join(dir, `input${path.extname(source)}`);
  const spawnArgs = t.template.map((a) => (a.startsWith(INPUT_TOKEN) ? link : a));
  const grid = t.template.includes('pipe:3');
  let child: ChildProcess;
  try {
    child = spawn(ffmpeg.path, spawnArgs, {
      stdio: ['pipe', channel.childEnd, 'pipe', ...(grid ? (['pipe'] as const) : [])],
      detached: true,
    });
  } catch {
    channel.reader.destroy();
    rmSync(dir, { recursive: true, force: true });
    return NO_LEASE;
  } finally {
    channel.childEnd.destroy();
  }
  const w: Warm = {
    key: keyOf(ffmpeg.path, t.template),
    child,
    channel,
    hooks,
    dir,
    link,
    closed: new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal }))),
    early: [],
    onEarly: (s) => w.early.push(s),
    exited: false,
    timer: null,
  };
  warmedTotal++;
  child.once('error', () => {
    w.exited = true;
    // a taken decoder's failures are its decode's to report
    if (pool.includes(w)) discard(w);
  });
  child.once('exit', () => {
    w.exited = true;
    // died waiting (an ffmpeg that refuses the options, a kill): not worth keeping
    if (pool.includes(w)) discard(w);
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', w.onEarly);
  // A waiting decoder must not keep the process alive (the CLI exits when its work is done).
  child.unref();
  for (const s of child.stdio) (s as (Readable & { unref?: () => void }) | null)?.unref?.();
  channel.reader.unref();
  pool.push(w);
  if (!exitHook) {
    exitHook = true;
    // waiting decoders would exit on their own (stdin closes), but leave their link directories
    process.once('exit', () => {
      for (const p of [...pool]) discard(p);
    });
  }
  return {
    release(keepMs: number): void {
      if (!pool.includes(w)) return;
      if (keepMs <= 0) return discard(w);
      w.timer = setTimeout(() => discard(w), keepMs);
      w.timer.unref();
    },
  };
}

/**
 * A warm decoder for exactly these arguments, given its input and filter graph and now running;
 * null when none is waiting (the caller then spawns ffmpeg itself).
 */
export function takeWarmDecoder(ffmpeg: { path: string; version: string }, args: readonly string[], source: string, hooks: ChannelHooks): StartedDecoder | null {
  const t = warmTemplate(args, source, ffmpeg.version);
  if (!t) return null;
  const key = keyOf(ffmpeg.path, t.template);
  // the newest: the one the step just before this decode started
  const w = [...pool].reverse().find((p) => p.key === key && !p.exited);
  if (!w) return null;
  pool.splice(pool.indexOf(w), 1);
  if (w.timer) clearTimeout(w.timer);
  try {
    symlinkSync(path.resolve(source), w.link);
  } catch {
    discard(w);
    return null;
  }
  w.hooks.buffer = hooks.buffer;
  w.hooks.callback = hooks.callback;
  w.child.stderr!.off('data', w.onEarly);
  w.child.ref();
  for (const s of w.child.stdio) (s as (Readable & { ref?: () => void }) | null)?.ref?.();
  w.channel.reader.ref();
  const stdin = w.child.stdin as Writable;
  // a decoder that died just now shows in its exit code, like any failed decode
  stdin.on('error', () => {});
  stdin.end(t.graph);
  takenTotal++;
  return {
    child: w.child,
    channel: w.channel,
    closed: w.closed,
    earlyStderr: w.early.join(''),
    inputAlias: w.link,
    cleanup: () => rmSync(w.dir, { recursive: true, force: true }),
  };
}
