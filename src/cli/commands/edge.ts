/** `autotuner edge serve [--site NAME] [--port P]`: the edge runtime for the cameras of one site. */
import path from 'node:path';
import { Command } from 'commander';
import { port, positiveInt } from '../numbers.js';

export function edgeCommand(): Command {
  const edge = new Command('edge').description('edge runtime');
  edge
    .command('serve')
    .description('run the deployed models on the live sources, hot-reloading on deploy; HTTP on 127.0.0.1')
    .option('--site <name>', 'only cameras of this site', 'default')
    .option('--port <port>', 'HTTP port (0: any free one)', port, 8090)
    .option('--threads <n>', 'onnxruntime intra-op threads per camera', positiveInt, 1)
    .action(async (opts: { site: string; port: number; threads: number }, cmd: Command) => {
      const { config: configPath } = cmd.optsWithGlobals() as { config?: string };
      const [{ loadConfig }, { readCurrent }, { startEdgeServer }] = await Promise.all([
        import('../../config/load.js'),
        import('../../edge/deploy.js'),
        import('../../edge/serve.js'),
      ]);
      const loaded = await loadConfig(configPath, { create: false });
      const dataDir = path.resolve(loaded.dir, loaded.config.dataDir);
      const cameras = loaded.config.cameras.filter((c) => c.site === opts.site).map((cam) => ({ id: cam.id, source: cam.source, classes: cam.classes, rtspTransport: cam.capture.rtspTransport, deinterlace: cam.capture.deinterlace }));
      let deployed = 0;
      for (const cam of cameras) {
        if (await readCurrent(dataDir, cam.id)) deployed++;
        else console.error(`edge: camera ${cam.id} has no deployed model yet; it starts when one is deployed`);
      }
      if (!deployed) throw new Error(`no camera of site "${opts.site}" has a deployed model (run a tuning first: autotuner tune <cameraId>)`);
      const server = await startEdgeServer({ dataDir, cameras, port: opts.port, threads: opts.threads });
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  return edge;
}

/** Adds `edge` to the root program (src/cli/main.ts). */
export function register(program: Command): void {
  program.addCommand(edgeCommand());
}
