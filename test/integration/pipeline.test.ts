import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { temporalCli } from '../../src/temporal/dev-server.js';
import type { LoadedConfig } from '../../src/config/load.js';
import { startTune, TuneAlreadyRunningError } from '../../src/client/tune.js';
import type { TuneOutcome, TuneProgress } from '../../src/pipeline/progress.js';
import { SA_CAMERA, SA_GAIN, SA_OUTCOME, SA_STAGE } from '../../src/temporal/search-attributes.js';
import { ModelRegistry } from '../../src/registry/registry.js';
import { createWorkers, workflowBundle, WORKFLOWS_PATH } from '../../src/worker/run.js';
import { makeProject, startTemporal, TINY, VTEST } from './env.js';
import { createServer, type Server } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { warmDecoderStats } from '../../src/video/warm-decoder.js';
import { cutDemo, ffmpeg } from '../fixtures/clips.js';
import { serveRtsp, type RtspCamera } from '../fixtures/rtsp.js';

let env: TestWorkflowEnvironment;
let project: LoadedConfig;
let stopWorkers: () => Promise<void>;
let firstHistory: unknown;
let httpServer: Server;
let authSource = '';
let emptyScene = '';
let stillScene = '';
let rtspCamera: RtspCamera | null = null;
let rtspClip = '';

/** The demo video over HTTP behind basic auth: a camera URL that carries credentials. */
async function startAuthServer(): Promise<void> {
  httpServer = createServer((req, res) => {
    if (req.headers.authorization !== `Basic ${Buffer.from('viewer:s3cret-pw').toString('base64')}`) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cam"' }).end();
      return;
    }
    const size = statSync(VTEST).size;
    res.writeHead(200, { 'Content-Type': 'video/x-msvideo', 'Content-Length': size });
    createReadStream(VTEST).pipe(res);
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  authSource = `http://viewer:s3cret-pw@127.0.0.1:${(httpServer.address() as { port: number }).port}/vtest.avi`;
}

before(async () => {
  env = await startTemporal();
  await startAuthServer();
  // an empty scene: a grey wall with sensor noise, where the teacher finds nobody
  emptyScene = path.join(os.tmpdir(), `autotuner-empty-scene-${process.pid}.avi`);
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=0x808080:s=384x288:r=10,noise=alls=6:allf=t', '-t', '14', '-c:v', 'mpeg4', '-q:v', '4', '-g', '10', '-pix_fmt', 'yuv420p', emptyScene]);
  // a still scene: one frame of the demo (people in view) held for 14 s
  stillScene = path.join(os.tmpdir(), `autotuner-still-scene-${process.pid}.avi`);
  await ffmpeg(['-ss', '20', '-i', VTEST, '-frames:v', '1', '-vf', 'scale=384:-2', '-f', 'image2', '-c:v', 'png', `${stillScene}.png`]);
  await ffmpeg(['-loop', '1', '-framerate', '10', '-i', `${stillScene}.png`, '-t', '14', '-c:v', 'mpeg4', '-q:v', '4', '-g', '10', '-pix_fmt', 'yuv420p', stillScene]);
  // a live camera: the demo video, 384 px wide, published over RTSP in real time, behind a password
  rtspClip = await cutDemo(os.tmpdir(), `autotuner-rtsp-scene-${process.pid}.avi`, { start: 0, seconds: 30 });
  rtspCamera = await serveRtsp(rtspClip);
  project = await makeProject([
    { id: 'itest', source: VTEST, site: 'lab', classes: ['person'] },
    { id: 'authcam', source: authSource, site: 'lab', classes: ['person'] },
    { id: 'emptycam', source: emptyScene, site: 'lab', classes: ['person'] },
    { id: 'stillcam', source: stillScene, site: 'lab', classes: ['person'] },
    { id: 'rtspcam', source: rtspCamera.url, site: 'lab', classes: ['person'] },
  ]);
  const { workers } = await createWorkers({
    loaded: project,
    role: 'all',
    connection: env.nativeConnection,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '2 seconds',
  });
  const running = workers.map((w) => w.run());
  stopWorkers = async () => {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
  };
});

after(async () => {
  httpServer?.close();
  await rtspCamera?.close();
  await stopWorkers?.();
  await env?.teardown();
  for (const f of [emptyScene, stillScene, `${stillScene}.png`, rtspClip]) if (f) await rm(f, { force: true });
});

test('tuneCamera runs capture → sample → annotate → train → validate → deploy on real data', async () => {
  const warmBefore = warmDecoderStats().taken;
  const started = await startTune(env.client, 'itest', TINY);
  const outcome = (await started.handle.result()) as TuneOutcome;
  assert.ok(outcome.state === 'deployed' || outcome.state === 'rejected', `unexpected state ${outcome.state}`);
  // the capture activity started the sample activity's ffmpeg (same worker process), and the sample took it
  assert.equal(warmDecoderStats().taken, warmBefore + 1);
  assert.equal(outcome.workflowId, 'tune/itest');
  assert.match(outcome.modelVersion ?? '', /^v\d+$/);
  assert.ok(outcome.metrics, 'a trained run has metrics');
  for (const m of [outcome.metrics.candidate, outcome.metrics.baseline]) {
    assert.ok(m.map50 >= 0 && m.map50 <= 1, `mAP in [0,1]: ${m.map50}`);
    assert.ok(m.latencyMs > 0, 'latency measured');
  }
  // the untuned student is carried in the outcome (what `tune`/`demo` show next to a deployed baseline)
  const p = outcome.metrics.pretrained;
  assert.ok(p && p.map50 >= 0 && p.map50 <= 1 && p.map5095 >= 0 && p.map5095 <= p.map50, `pretrained metrics: ${JSON.stringify(p)}`);
  if (outcome.metrics.baseline.version === 'pretrained') assert.equal(p.map5095, outcome.metrics.baseline.map5095);
  assert.ok(outcome.reportPath && existsSync(outcome.reportPath), `report written at ${outcome.reportPath}`);

  const progress = await started.handle.query<TuneProgress>('progress');
  assert.equal(progress.stage, 'done');
  const states = Object.fromEntries(progress.stages.map((s) => [s.stage, s.state]));
  for (const s of ['capture', 'sample', 'annotate', 'train', 'validate']) assert.equal(states[s], 'done', `${s} done`);
  assert.equal(states.deploy, outcome.state === 'deployed' ? 'done' : 'skipped');

  const desc = await started.handle.describe();
  assert.equal(desc.typedSearchAttributes.get(SA_CAMERA), 'itest');
  assert.equal(desc.typedSearchAttributes.get(SA_STAGE), 'done');
  assert.equal(desc.typedSearchAttributes.get(SA_OUTCOME), outcome.state);
  assert.equal(typeof desc.typedSearchAttributes.get(SA_GAIN), 'number');

  const registry = new ModelRegistry(path.join(project.dir, 'data'));
  const version = await registry.get('itest', outcome.modelVersion!);
  assert.equal(version.state, outcome.state === 'deployed' ? 'deployed' : 'rejected');
  if (outcome.state === 'deployed') {
    const current = JSON.parse(await readFile(path.join(project.dir, 'data', 'edge', 'itest', 'current.json'), 'utf8'));
    assert.equal(current.version, outcome.modelVersion);
    assert.ok(existsSync(current.path), 'deployed model file is on the edge');
  }
  // annotate and train scratch (labels so far, checkpoints) is removed once their results are stored
  assert.ok(!existsSync(path.join(project.dir, 'data', 'work', 'itest', started.runId)), 'the run left its scratch behind');
  firstHistory = await started.handle.fetchHistory();
  if (process.env.RECORD_HISTORY) {
    // The CLI writes the canonical proto JSON that Worker.runReplayHistory reads back.
    const json = execFileSync(temporalCli(), ['workflow', 'show', '--address', env.address, '-w', 'tune/itest', '-r', started.runId, '--output', 'json']);
    await writeFile(path.join('test', 'fixtures', 'histories', 'tune-camera.json'), json);
  }
});

test('the recorded history replays deterministically against the current workflow code', async () => {
  assert.ok(firstHistory, 'needs the run of the previous test');
  await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, firstHistory as never, 'tune/itest');
  const committed = path.join('test', 'fixtures', 'histories', 'tune-camera.json');
  assert.ok(existsSync(committed), 'a recorded history is committed (RECORD_HISTORY=1 re-records it)');
  await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, JSON.parse(await readFile(committed, 'utf8')), 'tune/recorded');
});

test('a second tuning of the same camera is refused while one runs; --wait attaches', async () => {
  const first = await startTune(env.client, 'itest', TINY);
  try {
    await assert.rejects(startTune(env.client, 'itest', TINY), (e: Error) => e instanceof TuneAlreadyRunningError && /already running/.test(e.message));
    const attached = await startTune(env.client, 'itest', TINY, true);
    assert.equal(attached.attached, true);
    assert.equal(attached.runId, first.runId);
  } finally {
    await first.handle.terminate('test done');
  }
});

test('manual approval: the run waits for the approval signal and a rejection keeps the model off the edge', async () => {
  const started = await startTune(env.client, 'itest', { ...TINY, gate: { manualApproval: true, minGain: -1, maxLatencyRatio: 100 } });
  // an approval sent before any candidate waits (during the capture) is ignored: it must not approve
  // the model that comes later (with it honoured, the run would deploy without waiting below)
  await started.handle.signal('approval', { approve: true, by: 'early', reason: 'nothing to look at yet' });
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const p = await started.handle.query<TuneProgress>('progress');
    if (p.awaitingApproval) {
      assert.equal(p.stage, 'approve');
      break;
    }
    assert.ok(Date.now() < deadline && p.stage !== 'done', `never asked for approval (stage ${p.stage})`);
    await new Promise((r) => setTimeout(r, 300));
  }
  await started.handle.signal('approval', { approve: false, by: 'qa', reason: 'boxes too loose' });
  const outcome = (await started.handle.result()) as TuneOutcome;
  assert.equal(outcome.state, 'rejected');
  assert.match(outcome.reason, /rejected by qa: boxes too loose/);
  const registry = new ModelRegistry(path.join(project.dir, 'data'));
  assert.equal((await registry.get('itest', outcome.modelVersion!)).state, 'rejected');
});

/** Every string and payload in a run's history, payload bytes decoded to text: what a search of the history sees. */
async function historyTexts(handle: { fetchHistory: () => Promise<unknown> }): Promise<string[]> {
  const texts: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) texts.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    else if (typeof v === 'string') texts.push(v);
  };
  walk(await handle.fetchHistory());
  return texts;
}

test('stream credentials never reach workflow history; the edge worker restores them to capture', async () => {
  const started = await startTune(env.client, 'authcam', { ...TINY, student: { ...TINY.student, epochs: 1 } });
  const outcome = (await started.handle.result()) as TuneOutcome;
  assert.ok(outcome.state === 'deployed' || outcome.state === 'rejected');
  const texts = await historyTexts(started.handle);
  const history = texts.join('\n');
  assert.ok(history.includes('viewer') === false && history.includes('s3cret-pw') === false, 'no credentials in history');
  assert.ok(history.includes('http://***@127.0.0.1'), 'the redacted source is there instead');
  const progress = await started.handle.query<TuneProgress>('progress');
  assert.match(progress.stages.find((s) => s.stage === 'capture')!.summary ?? '', /frames/, 'capture used the real, authenticated URL');
});

test('a live RTSP camera behind a password is tuned end to end: its window in camera time, its password in no history', async () => {
  const started = await startTune(env.client, 'rtspcam', { ...TINY, capture: { seconds: 6 }, student: { ...TINY.student, epochs: 1 } });
  const outcome = (await started.handle.result()) as TuneOutcome;
  assert.ok(outcome.state === 'deployed' || outcome.state === 'rejected', `${outcome.state}: ${outcome.reason}`);
  const texts = await historyTexts(started.handle);
  const history = texts.join('\n');
  assert.ok(!history.includes('rtsp-secret'), 'no camera password in history');
  // the capture activity's result: the live window, recorded by stream copy at the camera's rate
  const capture = texts.map((t) => /^\{"clip".*\}$/s.test(t) ? (JSON.parse(t) as { frames: number; seconds: number; fps: number; source: string }) : null).find(Boolean);
  assert.ok(capture, 'the capture result is in the history');
  assert.match(capture.source, /^rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\/live$/);
  assert.equal(capture.fps, 10);
  assert.ok(Math.abs(capture.seconds - 6) < 1, `seconds ${capture.seconds}`);
  assert.ok(rtspCamera!.plays() >= 1);
});

test('an empty scene (the teacher finds nobody) ends the run as skipped, not failed: nothing trained, no model version', async () => {
  const started = await startTune(env.client, 'emptycam', TINY);
  const outcome = (await started.handle.result()) as TuneOutcome;
  assert.equal(outcome.state, 'skipped');
  assert.match(outcome.reason, /^nothing to learn: the teacher found no person in the \d+ sampled frames? \(an empty scene\)/);
  assert.equal(outcome.modelVersion, null);
  assert.equal(outcome.metrics, undefined);
  const progress = await started.handle.query<TuneProgress>('progress');
  assert.equal(progress.outcome, 'skipped');
  assert.deepEqual(
    Object.fromEntries(progress.stages.map((s) => [s.stage, s.state])),
    { capture: 'done', sample: 'done', annotate: 'done', train: 'skipped', validate: 'skipped', approve: 'skipped', deploy: 'skipped' },
  );
  assert.match(progress.stages.find((s) => s.stage === 'annotate')!.summary ?? '', /^0 labels on \d+ frames?$/);
  const desc = await started.handle.describe();
  assert.equal(desc.typedSearchAttributes.get(SA_OUTCOME), 'skipped');
  assert.equal(desc.typedSearchAttributes.get(SA_STAGE), 'done');
  // no candidate was registered
  const registry = new ModelRegistry(path.join(project.dir, 'data'));
  assert.deepEqual(await registry.list('emptycam'), []);
});

test('a scene so still that one frame stands for it ends skipped before any training: no held-out frame to check a model on', async () => {
  const started = await startTune(env.client, 'stillcam', TINY);
  const outcome = (await started.handle.result()) as TuneOutcome;
  assert.equal(outcome.state, 'skipped', outcome.reason);
  // the teacher found people, but duplicate removal left one frame: one split has nothing
  assert.match(outcome.reason, /^too little to learn from: the 1 sampled frame \((1 train, 0 validation\) leave no held-out frame to check a model on|0 train, 1 validation\) leave no frame to train on)/);
  const progress = await started.handle.query<TuneProgress>('progress');
  assert.match(progress.stages.find((s) => s.stage === 'annotate')!.summary ?? '', /^[1-9]\d* labels? on 1 frame$/);
  assert.equal(progress.stages.find((s) => s.stage === 'train')!.state, 'skipped');
});
