import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, findCamera, loadConfig, parseConfig, sitesOf } from '../../src/config/load.js';
import { applyOverrides } from '../../activities/control.js';

test('a missing default config is created with the demo camera', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cfg-'));
  const cwd = process.cwd();
  const env = process.env.AUTOTUNER_CONFIG;
  delete process.env.AUTOTUNER_CONFIG;
  process.chdir(dir);
  try {
    const loaded = await loadConfig();
    assert.equal(loaded.created, true);
    assert.equal(loaded.path, path.join(dir, 'autotuner.config.json'));
    assert.equal(findCamera(loaded.config, 'demo').source, '/usr/share/doc/opencv-doc/examples/data/vtest.avi');
    const again = await loadConfig();
    assert.equal(again.created, false, 'second load reads the file it wrote');
  } finally {
    process.chdir(cwd);
    if (env !== undefined) process.env.AUTOTUNER_CONFIG = env;
  }
});

test('an explicit config path that does not exist is an error, not silently created', async () => {
  await assert.rejects(loadConfig('/nonexistent/dir/autotuner.config.json'), (err: Error) => err instanceof ConfigError && /not found/.test(err.message));
});

test('YAML configs load with defaults filled in', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cfg-'));
  const file = path.join(dir, 'cams.yaml');
  await writeFile(file, 'cameras:\n  - id: gate-1\n    source: rtsp://cam/1\n    site: north\n  - id: gate-2\n    source: x.mp4\n');
  const { config } = await loadConfig(file);
  assert.equal(config.cameras[0]!.student.imgsz, 320);
  assert.deepEqual(sitesOf(config), ['default', 'north']);
});

test('a bad config names the field and the fix', () => {
  assert.throws(
    () => parseConfig({ cameras: [{ id: 'a b', source: 'x', student: { imgsz: 300 } }] }, 'c.json'),
    (err: Error) =>
      err instanceof ConfigError &&
      err.message.includes('cameras.0.id') &&
      err.message.includes('cameras.0.student.imgsz') &&
      err.message.includes('c.json'),
  );
  assert.throws(() => parseConfig({ cameras: [{ id: 'a', source: 'x' }, { id: 'a', source: 'y' }] }), /duplicate camera id "a"/);
  assert.throws(() => parseConfig({ cameras: [{ id: 'a', source: 'x', sorce: 'typo' }] }), /Unrecognized key.*sorce/);
  assert.throws(() => parseConfig({ cameras: [{ id: 'a', source: 'x', schedule: { cron: '0 3 * *' } }] }), /schedule\.cron.*5 fields/s);
  assert.throws(() => parseConfig({ cameras: [{ id: 'a', source: 'x', schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlinn' } }] }), /schedule\.timezone.*IANA time zone/s);
  assert.equal(parseConfig({ cameras: [{ id: 'a', source: 'x', schedule: { cron: '@daily', timezone: 'Europe/Berlin' } }] }).cameras[0]!.schedule!.cron, '@daily');
  assert.throws(() => parseConfig({ cameras: [] }), /cameras/);
});

test('unknown camera lists the known ones', () => {
  const config = parseConfig({ cameras: [{ id: 'a', source: 'x' }] });
  assert.throws(() => findCamera(config, 'b'), /unknown camera "b".*lists a/);
});

test('run overrides merge one level deep and are validated', () => {
  const cam = parseConfig({ cameras: [{ id: 'a', source: 'x' }] }).cameras[0]!;
  const merged = applyOverrides(cam, { student: { epochs: 2 }, classes: ['person', 'car'] });
  assert.equal(merged.student.epochs, 2);
  assert.equal(merged.student.imgsz, cam.student.imgsz, 'untouched fields keep the camera value');
  assert.deepEqual(merged.classes, ['person', 'car']);
  assert.throws(() => applyOverrides(cam, { student: { epochs: -1 } }), /student.epochs/);
  assert.throws(() => applyOverrides(cam, { id: 'x' } as never), /unknown override/);
});
