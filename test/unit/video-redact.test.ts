import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactText, redactUrl } from '../../src/video/redact.js';
import { classifyFfmpegFailure, SourceUnreachableError } from '../../src/video/errors.js';

test('redactUrl hides user info and secret query parameters', () => {
  assert.equal(redactUrl('rtsp://admin:hunter2@10.0.0.5:554/stream1'), 'rtsp://***@10.0.0.5:554/stream1');
  assert.equal(redactUrl('https://cam.example/live.m3u8?token=abc123&x=1'), 'https://cam.example/live.m3u8?token=***&x=1');
  assert.equal(redactUrl('rtsp://u:p%40ss@host/x'), 'rtsp://***@host/x');
  assert.equal(redactUrl('/data/video.mp4'), '/data/video.mp4');
  assert.equal(redactUrl('rtsp://host/x'), 'rtsp://host/x');
});

test('redactText hides credentials inside free text, also the bare password ffmpeg may print', () => {
  const src = 'rtsp://admin:s3cr3t-pw@cam.local/h264';
  const text = `[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\n${src}: Server returned 401 (password s3cr3t-pw rejected)`;
  const out = redactText(text, src);
  assert.ok(!out.includes('s3cr3t-pw'), out);
  assert.ok(out.includes('rtsp://***@cam.local/h264'), out);
  // percent-encoded passwords are also removed in their decoded form
  const enc = 'rtsp://u:p%40ssw0rd@h/x';
  assert.ok(!redactText('login p@ssw0rd failed', enc).includes('p@ssw0rd'));
});

test('classified errors never carry the password', () => {
  const src = 'rtsp://user:topsecret@127.0.0.1:9/x';
  const err = classifyFfmpegFailure({
    source: src,
    exitCode: 1,
    stderr: `[tcp @ 0x5] Connection to tcp://127.0.0.1:9 failed: Connection refused\n${src}: Connection refused\n`,
    what: 'capture',
  });
  assert.ok(err instanceof SourceUnreachableError);
  assert.ok(!err.message.includes('topsecret'), err.message);
  assert.ok(!err.stderrTail.includes('topsecret'));
  assert.ok(!err.source.includes('topsecret'));
});
