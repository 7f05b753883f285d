// Real etcd members for the store's tests: each one on loopback, on free ports, with its data in a temporary
// directory, started the way a manager starts its member (src/daemon/etcd/process.ts) but with short raft
// timeouts so a one-member cluster elects itself at once. Not a test file.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EtcdProcess } from '../../../src/daemon/etcd/process.js';
import { freePort } from '../../harness/ports.js';

export interface TestEtcd {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly process: EtcdProcess;
}

/** Starts members on demand and removes them all, with their data, on `dispose`. */
export class TestEtcds {
  private readonly root = mkdtempSync(join(tmpdir(), 'shoal-etcd-'));
  private readonly members: EtcdProcess[] = [];
  private counter = 0;

  /** A new one-member cluster, empty and healthy. */
  async start(): Promise<TestEtcd> {
    const name = `m${this.counter++}`;
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const dataDir = join(this.root, name, 'data');
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const process = await EtcdProcess.start({
      name,
      dataDir,
      clientUrl: `http://127.0.0.1:${clientPort}`,
      peerUrl,
      initialCluster: `${name}=${peerUrl}`,
      initialClusterState: 'new',
      heartbeatMs: 10,
      electionMs: 100,
      logFile: join(this.root, name, 'etcd.log'),
    });
    this.members.push(process);
    return { endpoint: `http://127.0.0.1:${clientPort}`, dataDir, process };
  }

  /** Starts a member again on its data (after `kill` or `stop`), with the same ports. */
  async restart(member: TestEtcd): Promise<TestEtcd> {
    const process = await EtcdProcess.start({ ...member.process.config, initialClusterState: 'existing' });
    this.members.push(process);
    return { ...member, process };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.members.map((member) => member.kill()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
