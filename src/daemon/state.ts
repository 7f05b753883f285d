// What a node remembers about its swarm membership between runs, kept in `<data-dir>/swarm/state.json`.
// Written atomically (temp file, fsync, rename) so a kill -9 leaves either the old or the new state.

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { NodeRole } from '../api/types.js';

export interface SwarmMembership {
  nodeId: string;
  clusterId: string;
  role: NodeRole;
  /** Address other nodes reach this node's cluster port at (`ip:port`). */
  advertiseAddr: string;
  /** Address the cluster port listens on (`ip:port`). */
  listenAddr: string;
  /** Manager addresses to connect to (workers; managers list themselves). */
  remoteManagers: string[];
  datastore: 'embedded' | 'etcd';
}

export class SwarmStateFile {
  readonly path: string;

  constructor(readonly swarmDir: string) {
    this.path = join(swarmDir, 'state.json');
  }

  read(): SwarmMembership | undefined {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as SwarmMembership;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  write(state: SwarmMembership): void {
    writeFileAtomic(this.path, JSON.stringify(state, null, 2) + '\n', 0o600);
  }

  /** Forgets the swarm: everything under the swarm directory (store, certificates, state). */
  clear(): void {
    rmSync(this.swarmDir, { recursive: true, force: true });
  }
}

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
