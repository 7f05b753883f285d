// Where the built daemon and CLI are. The harness is compiled with the rest of the repo, to dist/ or to
// another outDir (e.g. .build/harness/), as <build>/test/harness/*.js; the daemon and CLI of that same
// build sit at <build>/src/…, which keeps a test and the code it tests from the same compile.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The compiled tree this file belongs to (dist/ or another outDir). */
export const buildRoot = resolve(here, '..', '..');

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'shoal') return dir;
    } catch {
      // no (readable) package.json here: keep going up
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the shoal repository above ${start}`);
  }
}

/** The repository (the folder with shoal's package.json). */
export const repoRoot = findRepoRoot(here);

/** The same build's file if it exists, else the one in the repo's dist/. */
function builtFile(relative: string): string {
  const sibling = join(buildRoot, relative);
  return existsSync(sibling) ? sibling : join(repoRoot, 'dist', relative);
}

/** shoald's entry point (override with SHOALD_ENTRY). */
export const daemonEntry = (): string => process.env.SHOALD_ENTRY ?? builtFile('src/daemon/main.js');

/** The shoal CLI's entry point (override with SHOAL_CLI_ENTRY). */
export const cliEntry = (): string => process.env.SHOAL_CLI_ENTRY ?? builtFile('src/cli/main.js');
