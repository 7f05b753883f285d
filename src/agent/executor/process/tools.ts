// Finds the helper programs the runner launches tasks through (see launch.ts).

import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { LaunchTools } from './launch.js';

const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findProgram(name: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function findLaunchTools(): LaunchTools {
  return {
    sh: findProgram('sh') ?? '/bin/sh',
    unshare: findProgram('unshare'),
    nsenter: findProgram('nsenter'),
    setpriv: findProgram('setpriv'),
    mount: findProgram('mount'),
    prlimit: findProgram('prlimit'),
  };
}
