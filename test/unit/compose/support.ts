// Loading Compose files in unit tests: the example stacks (test/fixtures/stacks, a copy of the shared
// examples), files written inline, an environment given per test.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkImages,
  getConfigDetails,
  loadComposeFile,
  loadConfig,
  type LoaderHost,
} from '../../../src/compose/loader.js';
import { configYAML } from '../../../src/compose/config-out.js';
import type { Config } from '../../../src/compose/types.js';

// dist/test/unit/compose/ → the repository.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const STACKS = join(ROOT, 'test/fixtures/stacks');

/** The variables `interpolation.test-env` sets. */
export function testEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(STACKS, 'interpolation.test-env'), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

export interface Host extends LoaderHost {
  warnings: string[];
}

/** A loader host over the real files, with inline files by name and the given environment. */
export function host(
  env: Record<string, string> = {},
  inline: Record<string, string> = {},
  cwd = STACKS,
): Host {
  const warnings: string[] = [];
  return {
    env,
    cwd,
    readFile: (path) => {
      const name = path.startsWith(cwd + '/') ? path.slice(cwd.length + 1) : path;
      if (Object.hasOwn(inline, name)) return Buffer.from(inline[name]!);
      return readFileSync(path);
    },
    readStdin: () => Promise.resolve(Buffer.from(inline['-'] ?? '')),
    warn: (message) => warnings.push(message),
    warnings,
  };
}

export async function load(files: string[], h: Host = host()): Promise<Config> {
  const details = await getConfigDetails(files, h);
  return loadConfig(details, h);
}

/** `stack deploy`'s loading: the configuration, the notices and the image check. */
export async function loadForDeploy(
  files: string[],
  h: Host = host(),
): Promise<{ config: Config; notices: string }> {
  const loaded = await loadComposeFile(files, h);
  checkImages(loaded.config);
  return { config: loaded.config, notices: loaded.notices };
}

/** What `stack config` prints for inline files. */
export async function configText(
  files: Record<string, string>,
  env: Record<string, string> = {},
): Promise<string> {
  const h = host(env, files, '/nowhere');
  return configYAML(await load(Object.keys(files), h));
}

/** The error loading gives, as its message. */
export async function loadError(
  files: Record<string, string>,
  env: Record<string, string> = {},
): Promise<string> {
  const h = host(env, files, '/nowhere');
  try {
    await loadForDeploy(Object.keys(files), h);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('loading succeeded');
}
