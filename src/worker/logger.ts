import { DefaultLogger, IllegalStateError, Runtime, type LogEntry, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { CAMERA_MOVED_WARNING } from '../pipeline/progress.js';

/**
 * Warnings the SDK logs that are expected in this deployment's shape, where they would only alarm
 * an operator: an edge worker serves activities only, by design (workflows run on the gpu queue),
 * and the SDK warns about that at every start.
 */
const EXPECTED_WARNINGS = new Set(['No workflows registered, not polling for workflow tasks']);

/**
 * What the demo reports itself, for the workers it runs in its own process: its progress line shows
 * an activity's retries with their last failure, its summary a failed run's cause and a moved camera.
 * The SDK's warnings for them (each with a stack trace) would bury that summary.
 */
export const REPORTED_BY_THE_DEMO: readonly string[] = ['Activity failed', 'Workflow failed', CAMERA_MOVED_WARNING];

/** The SDK's default logger (stderr, `level` and up), with the expected warnings (and any `quiet` ones) demoted to DEBUG. */
export class WorkerLogger extends DefaultLogger {
  private readonly demoted: ReadonlySet<string>;
  constructor(level?: LogLevel, logFunction?: (entry: LogEntry) => void, quiet: readonly string[] = []) {
    super(level, logFunction);
    this.demoted = new Set([...EXPECTED_WARNINGS, ...quiet]);
  }
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    super.log(level === 'WARN' && this.demoted.has(message) ? 'DEBUG' : level, message, meta);
  }
}

/**
 * Install the SDK runtime with a WorkerLogger at `level` (AUTOTUNER_LOG_LEVEL overrides it).
 * Must run before the process's first Temporal connection; where a runtime is installed already
 * (an embedding program's), that one is kept.
 */
export function installWorkerRuntime(level: LogLevel, quiet: readonly string[] = []): void {
  const wanted = (process.env.AUTOTUNER_LOG_LEVEL?.toUpperCase() as LogLevel | undefined) ?? level;
  try {
    Runtime.install({ logger: new WorkerLogger(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(wanted) ? wanted : level, undefined, quiet) });
  } catch (err) {
    if (!(err instanceof IllegalStateError)) throw err;
  }
}
