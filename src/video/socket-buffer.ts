import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { KoffiLike } from './jpeg-yuv.js';

/**
 * A bigger kernel send buffer for the frame channel's child end (the socket ffmpeg writes to).
 *
 * Why: with the kernel's default (net.core.wmem_default, ~208 KB) one 768×576 yuv420p frame
 * (663 KB) does not fit, so ffmpeg and the sampler run in lockstep: ffmpeg blocks in write() until
 * Node has read, and every pause on Node's side (a garbage collection, a slot's bookkeeping, the
 * JPEG thread taking the other core) stalls the decode with it. A buffer of a few frames lets
 * ffmpeg decode ahead while Node catches up. Measured on the demo video, 2 cores, interleaved,
 * 12 runs each: sample step median 0.71 s with the default, 0.71 s at 416 KB, 0.65 s at 2 MB,
 * 0.63 s at 4 MB.
 *
 * Node has no API for a unix socket's buffer sizes, so this calls setsockopt through koffi (the
 * optional FFI the JPEG path uses). Without koffi, off Linux, or with AUTOTUNER_CHANNEL_BUFFER=0
 * the kernel's default stays. The kernel caps SO_SNDBUF at net.core.wmem_max (212992 on a stock
 * Debian or Ubuntu); a privileged process (CAP_NET_ADMIN) may go past it with SO_SNDBUFFORCE, which
 * is tried when the cap bites. For AF_UNIX stream sockets only the sender's buffer matters: the
 * bytes in flight are charged to it.
 */

/** Requested bytes; the kernel doubles what it grants (for its own bookkeeping), so ~8 MB in effect: 12 frames at 768×576. */
export const CHANNEL_SEND_BUFFER = 4 << 20;

// Linux's numbers (asm-generic/socket.h: the same on x86-64 and arm64)
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_SNDBUFFORCE = 32;

interface SockOptCalls {
  set(fd: number, level: number, name: number, value: Int32Array, length: number): number;
  get(fd: number, level: number, name: number, value: Int32Array, length: Uint32Array): number;
}

const require = createRequire(import.meta.url);
let calls: SockOptCalls | null | undefined;
let loadError = '';

function sockopt(): SockOptCalls | null {
  if (calls !== undefined) return calls;
  calls = null;
  if (process.platform !== 'linux') {
    loadError = `not on Linux (${process.platform})`;
    return null;
  }
  let koffi: KoffiLike;
  try {
    koffi = require('koffi') as KoffiLike;
  } catch {
    loadError = 'koffi (optional dependency) not installed';
    return null;
  }
  for (const name of ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1']) {
    try {
      const libc = koffi.load(name);
      calls = {
        set: libc.func('int setsockopt(int, int, int, const int32_t *, uint32_t)') as SockOptCalls['set'],
        get: libc.func('int getsockopt(int, int, int, _Out_ int32_t *, _Inout_ uint32_t *)') as SockOptCalls['get'],
      };
      return calls;
    } catch (err) {
      loadError = (err as Error).message;
    }
  }
  return null;
}

export interface SendBuffer {
  /** the buffer the kernel granted (getsockopt), 0 when it could not be read */
  bytes: number;
  /** what was asked for (0: nothing was) */
  requested: number;
  /** set: as asked; capped: net.core.wmem_max kept it smaller; default: left as the kernel made it */
  outcome: 'set' | 'capped' | 'default';
  /** why the default stayed, or what capped it */
  detail: string;
}

/** The file descriptor behind a net.Socket on Unix (Node keeps it on the internal handle; no public API). */
function fdOf(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function readSendBuffer(c: SockOptCalls, fd: number): number {
  const out = new Int32Array(1);
  return c.get(fd, SOL_SOCKET, SO_SNDBUF, out, new Uint32Array([4])) === 0 ? out[0]! : 0;
}

/** net.core.wmem_max, or null where it cannot be read. */
export function wmemMax(): number | null {
  try {
    return Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/** The requested size: AUTOTUNER_CHANNEL_BUFFER (bytes; 0 keeps the kernel's default) or CHANNEL_SEND_BUFFER. */
export function channelBufferRequest(): number {
  const env = process.env.AUTOTUNER_CHANNEL_BUFFER;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isFinite(n) && n >= 0) return Math.floor(n);
  }
  return CHANNEL_SEND_BUFFER;
}

/** Ask for a `requested`-byte send buffer on `socket`; never throws (the default buffer still works, only slower). */
export function widenSendBuffer(socket: net.Socket, requested = channelBufferRequest()): SendBuffer {
  if (requested <= 0) return { bytes: 0, requested: 0, outcome: 'default', detail: 'AUTOTUNER_CHANNEL_BUFFER=0' };
  const c = sockopt();
  const fd = fdOf(socket);
  if (!c) return { bytes: 0, requested, outcome: 'default', detail: loadError };
  if (fd === undefined) return { bytes: 0, requested, outcome: 'default', detail: 'the socket has no file descriptor' };
  const value = new Int32Array([Math.min(requested, 0x3fffffff)]);
  if (c.set(fd, SOL_SOCKET, SO_SNDBUF, value, 4) !== 0) {
    return { bytes: readSendBuffer(c, fd), requested, outcome: 'default', detail: 'setsockopt(SO_SNDBUF) failed' };
  }
  // the kernel grants min(requested, wmem_max) and doubles it
  let bytes = readSendBuffer(c, fd);
  if (bytes >= 2 * requested) return { bytes, requested, outcome: 'set', detail: '' };
  // capped by net.core.wmem_max: past it only with CAP_NET_ADMIN (fails harmlessly without)
  if (c.set(fd, SOL_SOCKET, SO_SNDBUFFORCE, value, 4) === 0) {
    bytes = readSendBuffer(c, fd);
    if (bytes >= 2 * requested) return { bytes, requested, outcome: 'set', detail: 'past net.core.wmem_max (privileged)' };
  }
  const max = wmemMax();
  return { bytes, requested, outcome: 'capped', detail: `net.core.wmem_max is ${max ?? 'unknown'}` };
}
