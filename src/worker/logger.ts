import { DefaultLogger, IllegalStateError, Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';

/**
 * Warnings the SDK logs that are expected in this deployment's shape, where they would only alarm
 * an operator: an edge worker serves activities only, by design (workflows run on the gpu queue),
 * and the SDK warns about that at every start.
 */
const EXPECTED_WARNINGS = new Set(['No workflows registered, not polling for workflow tasks']);

/** The SDK's default logger (stderr, `level` and up), with the expected warnings demoted to DEBUG. */
export class WorkerLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    super.log(level === 'WARN' && EXPECTED_WARNINGS.has(message) ? 'DEBUG' : level, message, meta);
  }
}

/**
 * Install the SDK runtime with a WorkerLogger at `level` (AUTOTUNER_LOG_LEVEL overrides it).
 * Must run before the process's first Temporal connection; where a runtime is installed already
 * (an embedding program's), that one is kept.
 */
export function installWorkerRuntime(level: LogLevel): void {
  const wanted = (process.env.AUTOTUNER_LOG_LEVEL?.toUpperCase() as LogLevel | undefined) ?? level;
  try {
    Runtime.install({ logger: new WorkerLogger(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(wanted) ? wanted : level) });
  } catch (err) {
    if (!(err instanceof IllegalStateError)) throw err;
  }
}
