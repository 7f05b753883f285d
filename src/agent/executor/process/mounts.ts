// The launch step that gives a process task its secrets and configs (issue 11): the task runs in a mount
// namespace of its own, where a tmpfs holds its files and they are bind-mounted read-only at their
// targets — the secrets' directory at /run/secrets, every other file at its own target. Nothing of it is
// visible outside the task's namespace: not to the host, the runner or other tasks, and the host's own
// files are not changed.
//
// How a target that does not exist on the host is made: the task cannot get a new file in a directory of
// the host without the host's directory changing, so the nearest directory that exists (`/etc` for
// `/etc/app.conf`, `/run` for `/run/secrets`) is replaced, in the task's namespace only, by a *stand-in*:
// a directory on the task's tmpfs with the same mode and owner, holding an entry for each of the original's
// — each bind-mounted (recursively) from the original, symlinks copied — plus the missing directories
// (0755, root's) and the target. So the task sees the host's directory with its files added, reads and
// writes the host's entries through their binds, and only what it creates directly in a stood-in directory
// stays in its namespace (and memory). When that directory is `/` itself (`/app`, Docker's default target of
// a config named `app`), the stand-in becomes the task's root directory (chroot), its working directory
// entered again inside it. A stand-in costs one mount per entry of the directory (about 0.4 s for /etc's 150).
//
// Refused, with runc's words as Docker shows them: a target that is `/` or an existing directory (or under
// a file), one inside /proc or /sys, and two files at one target.
//
// The data never passes through a command line, an environment or the runner's state file: the launch
// script mounts the tmpfs in the new namespace and waits; the runner writes the files into it through
// /proc/<pid>/root (which resolves paths in the task's namespace) and lets the script go on with the
// mounts. See launch.ts for where this step runs among the others.

import { statSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join, posix } from 'node:path';
import { SECRETS_DIR } from '../task-files.js';

/** What the launch needs to know of a file: where it goes, and how to name it in a refusal. */
export interface FileTarget {
  kind: 'secret' | 'config';
  name: string;
  target: string;
}

/** What is at a path, following symlinks: a directory, something else, or nothing. */
export type PathKind = 'dir' | 'other' | undefined;
export type StatPath = (path: string) => PathKind;

/** A file the runner writes into the task's tmpfs: `path` relative to it. */
export interface StagedFile<T> {
  file: T;
  path: string;
}

export interface MountPlan<T> {
  /** Directories the runner makes in the tmpfs first (relative, 0755 or 0700), parents first. */
  dirs: { path: string; mode: number }[];
  files: StagedFile<T>[];
  /** The step's operations, three words each (see MOUNT_STEP_SCRIPT). */
  ops: string[];
}

const NOT_A_DIRECTORY =
  'not a directory: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

function refusal(file: FileTarget, target: string, reason: string): Error {
  return new Error(
    `error mounting ${file.kind} ${JSON.stringify(file.name)} to rootfs at ${JSON.stringify(target)}: ${reason}`,
  );
}

const isUnder = (path: string, dir: string): boolean =>
  dir === '/' || path === dir || path.startsWith(`${dir}/`);
const strictlyUnder = (path: string, dir: string): boolean => path !== dir && isUnder(path, dir);

/** Every ancestor of an absolute path, nearest first: `/a/b/c` → `/a/b`, `/a`, `/`. */
function ancestors(path: string): string[] {
  const result: string[] = [];
  for (let p = posix.dirname(path); ; p = posix.dirname(p)) {
    result.push(p);
    if (p === '/') return result;
  }
}

/** Where a file goes in the task's view: into the secrets' directory, or bound at its own target. */
function inSecretsDir(target: string): boolean {
  return target.startsWith(`${SECRETS_DIR}/`);
}

/**
 * Refuses targets no mount can serve, with runc's texts (Docker's task errors); `stat` looks at the host.
 * The controller checks this before the task starts (a refused task is rejected), the runner again when
 * it plans the mounts.
 */
export function checkTargets(files: readonly FileTarget[], stat: StatPath): void {
  const seen = new Map<string, FileTarget>();
  for (const file of files) {
    const target = file.target;
    if (target === '/proc' || target.startsWith('/proc/'))
      throw refusal(file, target, `${JSON.stringify(target)} cannot be mounted because it is inside /proc`);
    if (target === '/sys' || target.startsWith('/sys/'))
      throw refusal(file, target, `open ${target}: read-only file system`);
    if (target === '/' || stat(target) === 'dir') throw refusal(file, target, NOT_A_DIRECTORY);
    for (const ancestor of ancestors(target)) {
      const kind = stat(ancestor);
      if (kind === 'other') throw refusal(file, target, NOT_A_DIRECTORY);
      if (kind === 'dir') break;
    }
    const earlier = seen.get(target);
    if (earlier) throw refusal(file, target, `duplicate mount point: ${target}`);
    seen.set(target, file);
  }
  // A file where another needs a directory (`/etc/x` and `/etc/x/y`; `/run/secrets` itself beside secrets,
  // which make it a directory).
  const points = [...seen.keys()].map((t) => (inSecretsDir(t) ? SECRETS_DIR : t));
  const secretsDir = [...seen.keys()].some(inSecretsDir);
  for (const [target, file] of seen) {
    if (inSecretsDir(target)) continue;
    if ((secretsDir && target === SECRETS_DIR) || points.some((other) => strictlyUnder(other, target)))
      throw refusal(file, target, NOT_A_DIRECTORY);
  }
}

/**
 * The mounts of a task's files, given the host as `stat` sees it and the tmpfs's path `stage` (an empty
 * directory of the runner's, where the tmpfs is mounted in the task's namespace only).
 */
export function planMounts<T extends FileTarget>(
  files: readonly T[],
  stage: string,
  stat: StatPath,
): MountPlan<T> {
  checkTargets(files, stat);
  const plan: MountPlan<T> = { dirs: [], files: [], ops: [] };
  const op = (name: string, a: string, b = '-'): void => void plan.ops.push(name, a, b);

  // The tmpfs: s/ the secrets' directory (as the task sees /run/secrets: 0755), f/ the other files, n/ the
  // stand-ins.
  const points: { target: string; kind: 'dir' | 'file'; source: string }[] = [];
  const secretDirs = new Set<string>();
  files.forEach((file, i) => {
    if (inSecretsDir(file.target)) {
      const relative = file.target.slice(SECRETS_DIR.length + 1);
      for (let dir = posix.dirname(relative); dir !== '.'; dir = posix.dirname(dir))
        secretDirs.add(`s/${dir}`);
      plan.files.push({ file, path: `s/${relative}` });
    } else {
      plan.files.push({ file, path: `f/${i}` });
      points.push({ target: file.target, kind: 'file', source: `${stage}/f/${i}` });
    }
  });
  if (plan.files.some((staged) => staged.path.startsWith('s/'))) {
    plan.dirs.push({ path: 's', mode: 0o755 });
    for (const dir of [...secretDirs].sort((a, b) => a.length - b.length))
      plan.dirs.push({ path: dir, mode: 0o755 });
    points.push({ target: SECRETS_DIR, kind: 'dir', source: `${stage}/s` });
  }
  if (points.some((p) => p.kind === 'file')) plan.dirs.push({ path: 'f', mode: 0o700 });

  // Shallow targets first: a stand-in of `/` must come before those of directories below it.
  points.sort((a, b) => depth(a.target) - depth(b.target) || (a.target < b.target ? -1 : 1));
  /** What this plan has made (stand-ins' entries are the originals', so the host's `stat` still holds). */
  const made = new Map<string, 'dir' | 'other'>();
  const kindOf = (path: string): PathKind => made.get(path) ?? stat(path);
  const stoodIn = new Set<string>();
  let root = ''; // the stand-in of `/`, once there is one: later paths are reached through it
  const view = (path: string): string => (root ? `${root}${path === '/' ? '' : path}` : path);
  let standIns = 0;

  for (const point of points) {
    const wanted = point.kind === 'dir' ? 'dir' : 'other';
    if (kindOf(point.target) !== wanted) {
      // Made below the nearest existing directory, which gets a stand-in (once).
      const existing = ancestors(point.target).find((dir) => kindOf(dir) === 'dir')!;
      if (!stoodIn.has(existing)) {
        stoodIn.add(existing);
        if (standIns === 0) plan.dirs.push({ path: 'n', mode: 0o700 });
        const standIn = `${stage}/n/${standIns++}`;
        op('standin', view(existing), standIn);
        // The entry that holds the tmpfs itself was bound with it: the copy goes, so the task sees none of it.
        if (strictlyUnder(stage, existing))
          op('detach', `${standIn}${existing === '/' ? stage : stage.slice(existing.length)}`);
        if (existing === '/') root = standIn;
        else op('rbind', standIn, view(existing));
      }
      const missing = ancestors(point.target)
        .filter((dir) => strictlyUnder(dir, existing))
        .reverse();
      for (const dir of missing) {
        if (kindOf(dir) === 'dir') continue;
        op('dir', view(dir));
        made.set(dir, 'dir');
      }
      op(point.kind === 'dir' ? 'dir' : 'file', view(point.target));
      made.set(point.target, wanted);
    }
    op('ro', point.source, view(point.target));
  }
  if (root) op('root', root);
  return plan;
}

const depth = (path: string): number => (path === '/' ? 0 : path.split('/').length - 1);

/**
 * The step in the launch script (see launch.ts). Its words, after the count of them: the tmpfs's path, the
 * task's working directory, then operations of three words each:
 *
 *   standin DIR NEW   NEW: a stand-in of DIR (its mode and owner; each entry bound, symlinks copied)
 *   rbind FROM TO     mount --rbind FROM TO (a stand-in over its original)
 *   dir PATH -        a missing directory, 0755 · file PATH -: a missing file, to mount on
 *   ro FROM TO        FROM bind-mounted read-only at TO
 *   detach PATH -     unmounts PATH lazily · root DIR -: DIR becomes the root directory at exec
 *
 * File descriptor 3 is a socket to the runner: the step says `R` once the tmpfs is mounted, waits for `G`
 * (the files are written), then answers `D` when the mounts are made, or `F<why>` before it exits 125.
 * Then it closes fd 3 and enters the working directory again (inside the new root, if there is one): the
 * original may have been replaced by a stand-in. Tools are looked up on a PATH of its own, and the task's
 * PATH is left as it was.
 */
export const MOUNT_STEP_SCRIPT: readonly string[] = [
  'm=$1; shift',
  'if [ "$m" -gt 0 ]; then',
  '  stage=$1 cwd=$2; shift 2; m=$((m - 2)); newroot=',
  '  if [ -n "${PATH+x}" ]; then taskpath=$PATH; else taskpath=; unsetpath=1; fi',
  '  PATH=/usr/sbin:/usr/bin:/sbin:/bin',
  '  chrootbin=$(command -v chroot)',
  '  fail() { printf "F%s\\n" "$*" >&3; exit 125; }',
  '  run() { out=$("$@" 2>&1) || fail "$out"; }',
  '  run mount -t tmpfs -o mode=0700,nosuid,nodev,noexec shoal-task-files "$stage"',
  '  printf R >&3 || exit 125',
  '  read -r go <&3 || exit 125',
  '  [ "$go" = G ] || exit 125',
  '  while [ "$m" -gt 0 ]; do',
  '    op=$1 a=$2 b=$3; shift 3; m=$((m - 3))',
  '    case $op in',
  '      standin)',
  '        run mkdir "$b"; run chmod --reference="$a" "$b"; run chown --reference="$a" "$b"',
  '        for p in "$a"/* "$a"/.[!.]* "$a"/..?*; do',
  '          [ -e "$p" ] || [ -L "$p" ] || continue',
  '          e=${p##*/}',
  '          if [ -L "$p" ]; then run ln -s "$(readlink "$p")" "$b/$e"',
  '          elif [ -d "$p" ]; then run mkdir "$b/$e"; run mount --rbind "$p" "$b/$e"',
  '          else : > "$b/$e" || fail "cannot create $b/$e"; run mount --rbind "$p" "$b/$e"; fi',
  '        done ;;',
  '      rbind) run mount --rbind "$a" "$b" ;;',
  '      dir) run mkdir -m 0755 "$a" ;;',
  '      file) : > "$a" || fail "cannot create $a" ;;',
  '      ro) run mount --bind -o ro "$a" "$b" ;;',
  '      detach) umount -l "$a" 2>/dev/null ;;',
  '      root) newroot=$a ;;',
  '      *) fail "unknown mount operation $op" ;;',
  '    esac',
  '  done',
  '  [ -n "$newroot" ] || umount -l "$stage" 2>/dev/null',
  '  printf D >&3 || exit 125',
  '  exec 3>&-',
  '  if [ -n "$unsetpath" ]; then unset PATH; else PATH=$taskpath; fi',
  '  if [ -n "$newroot" ]; then',
  '    exec "$chrootbin" "$newroot" /bin/sh -c \'cd "$1" || exit 125; shift; exec "$@"\' shoal-cwd "$cwd" "$@"',
  '  fi',
  '  cd "$cwd" || exit 125',
  'fi',
];

/** `stat` of the host as the runner sees it (the task's new namespace starts as a copy of it). */
export function hostStat(path: string): PathKind {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : 'other';
  }
}

/** How long the files step may take to mount the tmpfs, and then to make the mounts. */
export const FILES_STEP_TIMEOUT_MS = 30_000;

/** The file contents and ownership the runner writes; `data` is base64. */
export interface WritableFile {
  uid: number;
  gid: number;
  mode: number;
  data: string;
}

/**
 * The runner's side of the files step (MOUNT_STEP_SCRIPT): once the task's process has mounted its tmpfs
 * (`R` on `channel`, its fd 3), writes the plan's directories and files into it through
 * /proc/<pid>/root — the tmpfs exists in the task's namespace only — then lets the step go on (`G`) and
 * resolves when it has made the mounts (`D`). Rejects with the step's reason (`F…`), or when the process
 * ends (`gone()` says why) or takes too long. Error messages name paths, never data.
 */
export async function writeTaskFiles<T extends WritableFile & FileTarget>(
  pid: number,
  channel: Socket,
  stage: string,
  plan: MountPlan<T>,
  gone: () => string | undefined,
  timeoutMs = FILES_STEP_TIMEOUT_MS,
): Promise<void> {
  const replies = new StepReplies(channel, gone, timeoutMs);
  try {
    await replies.next('R');
    const root = `/proc/${pid}/root${stage}`;
    for (const dir of plan.dirs) {
      const path = join(root, dir.path);
      await mkdir(path, { mode: dir.mode });
      await chmod(path, dir.mode);
    }
    for (const { file, path: relative } of plan.files) {
      const path = join(root, relative);
      try {
        await writeFile(path, Buffer.from(file.data, 'base64'), { mode: 0o600, flag: 'wx' });
        await chown(path, file.uid, file.gid);
        await chmod(path, file.mode);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        throw new Error(`error injecting ${file.kind} ${JSON.stringify(file.name)}: ${code}`);
      }
    }
    channel.write('G\n');
    await replies.next('D');
  } finally {
    replies.close();
    channel.destroy();
  }
}

/** What the files step says on fd 3, one reply at a time. */
class StepReplies {
  private received = '';
  private waiter: (() => void) | undefined;
  private closed = false;

  constructor(
    channel: Socket,
    private readonly gone: () => string | undefined,
    private readonly timeoutMs: number,
  ) {
    channel.setEncoding('utf8');
    channel.on('data', (chunk: string) => {
      this.received += chunk;
      this.waiter?.();
    });
    const ended = (): void => {
      this.closed = true;
      this.waiter?.();
    };
    channel.on('end', ended);
    channel.on('close', ended);
    channel.on('error', ended);
  }

  /** Resolves on `expected`; rejects on a failure reply, the end of the channel, or the timeout. */
  next(expected: 'R' | 'D'): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          settle(
            new Error(`mounting the task's secrets and configs took more than ${this.timeoutMs / 1000}s`),
          ),
        this.timeoutMs,
      );
      const settle = (err?: Error): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (err) reject(err);
        else resolve();
      };
      const check = (): void => {
        if (this.received.startsWith(expected)) {
          this.received = this.received.slice(1);
          settle();
        } else if (this.received.startsWith('F') && (this.received.includes('\n') || this.closed)) {
          const reason = this.received.slice(1).split('\n')[0]!.trim();
          settle(new Error(`mounting the task's secrets and configs failed: ${reason}`));
        } else if (this.received.length > 0 && !this.received.startsWith('F')) {
          settle(new Error("the task's files step answered out of turn"));
        } else if (this.closed) {
          const why = this.gone();
          settle(
            new Error(`mounting the task's secrets and configs failed: ${why ?? 'the files step ended'}`),
          );
        }
      };
      this.waiter = check;
      check();
    });
  }

  close(): void {
    this.waiter = undefined;
  }
}
