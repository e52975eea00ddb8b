import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { runCaptureBench } from '../../src/bench/capture.js';
import { cameraSchema } from '../../src/config/schema.js';
import { cutDemo, tempDir } from '../fixtures/clips.js';

const tmp = await tempDir('bench-capture');
after(tmp.cleanup);

test('bench capture: both sides decode the same frames; the ratio is pipeline fps over reference fps', { timeout: 120_000 }, async () => {
  // 4 s at 10 fps = 40 frames of people walking through the demo scene
  const clip = await cutDemo(tmp.dir, 'clip.avi', { start: 10, seconds: 4, width: 384 });
  const lines: string[] = [];
  const r = await runCaptureBench({ video: clip, iterations: 1, log: (l) => lines.push(l) });
  assert.equal(r.frames, 40, 'the pipeline decoded every frame of the clip');
  assert.equal(r.sampledFrames, 40, 'a 10 fps clip is scored at its own rate');
  assert.ok(r.selected > 0 && r.selected <= r.frames);
  assert.ok(r.ffmpegFps > 0 && r.pipelineFps > 0);
  assert.ok(Math.abs(r.ratio - r.pipelineFps / r.ffmpegFps) < 2e-3, `ratio ${r.ratio} vs ${r.pipelineFps}/${r.ffmpegFps}`);
  assert.ok(r.peakRssMb > 0);
  // one run: its own ratio is the ratio
  assert.deepEqual(r.runRatios, [r.ratio]);
  // the two steps account for the pipeline's time (medians of one run: the run itself)
  assert.ok(r.captureSeconds > 0 && r.sampleSeconds > 0);
  assert.ok(r.captureSeconds + r.sampleSeconds <= r.pipelineSeconds + 1e-3, `${r.captureSeconds} + ${r.sampleSeconds} vs ${r.pipelineSeconds}`);
  // one ffmpeg's start and exit, measured apart (no timed comparison: shared machines)
  assert.ok(Number.isFinite(r.ffmpegStartSeconds) && r.ffmpegStartSeconds > 0);
  assert.match(r.reference, /yuv420p/);
  // the reference reads the way the pipeline's decode does (not through a costlier pipe), and all of it
  assert.match(r.reference, /socket channel \(send buffer (\d+\.\d MB, (set|capped)|kernel default)\)/);
  assert.equal(Math.round(r.ffmpegFps * r.ffmpegSeconds), 40, 'the reference read every frame');
  // 40 frames for the default budget of 120: every frame is piped whole
  assert.equal(r.candidateStride, 1);
  // a local file is sampled while its clip is recorded, always in grid mode (the graph a decoder
  // started with the recording waits for): the sample step took that sample
  assert.equal(r.sampledAhead, 1);
  assert.equal(r.warmSampleDecodes, 1);
  assert.ok(lines.some((l) => /run 1\/1: ffmpeg .* s, pipeline .* s \(40 frames/.test(l)), lines.join('\n'));
  const budget4 = cameraSchema.parse({ id: 'b', source: clip, sample: { budget: 4 } });
  process.env.AUTOTUNER_SAMPLE_AHEAD = '0';
  try {
    // sampled after the capture: the same frames, and the sample step's ffmpeg is warmed during the
    // capture only for a grid decode
    const after = await runCaptureBench({ video: clip, iterations: 1 });
    assert.equal(after.sampledAhead, 0);
    assert.equal(after.warmSampleDecodes, 0);
    assert.equal(after.frames, 40);
    assert.equal(after.selected, r.selected);
    // a budget of 4 with 2 candidates a slot: 1 frame in 5 piped whole, every frame still decoded and scored
    const small = await runCaptureBench({ video: clip, iterations: 1, camera: budget4 });
    assert.equal(small.candidateStride, 5);
    assert.equal(small.frames, 40);
    // that grid decode's ffmpeg was started during the capture, and the sample step took it
    assert.equal(small.warmSampleDecodes, 1);
    assert.equal(small.sampledAhead, 0);
    assert.ok(small.selected > 0 && small.selected <= 4);
  } finally {
    delete process.env.AUTOTUNER_SAMPLE_AHEAD;
  }
  const small = await runCaptureBench({ video: clip, iterations: 1, camera: budget4 });
  assert.equal(small.candidateStride, 5);
  assert.equal(small.sampledAhead, 1);
  // a 25 fps video sampled at the default 10 fps: both rates count the video's own frames (the
  // pipeline decodes all of them), not the 10 fps it scores
  const fast = await cutDemo(tmp.dir, 'fast.avi', { start: 10, seconds: 2, width: 192, fps: 25 });
  const f = await runCaptureBench({ video: fast, iterations: 1 });
  assert.equal(f.frames, 50);
  assert.equal(f.sampledFrames, 20);
  assert.equal(Math.round(f.ffmpegFps * f.ffmpegSeconds), 50);
  assert.ok(Math.abs(f.pipelineFps - 50 / f.pipelineSeconds) < 0.1, `${f.pipelineFps} vs 50 / ${f.pipelineSeconds}`);
});

test('bench capture: a video that cannot be read is named, with why and what to pass', async () => {
  const missing = `${tmp.dir}/missing.avi`;
  await assert.rejects(runCaptureBench({ video: missing, iterations: 1 }), (e: Error) => {
    assert.ok(e.message.includes(missing), e.message);
    assert.match(e.message, /failed \(exit \d+\): .*No such file or directory.*; bench capture needs a readable video \(--video PATH\)/);
    return true;
  });
});
