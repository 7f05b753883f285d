// The real docker CLI is a test dependency, like `ip` or `nft`: end-to-end tests run it next to `shoal`
// against the same daemon and compare. `scripts/setup.sh` installs it on a machine without one. A test
// that needs it gets it through dockerCli(), which fails loudly when it is missing — such a test never
// passes by asserting less.

import { execFileSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export class DockerCliMissingError extends Error {
  override name = 'DockerCliMissingError';
}

let cached: { path: string; version: string } | DockerCliMissingError | undefined;

/** The first executable `docker` on PATH, or undefined. */
function findOnPath(pathVariable: string): string | undefined {
  for (const dir of pathVariable.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'docker');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The path of the real docker CLI (the first `docker` on PATH, checked once per process to answer
 * `docker --version`). Throws DockerCliMissingError, saying how to install it, when there is none or it
 * does not run.
 */
export function dockerCli(): string {
  cached ??= locate();
  if (cached instanceof DockerCliMissingError) throw cached;
  return cached.path;
}

/** `docker --version` of the CLI dockerCli() returns (e.g. "Docker version 28.2.2, build e6534b4"). */
export function dockerCliVersion(): string {
  dockerCli();
  return (cached as { version: string }).version;
}

function locate(): { path: string; version: string } | DockerCliMissingError {
  const fix =
    'the real docker CLI is a test dependency: run `bash scripts/setup.sh` as root to install it ' +
    '(Debian package docker-cli, or docker.io without starting its daemon)';
  const pathVariable = process.env.PATH ?? '';
  const path = findOnPath(pathVariable);
  if (!path) return new DockerCliMissingError(`no executable \`docker\` on PATH (${pathVariable}); ${fix}`);
  try {
    const version = execFileSync(path, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    }).trim();
    return { path, version };
  } catch (err) {
    const failure = err as { message: string; stderr?: string };
    const detail = (failure.stderr ?? '').trim() || failure.message;
    return new DockerCliMissingError(`\`${path} --version\` failed (${detail}); ${fix}`);
  }
}
