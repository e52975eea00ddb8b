import { randomUUID } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { widenSendBuffer, type SendBuffer } from './socket-buffer.js';

/**
 * Where each read lands: one reused buffer, or `buffer()` asked before every read; `callback(n)`
 * after it (return false to pause).
 */
export interface ReadInto {
  buffer: Uint8Array | (() => Uint8Array);
  callback: (bytes: number) => boolean;
}

export interface OutputChannel {
  /** give this to spawn() as one of the child's stdio entries, then destroy() it (the child holds its own copy) */
  childEnd: net.Socket;
  /** our end, paused: resume() it when the reads may start; 'close' comes after the child's last byte */
  reader: net.Socket;
  /** the child end's kernel send buffer: how far ffmpeg may write ahead of our reads (see socket-buffer.ts) */
  sendBuffer: SendBuffer;
}

/**
 * A connected unix socket pair that stands in for a child's output pipe (the child writes to it as
 * to any pipe: `pipe:1`, `pipe:3`). Our end reads with `onread` straight into buffers we pick, so a
 * raw-video stream lands in frame buffers that are used again and again. Through a plain pipe Node
 * allocates a fresh 64 KB buffer per read: hundreds of MB per decode, which V8 counts as external
 * memory and answers, in a process with a real heap (a worker, the CLI), with a full garbage
 * collection every few dozen MB. Measured on the demo video (527 MB of yuv420p): 0.6-0.85 s of
 * Node CPU through a pipe, 0.11-0.2 s through this.
 *
 * Linux uses an abstract socket name (nothing on disk); other systems a socket file in the temp
 * directory, removed once connected. The child's end gets a send buffer of several frames where
 * the kernel allows (socket-buffer.ts), so ffmpeg decodes on while we are busy. Rejects when
 * sockets cannot be made: callers fall back to a pipe.
 */
export async function openOutputChannel(onread: ReadInto): Promise<OutputChannel> {
  const id = `autotuner-${process.pid}-${randomUUID().slice(0, 12)}`;
  const name = process.platform === 'linux' ? `\0${id}` : path.join(os.tmpdir(), `${id}.sock`);
  // the accepted end is never read by us: the child only writes to it
  const server = net.createServer({ pauseOnConnect: true });
  let reader: net.Socket | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(name, () => resolve());
    });
    const accepted = new Promise<net.Socket>((resolve, reject) => {
      server.once('connection', resolve);
      server.once('error', reject);
    });
    const r = net.connect({ path: name, onread });
    reader = r;
    await new Promise<void>((resolve, reject) => {
      r.once('connect', resolve);
      r.once('error', reject);
    });
    const childEnd = await accepted;
    // set before the child starts: the setting belongs to the socket, which the child's copy of the fd shares
    const sendBuffer = widenSendBuffer(childEnd);
    // nothing is written before the child starts; paused, no read happens until the caller is ready
    r.pause();
    return { childEnd, reader: r, sendBuffer };
  } catch (err) {
    reader?.destroy();
    throw err;
  } finally {
    server.close();
  }
}
