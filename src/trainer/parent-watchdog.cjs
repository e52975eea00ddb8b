'use strict';
/**
 * Runs a custom trainer (student.command) and stops it when the worker that launched it is gone.
 * A worker killed with SIGKILL cannot stop its trainer; the retried activity on a new worker would
 * then race an orphaned trainer over the same checkpoint directory. The built-in trainer watches its
 * parent itself (autotuner_trainer/watchdog.py); a custom one is wrapped in this.
 *   node parent-watchdog.cjs LAUNCHER_PID COMMAND [ARGS...]
 * This process leads the trainer's process group (runTrainer starts it detached): the trainer and
 * whatever it starts share it, so one group kill stops them all. Exit code: the trainer's.
 */
const { spawn } = require('node:child_process');

const [launcherArg, cmd, ...args] = process.argv.slice(2);
const launcher = Number(launcherArg);
if (!launcher || !cmd) {
  process.stderr.write('usage: parent-watchdog.cjs LAUNCHER_PID COMMAND [ARGS...]\n');
  process.exit(2);
}
const child = spawn(cmd, args, { stdio: 'inherit' });
child.on('error', (err) => {
  // exit 2 is the trainer contract's "bad input": a missing trainer is a config error, not worth retrying
  process.stderr.write(`cannot start trainer "${cmd}": ${err.message}. Check student.command.\n`);
  process.exit(2);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
// A group-wide SIGTERM (cancellation) reaches the trainer too: wait for it to finish rather than die first.
process.on('SIGTERM', () => {});
process.on('SIGINT', () => {});
setInterval(() => {
  if (process.ppid === launcher) return;
  process.stderr.write(`[parent-watchdog] launcher pid ${launcher} is gone; stopping the trainer\n`);
  try {
    process.kill(-process.pid, 'SIGTERM');
  } catch {
    /* gone already */
  }
  setTimeout(() => {
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }, 10_000).unref();
}, 1000);
