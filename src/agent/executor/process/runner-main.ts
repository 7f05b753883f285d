// Entry point of the runner, the per-node supervisor of task processes (shoal's containerd + shim in one
// small Node process). The daemon starts it detached with `process.execPath runner-main.js --root DIR` and
// talks to it over DIR/runner.sock; it outlives the daemon, so tasks survive a daemon crash or upgrade.
//
// Only one runner may serve a data dir. The lock is an abstract unix socket named after the scope: binding
// it is atomic and the kernel releases it when the process dies, so a crashed runner never leaves a stale
// lock behind (and a second runner started in a race simply exits).

import { existsSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { Cgroups } from './cgroups.js';
import { findLaunchTools } from './tools.js';
import { executorPaths } from './paths.js';
import { Runner } from './runner.js';
import { RunnerServer } from './runner-server.js';

/** How long a runner with no tasks and no clients lingers before exiting. */
const DEFAULT_IDLE_EXIT_MS = 60_000;
/** How often the runner checks whether it is idle or its data dir was deleted. */
const HOUSEKEEPING_MS = 1_000;

interface RunnerArgs {
  root: string;
  idleExitMs: number;
  cgroups: boolean;
}

function parseArgs(argv: string[]): RunnerArgs {
  let root: string | undefined;
  let idleExitMs = DEFAULT_IDLE_EXIT_MS;
  let cgroups = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--root') root = argv[++i];
    else if (arg === '--idle-exit-ms') idleExitMs = Number(argv[++i]);
    else if (arg === '--no-cgroups') cgroups = false;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!root) throw new Error('usage: runner-main.js --root DIR [--idle-exit-ms N] [--no-cgroups]');
  if (!Number.isFinite(idleExitMs) || idleExitMs < 0) throw new Error('--idle-exit-ms must be a number');
  return { root, idleExitMs, cgroups };
}

/**
 * The runner's log (its stdout, a file beside the tasks' logs). A line that cannot be written (a full disk)
 * is dropped: the runner must outlive its log, since tasks lose their output pipes when it dies. Written
 * straight to fd 1, as the process.stdout stream is destroyed for good by its first failed write.
 */
function log(message: string): void {
  const line = Buffer.from(`${new Date().toISOString()} runner[${process.pid}]: ${message}\n`);
  try {
    let offset = 0;
    while (offset < line.length) {
      const written = writeSync(1, line, offset);
      if (written <= 0) return;
      offset += written;
    }
  } catch {
    // Dropped; see above.
  }
}

/** Errors of the disk or of an output stream: the runner carries on after them (see `log`). */
const SURVIVABLE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EPIPE', 'EAGAIN', 'EROFS']);

function isSurvivable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && SURVIVABLE_CODES.has(code);
}

/** Holds the scope's lock for the life of the process; false if another runner holds it. */
function acquireLock(scope: string): Promise<Server | undefined> {
  const lock = createServer();
  return new Promise((resolve, reject) => {
    lock.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err),
    );
    lock.listen(`\0shoal-runner-lock-${scope}`, () => resolve(lock));
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // For the runner's own files (which also get explicit modes); tasks get Docker's 022 (see withTaskUmask).
  process.umask(0o077);
  const paths = executorPaths(args.root);
  const lock = await acquireLock(paths.scope);
  if (!lock) {
    log(`another runner serves ${paths.root}; exiting`);
    return;
  }
  lock.unref();

  const cgroups = args.cgroups ? Cgroups.detect(paths.scope, { warn: log }) : Cgroups.disabled(paths.scope);
  const runner = new Runner({ paths, cgroups, tools: findLaunchTools(), log });
  await runner.recover();

  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    server.close();
    log('exiting');
    process.exit(code);
  };
  const server = new RunnerServer({
    runner,
    socketPath: paths.socket,
    hello: { scope: paths.scope, cgroups: cgroups.driver },
    log,
    onShutdown: () => exit(0),
  });
  await server.listen();
  log(`serving ${paths.root} on ${paths.socket} (cgroups: ${cgroups.driver}, scope ${paths.scope})`);

  // A runner stopped on purpose stops its tasks: without it they would run with nobody to reap them.
  let stopping = false;
  const stopTasksAndExit = (purge = false): void => {
    if (stopping) return;
    stopping = true;
    void runner.shutdown(purge).finally(() => exit(0));
  };
  process.on('SIGTERM', () => stopTasksAndExit());
  process.on('SIGINT', () => stopTasksAndExit());
  process.on('SIGHUP', () => {}); // the terminal that started a daemon going away is no reason to stop

  let idleSince: number | undefined;
  setInterval(
    () => {
      if (!existsSync(paths.root)) {
        // The data dir was deleted (a test cleaning up, a node wiped): nobody can reach these tasks again.
        if (!stopping) log(`${paths.root} is gone; stopping all tasks`);
        stopTasksAndExit(true);
        return;
      }
      const idle = runner.runningCount === 0 && server.connectionCount === 0;
      if (!idle) idleSince = undefined;
      else if (idleSince === undefined) idleSince = Date.now();
      else if (Date.now() - idleSince >= args.idleExitMs) {
        log('idle: no tasks and no clients');
        exit(0);
      }
    },
    Math.min(HOUSEKEEPING_MS, Math.max(10, args.idleExitMs / 2)),
  ).unref();
  // The socket server keeps the process alive; the timers above must not.
}

// Anything writing to stdout or stderr directly must not turn a full disk into an uncaught exception.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

process.on('uncaughtException', (err) => {
  if (isSurvivable(err)) {
    // A write that failed for lack of space is no reason to take every task's output pipes away.
    log(`error (carrying on): ${err.stack ?? String(err)}`);
    return;
  }
  log(`fatal: ${err.stack ?? String(err)}`);
  process.exit(70);
});

main().catch((err: Error) => {
  log(`fatal: ${err.stack ?? String(err)}`);
  process.exit(70);
});
