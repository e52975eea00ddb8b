// The SDK is loaded when a connection is made, not when this module is: CLI commands that never
// talk to Temporal (capture, bench, doctor without a server, models, detect) start ~0.5 s sooner.
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { AutotunerConfig } from '../config/schema.js';

/** TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE override the config (point at an existing cluster). */
export function temporalTarget(config: AutotunerConfig): { address: string; namespace: string } {
  return {
    address: process.env.TEMPORAL_ADDRESS || config.temporal.address,
    namespace: process.env.TEMPORAL_NAMESPACE || config.temporal.namespace,
  };
}

export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

export async function connectClient(config: AutotunerConfig): Promise<{ client: Client; connection: Connection }> {
  const { address, namespace } = temporalTarget(config);
  const { Client, Connection } = await import('@temporalio/client');
  try {
    const connection = await Connection.connect({ address, connectTimeout: '5s' });
    return { client: new Client({ connection, namespace }), connection };
  } catch (err) {
    throw new TemporalUnreachableError(
      `cannot reach the Temporal server at ${address} (${(err as Error).message}). Start one with "autotuner server", or set TEMPORAL_ADDRESS.`,
    );
  }
}

export async function connectWorker(config: AutotunerConfig): Promise<NativeConnection> {
  const { address } = temporalTarget(config);
  const { NativeConnection } = await import('@temporalio/worker');
  try {
    return await NativeConnection.connect({ address });
  } catch (err) {
    throw new TemporalUnreachableError(
      `cannot reach the Temporal server at ${address} (${(err as Error).message}). Start one with "autotuner server", or set TEMPORAL_ADDRESS.`,
    );
  }
}

/** True when something answers Temporal's health check at the address. */
export async function isTemporalUp(address: string): Promise<boolean> {
  const { Connection } = await import('@temporalio/client');
  try {
    const connection = await Connection.connect({ address, connectTimeout: '2s' });
    try {
      await connection.healthService.check({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}
