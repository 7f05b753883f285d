// What a node remembers about its swarm membership between runs, kept in `<data-dir>/swarm/state.json`.
// Written atomically (temp file, fsync, rename) so a kill -9 leaves either the old or the new state. A file
// that is there but empty or unreadable is a `DamagedStateError`, never taken for "not in a swarm".

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
import { DamagedStateError, fileWriteError, isDiskError } from '../store/file-errors.js';

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
  /** `--data-path-addr` as an IP: the source and destination of this node's VXLAN traffic. */
  dataPathAddr?: string;
  /** A manager's etcd member's ports (with the etcd datastore), chosen at init from shoald's options. */
  etcd?: { clientPort: number; peerPort: number };
}

export class SwarmStateFile {
  readonly path: string;

  constructor(readonly swarmDir: string) {
    this.path = join(swarmDir, 'state.json');
  }

  /**
   * The membership, or undefined when the node is in no swarm (no file: it is written last at init and
   * removed first at leave). Errors reading the file are thrown as they are: they may pass.
   */
  read(): SwarmMembership | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const damaged = (problem: string, cause?: unknown) =>
      new DamagedStateError(
        { kind: 'swarm-state', what: 'the swarm state file', file: this.path, problem },
        { cause },
      );
    if (text.trim() === '') throw damaged('is empty');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw damaged(`is not valid JSON (${(err as Error).message})`, err);
    }
    const state = parsed as Partial<Record<keyof SwarmMembership, unknown>>;
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw damaged('holds no object');
    for (const field of ['nodeId', 'clusterId', 'advertiseAddr', 'listenAddr'] as const) {
      if (typeof state[field] !== 'string' || state[field] === '') throw damaged(`has no valid "${field}"`);
    }
    if (state.role !== 'manager' && state.role !== 'worker') throw damaged('has no valid "role"');
    const remotes = state.remoteManagers ?? [];
    if (!Array.isArray(remotes) || remotes.some((addr) => typeof addr !== 'string')) {
      throw damaged('has no valid "remoteManagers"');
    }
    if (state.role === 'worker' && remotes.length === 0) throw damaged('names no manager to connect to');
    const datastore = state.datastore === 'etcd' ? 'etcd' : 'embedded';
    const etcd = state.etcd as SwarmMembership['etcd'] | undefined;
    const validPort = (port: unknown) =>
      Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536;
    if (
      datastore === 'etcd' &&
      state.role === 'manager' &&
      !(etcd && validPort(etcd.clientPort) && validPort(etcd.peerPort))
    ) {
      throw damaged('has no valid "etcd" ports');
    }
    return {
      ...(state as SwarmMembership),
      remoteManagers: remotes as string[],
      datastore,
      ...(typeof state.dataPathAddr === 'string' && state.dataPathAddr !== ''
        ? { dataPathAddr: state.dataPathAddr }
        : {}),
    };
  }

  write(state: SwarmMembership): void {
    try {
      writeFileAtomic(this.path, JSON.stringify(state, null, 2) + '\n', 0o600);
    } catch (err) {
      if (isDiskError(err)) throw fileWriteError('the swarm state file', this.path, err);
      throw err;
    }
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

/**
 * Replaces `path` with `data` so that a crash leaves the old or the new content, and a failure (a full
 * disk) leaves the old content and no temporary file.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      // A short write (the disk filling up) is followed by another, which then reports why.
      for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
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
