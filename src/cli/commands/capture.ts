import { cp, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { globalOpts, printJson } from '../context.js';
import { positiveInt, positiveNumber } from '../numbers.js';

interface CaptureOpts {
  source?: string;
  camera?: string;
  frames?: number;
  seconds?: number;
  out?: string;
}

/** One progress line on stderr: rewritten in place on a terminal, one line per update otherwise. */
function progress(): { update(text: string): void; done(): void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(text) {
      const now = Date.now();
      if (!tty && now - last < 2000) return;
      last = now;
      process.stderr.write(tty ? `\r\x1b[2K${text}` : `${text}\n`);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}

/** `--out`, resolved and made (with its parents) when missing; refused when it is a file or cannot be made. */
async function outDir(given: string): Promise<string> {
  const out = path.resolve(given);
  const st = await stat(out).catch(() => null);
  if (st && !st.isDirectory()) throw new Error(`--out ${out} is a file: give a directory (it is made when missing)`);
  await mkdir(out, { recursive: true }).catch((err: Error) => {
    throw new Error(`--out ${out} cannot be made: ${err.message}`);
  });
  return out;
}

export function register(program: Command): void {
  program
    .command('capture')
    .description('capture a window of a camera and sample frames from it, without Temporal (same code as the activities)')
    .option('--source <url>', 'file, rtsp://, http(s):// or device (default: the camera\'s source)')
    .option('--camera <id>', 'camera whose settings to use (default: the first in the config)')
    .option('--frames <n>', 'stop after this many frames at the capture fps', positiveInt)
    .option('--seconds <s>', 'stop after this many seconds', positiveNumber)
    .option('--out <dir>', 'also copy the sampled frames (images/ + manifest.json) here, replacing an earlier capture\'s, with motion.jpg: the motion found, the motion mask and suggested regions over a frame')
    .option('--json', 'last stdout line is one JSON object')
    .action(async (o: CaptureOpts, cmd: Command) => {
      const g = globalOpts(cmd);
      // checked before the capture, not after it: a bad --out must not cost a capture
      const out = o.out ? await outDir(o.out) : undefined;
      const [{ findCamera, loadConfig }, { cameraSchema }, { captureAndSample }, { redactText }, { makeDeps }, { restlessHint }, { writeMotionPreview }] = await Promise.all([
        import('../../config/load.js'),
        import('../../config/schema.js'),
        import('../../sampling/pipeline.js'),
        import('../../video/redact.js'),
        import('../../worker/deps.js'),
        import('../../sampling/restless.js'),
        import('../../sampling/motion-preview.js'),
      ]);
      const loaded = await loadConfig(g.config);
      const base = o.camera ? findCamera(loaded.config, o.camera) : loaded.config.cameras[0]!;
      const camera = cameraSchema.parse({
        ...base,
        source: o.source ?? base.source,
        capture: { ...base.capture, ...(o.frames ? { frames: o.frames } : {}), ...(o.seconds ? { seconds: o.seconds } : {}) },
      });
      const deps = makeDeps(loaded.config, loaded.dir);
      // A trial never writes the camera's background state (the camera-moved check across runs
      // belongs to its tunings): it compares with it when it captures that camera, and ignores it
      // when --source names another one (its scene is not the camera's).
      const cameraState = camera.source === base.source ? 'compare' : 'ignore';
      const p = progress();
      const t0 = Date.now();
      // Nothing resumes a command-line capture (an activity's retry does resume its own): its
      // segments go with it, failed or not. Ctrl-C stops the capture and its ffmpegs (they run in
      // their own process group) and removes what it wrote; a second Ctrl-C exits at once.
      const workDir = path.join(deps.dataDir, 'capture', `cli-${camera.id}-${process.pid}-${t0}`);
      const interrupted = new AbortController();
      const onSigint = (): void => interrupted.abort(new Error('capture interrupted (Ctrl-C)'));
      process.once('SIGINT', onSigint);
      let r: Awaited<ReturnType<typeof captureAndSample>>;
      try {
        r = await captureAndSample({
          camera,
          store: deps.store,
          dataDir: deps.dataDir,
          workDir,
          runKey: `cli-${t0}`,
          cameraState,
          onCapture: (c) => p.update(`capture: ${c.framesSoFar} frames, ${c.seconds.toFixed(1)} s recorded`),
          onSample: (s) => p.update(`sample: ${s.decoded} frames decoded (t=${s.t.toFixed(1)} s)`),
          signal: interrupted.signal,
        });
      } catch (err) {
        p.done();
        if (interrupted.signal.aborted) {
          process.exitCode = 130;
          throw interrupted.signal.reason as Error;
        }
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
        await rm(workDir, { recursive: true, force: true });
      }
      p.done();
      const framesDir = await deps.store.localPath(r.sample.frames);
      if (out) {
        // this capture's frames only: an earlier capture's images/ and manifest.json there are replaced
        await rm(path.join(out, 'images'), { recursive: true, force: true });
        await rm(path.join(out, 'manifest.json'), { force: true });
        await rm(path.join(out, 'motion.jpg'), { force: true });
        await cp(framesDir, out, { recursive: true });
      }
      // what to set sample.motionMask by (a run that kept no frame has nothing to draw on)
      const preview = out && r.manifest.frames.length ? await writeMotionPreview({ framesDir, manifest: r.manifest, motionMask: camera.sample.motionMask, out: path.join(out, 'motion.jpg') }) : null;
      const secs = (Date.now() - t0) / 1000;
      console.log(`source   ${redactText(camera.source, camera.source)}`);
      const gaps = r.capture.footageSeconds !== undefined ? ` (${r.capture.footageSeconds.toFixed(1)} s of video, gaps left out)` : '';
      const order = r.manifest.stats.deinterlaced ?? r.capture.interlaced;
      const fields = order ? `, ${r.manifest.stats.deinterlaced ? 'deinterlaced' : 'interlaced, left combed (capture.deinterlace "never")'}${order === 'auto' ? '' : ` (${order === 'tff' ? 'top' : 'bottom'} field first)`}` : '';
      console.log(`captured ${r.capture.frames} frames, ${r.capture.seconds.toFixed(1)} s${gaps}, ${r.capture.width}x${r.capture.height} @ ${r.capture.fps} fps${fields}`);
      const stride = r.manifest.stats.candidateStride ?? 1;
      // every frame is scored; with a stride only every k-th leaves ffmpeg whole and can be kept
      const whole = stride > 1 ? `; 1 frame in ${stride} whole, see sample.candidatesPerSlot` : '';
      console.log(`sampled  ${r.sample.selected} of ${r.sample.decoded} frames (train ${r.sample.train}, val ${r.sample.val}, empty ${r.sample.emptyKept}${whole}) in ${secs.toFixed(1)} s`);
      if (r.sample.cameraMoved) console.log(`warning  camera moved: ${r.sample.cameraMovedReason}`);
      // a night picture: why its motion boxes are fewer than a glance at the frames suggests
      const { noiseSigma, motionThreshold } = r.manifest.stats;
      if (noiseSigma !== undefined && motionThreshold !== undefined && motionThreshold > 25) {
        console.log(`noise    ${noiseSigma} grey levels (a night picture?): motion counted above ${motionThreshold}, not 25`);
      }
      const restless = r.manifest.stats.restlessRegions ?? [];
      if (restless.length) console.log(`hint     ${restlessHint(restless)}`);
      console.log(`frames   ${out ?? framesDir}`);
      if (preview) console.log(`motion   ${preview} (motion boxes in red, motion mask in blue, suggested regions in yellow, lines every tenth of the frame)`);
      if (g.json) printJson({ capture: r.capture, sample: r.sample, framesDir, out: out ?? null, motionPreview: preview });
    });
}
