// One daemon per data dir: a PID file that is taken atomically and recognised as stale when its
// process is gone (after a kill -9 the file stays behind).

import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export class DataDirInUseError extends Error {}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isShoald(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('shoald') || cmdline.includes('daemon/main');
  } catch {
    return false;
  }
}

export function acquirePidFile(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) && isShoald(pid)) {
        throw new DataDirInUseError(
          `another shoald (pid ${pid}) is already using this data directory (${path}); stop it first or use --data-dir`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirInUseError(`could not take ${path}`);
}
