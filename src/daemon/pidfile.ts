// One daemon per data dir. The lock is an abstract unix socket named after the data dir: binding it is
// atomic, and the kernel releases it when the process dies, so a kill -9 leaves no stale lock and two
// daemons starting at once cannot both win. The PID file beside it only tells operators (and the error
// message) who holds the lock, so failing to write it (a full disk) is reported but does not stop the
// daemon: it must start and serve the API to say what is wrong.

import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

export class DataDirInUseError extends Error {}

function lockName(dataDir: string): string {
  const digest = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 32);
  return `\0shoald-lock-${digest}`;
}

export interface LockOptions {
  /** Told when the PID file cannot be written; the lock is held regardless. */
  onPidFileError?: (err: Error) => void;
}

/** Takes the data dir's lock and writes its PID file; resolves with the release function. */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<() => void> {
  const pidFile = join(dataDir, 'shoald.pid');
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return reject(err);
      let holder = '';
      try {
        holder = ` (pid ${readFileSync(pidFile, 'utf8').trim()})`;
      } catch {
        // no PID file yet: the other daemon is starting
      }
      reject(
        new DataDirInUseError(
          `another shoald${holder} is already using this data directory (${dataDir}); stop it first or use --data-dir`,
        ),
      );
    });
    server.listen(lockName(dataDir), () => resolve());
  });
  server.unref();
  try {
    writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o644 });
  } catch (err) {
    // A half-written PID file would name the wrong process; none names nobody.
    rmSync(pidFile, { force: true });
    options.onPidFileError?.(err as Error);
  }
  return () => {
    try {
      if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile);
    } catch {
      // already gone
    }
    server.close();
  };
}
