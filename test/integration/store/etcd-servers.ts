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

  /** Raft timing of the members (default: 10 ms heartbeat, 100 ms election timeout, for fast tests). */
  constructor(
    private readonly timing: { heartbeatMs: number; electionMs: number } = {
      heartbeatMs: 10,
      electionMs: 100,
    },
  ) {}

  /** A new one-member cluster, empty and healthy. */
  async start(): Promise<TestEtcd> {
    return (await this.cluster(1))[0]!;
  }

  /** A new cluster of `size` members started together (each given the whole member list). */
  async cluster(size: number): Promise<TestEtcd[]> {
    const planned = await Promise.all(Array.from({ length: size }, () => this.plan()));
    const initialCluster = planned.map((member) => `${member.name}=${member.peerUrl}`).join(',');
    return Promise.all(planned.map((member) => this.launch(member, initialCluster, 'new')));
  }

  /** Names and ports for a member that has not started yet (for a member to add to a running cluster). */
  async plan(): Promise<{ name: string; peerUrl: string; clientPort: number }> {
    const name = `m${this.counter++}`;
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    return { name, peerUrl: `http://127.0.0.1:${peerPort}`, clientPort };
  }

  /** Starts a planned member, of a new cluster or joining an existing one. */
  async launch(
    member: { name: string; peerUrl: string; clientPort: number },
    initialCluster: string,
    state: 'new' | 'existing',
  ): Promise<TestEtcd> {
    const dataDir = join(this.root, member.name, 'data');
    const process = await EtcdProcess.start({
      name: member.name,
      dataDir,
      clientUrl: `http://127.0.0.1:${member.clientPort}`,
      peerUrl: member.peerUrl,
      initialCluster,
      initialClusterState: state,
      ...this.timing,
      logFile: join(this.root, member.name, 'etcd.log'),
    });
    this.members.push(process);
    return { endpoint: `http://127.0.0.1:${member.clientPort}`, dataDir, process };
  }

  /**
   * Starts a member again on its data (after `kill` or `stop`), with the same ports; with
   * `forceNewCluster`, as the only member of a new cluster keeping the data.
   */
  async restart(member: TestEtcd, options: { forceNewCluster?: boolean } = {}): Promise<TestEtcd> {
    const process = await EtcdProcess.start({
      ...member.process.config,
      initialClusterState: 'existing',
      forceNewCluster: options.forceNewCluster ?? false,
    });
    this.members.push(process);
    return { ...member, process };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.members.map((member) => member.kill()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
