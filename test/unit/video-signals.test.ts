import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { classifyFfmpegFailure, SourceUnreachableError } from '../../src/video/errors.js';
import { cutDemo, DEMO_VIDEO, tempDir } from '../fixtures/clips.js';

test("ffmpeg stopped by a signal to the worker's group is a retryable interruption, not a bad source", () => {
  const e = classifyFfmpegFailure({ source: '/data/clip.mkv', exitCode: 255, stderr: 'frame=  40 fps=0.0\nExiting normally, received signal 2.\n', what: 'capture' });
  assert.ok(e instanceof SourceUnreachableError, e.name);
  assert.match(e.message, /interrupted: ffmpeg received signal 2/);
});

test('Ctrl-C to the worker process group: a running decode finishes (its ffmpeg has its own group), a capture is interrupted retryably', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = await tempDir('signals');
  try {
    const clip = await cutDemo(dir, 'c.avi', { seconds: 6 });
    // The capture re-encodes 40 s of the demo video (seconds of work), so the signal comes in the middle.
    // A worker stand-in in a process group of its own (so the signal spares this test runner): it
    // survives SIGINT like the Temporal worker does, then reports what the signal did to its ffmpeg children.
    const script = `
      import { decodeFrames } from './src/video/decode.ts';
      import { recordSource } from './src/video/record.ts';
      process.on('SIGINT', () => {});
      const slow = () => new Promise((r) => setTimeout(r, 15));
      setTimeout(() => process.kill(-process.pid, 'SIGINT'), 400);
      const [decode, capture] = await Promise.allSettled([
        decodeFrames({ source: ${JSON.stringify(clip)} }, slow),
        recordSource({ source: ${JSON.stringify(DEMO_VIDEO)}, seconds: 40, fps: 10, reencode: true, workDir: ${JSON.stringify(path.join(dir, 'rec'))} }),
      ]);
      console.log(JSON.stringify({
        decoded: decode.status === 'fulfilled' ? decode.value.frames : String(decode.reason),
        capture: capture.status === 'fulfilled' ? 'finished' : capture.reason.name + ': ' + capture.reason.message,
      }));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise((resolve) => child.once('close', resolve));
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { decoded: number | string; capture: string };
    assert.equal(r.decoded, 60, 'every frame of the 6 s clip decoded despite the Ctrl-C');
    // the capture's ffmpeg stays in the group (an orphan could go on writing segments that a retry resumes from)
    assert.match(r.capture, /^SourceUnreachableError: .*interrupted: ffmpeg received signal 2/);
  } finally {
    await cleanup();
  }
});
