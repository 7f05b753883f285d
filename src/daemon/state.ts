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

  /**
   * Forgets the swarm: everything under the swarm directory (store, certificates, state). The state
   * file goes first, durably: a crash half-way then leaves a node that knows it is in no swarm (and
   * wipes the rest at its next init or join), never one that thinks it is in a swarm without its
   * certificates.
   */
  clear(): void {
    rmSync(this.path, { force: true });
    fsyncDirectory(this.swarmDir);
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
  fsyncDirectory(dirname(path));
}

/** Makes a rename or unlink in `dir` durable. A missing directory has nothing to make durable. */
export function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
