// What memory-backed mounts (tmpfs) hold, as a process sees them: for tests that a secret is in a task's
// own tmpfs and nowhere else. Reads each tmpfs mount of the process's mount namespace through
// /proc/<pid>/root, file by file, without crossing into other mounts below it.

import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TmpfsMount {
  /** Where the process sees it (relative to its root). */
  mountPoint: string;
  /** major:minor of its filesystem (field 3 of mountinfo): one tmpfs, wherever it is bound. */
  device: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescape = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The tmpfs mounts of a process's mount namespace, from /proc/<pid>/mountinfo. */
export function tmpfsMounts(pid: number | 'self'): TmpfsMount[] {
  const mounts: TmpfsMount[] = [];
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 0 || fields[separator + 1] !== 'tmpfs') continue;
    mounts.push({ mountPoint: unescape(fields[4]!), device: fields[2]! });
  }
  return mounts;
}

/** A file larger than this is not read (nothing the tests look for is that big). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Every regular file on the tmpfs mounts a process sees, but for those of `skipDevices`: its path (as the
 * process sees it) and bytes (latin1). Files of other mounts below a tmpfs are left to their own mount.
 */
export function tmpfsFiles(
  pid: number,
  skipDevices: ReadonlySet<string> = new Set(),
): { path: string; text: string }[] {
  const root = `/proc/${pid}/root`;
  const found: { path: string; text: string }[] = [];
  const walk = (seen: string, device: number): void => {
    let names: string[];
    try {
      names = readdirSync(join(root, seen));
    } catch {
      return; // gone, or hidden by a mount over it
    }
    for (const name of names) {
      const path = join(seen, name);
      const stat = lstatSync(join(root, path), { throwIfNoEntry: false });
      if (!stat || stat.dev !== device) continue;
      if (stat.isDirectory()) walk(path, device);
      else if (stat.isFile() && stat.size <= MAX_FILE_BYTES) {
        try {
          found.push({ path, text: readFileSync(join(root, path)).toString('latin1') });
        } catch {
          // gone meanwhile
        }
      }
    }
  };
  for (const mount of tmpfsMounts(pid)) {
    if (skipDevices.has(mount.device)) continue;
    const stat = lstatSync(join(root, mount.mountPoint), { throwIfNoEntry: false });
    if (stat?.isDirectory()) walk(mount.mountPoint, stat.dev);
    else if (stat?.isFile()) {
      // A tmpfs file bound on its own (a secret at its target).
      try {
        found.push({
          path: mount.mountPoint,
          text: readFileSync(join(root, mount.mountPoint)).toString('latin1'),
        });
      } catch {
        // gone meanwhile
      }
    }
  }
  return found;
}

/**
 * The devices of the machine's own tmpfs mounts, as the test process sees them (/dev/shm, /run…), but for
 * those below `except` (tasks' files mounted on the host): other tests' files, not the nodes' business.
 */
export function machineTmpfsDevices(except: string): Set<string> {
  return new Set(
    tmpfsMounts('self')
      .filter((m) => m.mountPoint !== except && !m.mountPoint.startsWith(`${except}/`))
      .map((m) => m.device),
  );
}
