import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTune } from '../../src/client/tune.js';
import { ensureDevServer, findDevServers, stopDevServer, waitForTemporal } from '../../src/temporal/dev-server.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';
import { VTEST } from './env.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function startServer(config: string): ChildProcess {
  return spawn(process.execPath, ['bin/autotuner.js', '--config', config, 'server'], {
    // The server's own shutdown chatter is noise here; a failed start surfaces through waitForTemporal.
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, TEMPORAL_ADDRESS: '' },
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

test('autotuner server: search attributes registered, history survives a restart (SQLite under the data dir)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autotuner-server-'));
  const address = `127.0.0.1:${await freePort()}`;
  const config = path.join(dir, 'autotuner.config.json');
  await writeFile(config, JSON.stringify({ dataDir: 'data', temporal: { address, uiPort: await freePort() }, cameras: [{ id: 'cam1', source: VTEST }] }));

  let server = startServer(config);
  try {
    await waitForTemporal(address, 60_000, server);
    let connection = await Connection.connect({ address });
    let client = new Client({ connection });
    const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const k of ALL_SEARCH_ATTRIBUTES) assert.ok(k.name in (attrs.customAttributes ?? {}), `${k.name} registered`);
    // No worker: the run stays open, which is what a restart must keep.
    const started = await startTune(client, 'cam1');
    await connection.close();

    await stop(server);
    server = startServer(config);
    await waitForTemporal(address, 60_000, server);
    connection = await Connection.connect({ address });
    client = new Client({ connection });
    const desc = await client.workflow.getHandle('tune/cam1').describe();
    assert.equal(desc.runId, started.runId, 'the same run is there after the restart');
    assert.equal(desc.status.name, 'RUNNING');
    await client.workflow.getHandle('tune/cam1').terminate('test done');
    await connection.close();
  } finally {
    await stop(server);
  }
});

test('a dev server whose data dir was deleted while it ran is found without its pid file and replaced', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'autotuner-orphan-'));
  const dataDir = path.join(dir, 'data');
  const o = { dataDir, address: `127.0.0.1:${await freePort()}`, uiPort: await freePort(), namespace: 'default' };
  const first = await ensureDevServer(o);
  try {
    assert.equal(first.started, true);
    assert.deepEqual(await findDevServers(dataDir), [first.pid]);
    assert.equal((await ensureDevServer(o)).started, false, 'a healthy server is kept');
    // `rm -rf .autotuner` while it runs: its database is gone (the server may write a file in the
    // middle of the removal: ENOTEMPTY then, which rm retries)
    await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    const second = await ensureDevServer(o);
    assert.equal(second.started, true);
    assert.deepEqual(second.replaced, [first.pid]);
    const connection = await Connection.connect({ address: o.address });
    try {
      // the fresh server really works: it takes a run (the orphan failed every call)
      const client = new Client({ connection });
      const h = await client.workflow.start('tuneCamera', { taskQueue: 'nobody', workflowId: 'orphan-check', args: [] });
      await h.terminate('test done');
    } finally {
      await connection.close();
    }
  } finally {
    await rm(path.join(dataDir, 'temporal', 'server.pid'), { force: true }); // stop must not need it
    assert.equal(await stopDevServer(dataDir), true);
    await rm(dir, { recursive: true, force: true });
  }
  const deadline = Date.now() + 15_000;
  while ((await findDevServers(dataDir)).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await findDevServers(dataDir), [], 'stopped');
});
