// Turns a ContainerSpec into what the runner executes: the command line, the environment, the executable's
// path and the working directory, with the checks Docker (runc) makes before it runs a process and the same
// error text, e.g. `exec: "x": executable file not found in $PATH`.

import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { ContainerSpec } from '../../../api/types.js';

/** Docker's PATH when the image (here: nothing) sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Command then Args, Docker's Entrypoint + Cmd. Without an image there is no default to fall back on, so
 * an empty result fails as Docker's create does for an image without one.
 */
export function commandLine(spec: ContainerSpec): string[] {
  const argv = [...(spec.Command ?? []), ...(spec.Args ?? [])];
  if (argv.length === 0) throw new Error('no command specified');
  return argv;
}

/**
 * The process environment: the defaults a container gets (PATH, HOSTNAME, and HOME as runc adds it), each
 * replaced by the spec's own value for the same name. Entries without `=` are dropped.
 */
export function buildEnv(
  specEnv: readonly string[] | undefined,
  defaults: { hostname: string; home: string },
): string[] {
  const env = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['HOSTNAME', defaults.hostname],
    ['HOME', defaults.home],
  ]);
  for (const entry of specEnv ?? []) {
    const equals = entry.indexOf('=');
    if (equals <= 0) continue;
    env.set(entry.slice(0, equals), entry.slice(equals + 1));
  }
  return [...env].map(([name, value]) => `${name}=${value}`);
}

export function envValue(env: readonly string[], name: string): string | undefined {
  const prefix = `${name}=`;
  return env.findLast((entry) => entry.startsWith(prefix))?.slice(prefix.length);
}

/** The absolute path of the program to run, looked up in the task's PATH as exec would. */
export async function resolveExecutable(name: string, env: readonly string[], cwd: string): Promise<string> {
  if (name.includes('/')) {
    const path = isAbsolute(name) ? name : resolve(cwd, name);
    const problem = await executableProblem(path);
    if (problem === 'missing') throw new Error(`exec: "${name}": stat ${name}: no such file or directory`);
    if (problem !== undefined) throw new Error(`exec: "${name}": ${problem}`);
    return path;
  }
  for (const dir of (envValue(env, 'PATH') ?? DEFAULT_PATH).split(':')) {
    const path = resolve(cwd, dir === '' ? '.' : dir, name);
    if ((await executableProblem(path)) === undefined) return path;
  }
  throw new Error(`exec: "${name}": executable file not found in $PATH`);
}

async function executableProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return 'is a directory';
    // Root may execute any file with an execute bit; for another user exec itself reports EACCES.
    if (!info.isFile() || (info.mode & 0o111) === 0) return 'permission denied';
    return undefined;
  } catch {
    return 'missing';
  }
}

/** runc's check of the working directory, with its text. */
export async function checkWorkingDir(dir: string): Promise<void> {
  let problem: string | undefined;
  try {
    if (!(await stat(dir)).isDirectory()) problem = 'not a directory';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problem =
      code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(err);
  }
  if (problem !== undefined)
    throw new Error(`chdir to cwd (${JSON.stringify(dir)}) set in config.json failed: ${problem}`);
}
