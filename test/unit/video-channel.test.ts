import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { openOutputChannel } from '../../src/video/channel.js';
import { CHANNEL_SEND_BUFFER, channelBufferRequest, widenSendBuffer } from '../../src/video/socket-buffer.js';

const koffiInstalled = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve('koffi');
    return true;
  } catch {
    return false;
  }
})();

/** Open a channel with AUTOTUNER_CHANNEL_BUFFER set (undefined: unset) and a reader that counts bytes. */
async function channelWith(env: string | undefined): Promise<{ ch: Awaited<ReturnType<typeof openOutputChannel>>; read: () => number }> {
  const before = process.env.AUTOTUNER_CHANNEL_BUFFER;
  if (env === undefined) delete process.env.AUTOTUNER_CHANNEL_BUFFER;
  else process.env.AUTOTUNER_CHANNEL_BUFFER = env;
  try {
    let bytes = 0;
    const ch = await openOutputChannel({ buffer: new Uint8Array(1 << 16), callback: (n) => ((bytes += n), true) });
    return { ch, read: () => bytes };
  } finally {
    if (before === undefined) delete process.env.AUTOTUNER_CHANNEL_BUFFER;
    else process.env.AUTOTUNER_CHANNEL_BUFFER = before;
  }
}

/** A child that writes `bytes` to its stdout (the channel) and exits; resolves with its exit code. */
function writer(stdout: import('node:net').Socket, bytes: number): { exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['-e', `require('fs').writeSync(1, Buffer.alloc(${bytes}, 7)); process.exit(0)`], { stdio: ['ignore', stdout, 'inherit'] });
  stdout.destroy();
  return { exited: new Promise((resolve, reject) => child.once('error', reject).once('close', (c) => resolve(c))) };
}

test('frame channel: the child end gets a send buffer of several frames, so ffmpeg can write ahead of a busy reader', async () => {
  const { ch, read } = await channelWith(undefined);
  const b = ch.sendBuffer;
  assert.equal(b.requested, CHANNEL_SEND_BUFFER);
  if (process.platform === 'linux' && koffiInstalled) {
    // set, or capped by net.core.wmem_max for an unprivileged process: never silently left alone
    assert.notEqual(b.outcome, 'default', `send buffer left at the default: ${b.detail}`);
  }
  if (b.outcome === 'set') {
    assert.ok(b.bytes >= 2 * b.requested, `kernel granted ${b.bytes} bytes`);
    // 3 MB (4.5 frames at 768×576) written while nobody reads: the child exits without waiting on us
    const payload = 3 << 20;
    const w = writer(ch.childEnd, payload);
    assert.equal(await w.exited, 0);
    assert.equal(read(), 0, 'the reader was paused: nothing read yet');
    const closed = new Promise<void>((resolve) => ch.reader.once('close', () => resolve()));
    ch.reader.resume();
    await closed;
    assert.equal(read(), payload, 'every byte arrives after the writer is gone');
  } else {
    assert.equal(b.outcome, 'capped');
    assert.match(b.detail, /wmem_max/);
    ch.childEnd.destroy();
    ch.reader.destroy();
  }
});

test('frame channel: AUTOTUNER_CHANNEL_BUFFER=0 keeps the kernel default; a bad value falls back to the default request', async () => {
  const { ch } = await channelWith('0');
  assert.deepEqual({ outcome: ch.sendBuffer.outcome, requested: ch.sendBuffer.requested }, { outcome: 'default', requested: 0 });
  assert.match(ch.sendBuffer.detail, /AUTOTUNER_CHANNEL_BUFFER=0/);
  ch.childEnd.destroy();
  ch.reader.destroy();

  const before = process.env.AUTOTUNER_CHANNEL_BUFFER;
  try {
    process.env.AUTOTUNER_CHANNEL_BUFFER = 'lots';
    assert.equal(channelBufferRequest(), CHANNEL_SEND_BUFFER);
    process.env.AUTOTUNER_CHANNEL_BUFFER = '1048576';
    assert.equal(channelBufferRequest(), 1 << 20);
  } finally {
    if (before === undefined) delete process.env.AUTOTUNER_CHANNEL_BUFFER;
    else process.env.AUTOTUNER_CHANNEL_BUFFER = before;
  }
});

test('frame channel: a socket without a file descriptor is reported, not thrown', async () => {
  const { ch } = await channelWith(undefined);
  ch.childEnd.destroy();
  ch.reader.destroy();
  // a destroyed socket has no handle any more
  const b = widenSendBuffer(ch.childEnd, 1 << 20);
  assert.equal(b.outcome, 'default');
  assert.ok(b.detail.length > 0);
});
