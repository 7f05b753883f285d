// Several managers on one etcd cluster, each a process of its own (ha-manager-child.ts) on its own member:
// what the HA tests and bench/leader-failover drive. A "manager host" dies by kill -9 of both its manager
// and its etcd member, and comes back by restarting both on their data. Not a test file.

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { TestEtcds, type TestEtcd } from './etcd-servers.js';

const CHILD = fileURLToPath(new URL('./ha-manager-child.js', import.meta.url));

export interface HaManager {
  readonly index: number;
  readonly nodeId: string;
  readonly swarmDir: string;
  member: TestEtcd;
  child: ChildProcess | undefined;
  leading: boolean;
  /** When it last reported that it leads (performance.now()). */
  ledAt: number;
}

export class HaCluster {
  readonly managers: HaManager[] = [];
  /** Creates waiting for an answer, by child process. */
  private readonly pending = new Map<ChildProcess, Map<string, (answer: string) => void>>();
  private readonly root = mkdtempSync(join(tmpdir(), 'shoal-ha-'));

  private constructor(
    private readonly etcds: TestEtcds,
    private readonly ttlSeconds: number,
  ) {}

  /** `size` managers on a `size`-member etcd cluster; the first bootstraps the swarm and leads at first. */
  static async start(options: {
    size: number;
    ttlSeconds: number;
    etcdTiming?: { heartbeatMs: number; electionMs: number };
  }): Promise<HaCluster> {
    const cluster = new HaCluster(new TestEtcds(options.etcdTiming), options.ttlSeconds);
    const members = await cluster.etcds.cluster(options.size);
    for (const [index, member] of members.entries()) {
      const swarmDir = join(cluster.root, `manager${index}`);
      mkdirSync(join(swarmDir, 'manager'), { recursive: true });
      cluster.managers.push({
        index,
        nodeId: `manager${index}`,
        swarmDir,
        member,
        child: undefined,
        leading: false,
        ledAt: 0,
      });
    }
    await cluster.launch(cluster.managers[0]!, true);
    // The others share the swarm's data key, as a joining manager is given it.
    for (const manager of cluster.managers.slice(1)) {
      copyFileSync(
        join(cluster.managers[0]!.swarmDir, 'manager', 'store.key'),
        join(manager.swarmDir, 'manager', 'store.key'),
      );
      await cluster.launch(manager, false);
    }
    return cluster;
  }

  private launch(manager: HaManager, bootstrap: boolean): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        CHILD,
        manager.swarmDir,
        manager.member.endpoint,
        manager.nodeId,
        String(this.ttlSeconds),
        ...(bootstrap ? ['bootstrap'] : []),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    manager.child = child;
    manager.leading = false;
    const pending = new Map<string, (answer: string) => void>();
    this.pending.set(child, pending);
    child.once('exit', () => {
      for (const resolve of pending.values()) resolve('manager died');
      this.pending.delete(child);
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code, signal) =>
        reject(new Error(`${manager.nodeId} exited (${code ?? signal}) while starting`)),
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const [word, name, ...rest] = line.split(' ');
        if (word === 'ready') resolve();
        else if (word === 'leading') {
          manager.leading = name === 'true';
          if (manager.leading) manager.ledAt = performance.now();
        } else if ((word === 'ok' || word === 'err') && name) {
          pending.get(name)?.(word === 'ok' ? 'ok' : rest.join(' '));
          pending.delete(name);
        }
      });
    });
  }

  leader(): HaManager | undefined {
    return this.managers.find((manager) => manager.child && manager.leading);
  }

  /** Asks manager `index` to create a service; resolves with 'ok' or the error message. */
  create(index: number, name: string): Promise<string> {
    const child = this.managers[index]?.child;
    if (!child) return Promise.resolve('manager down');
    const pending = this.pending.get(child);
    if (!pending) return Promise.resolve('manager died');
    return new Promise((resolve) => {
      pending.set(name, resolve);
      child.stdin!.write(`create ${name}\n`);
    });
  }

  /** The manager's host dies: kill -9 of its manager process and of its etcd member. */
  async kill(manager: HaManager): Promise<void> {
    const child = manager.child;
    manager.child = undefined;
    manager.leading = false;
    const exited = child ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve();
    child?.kill('SIGKILL');
    await Promise.all([exited, manager.member.process.kill()]);
  }

  /**
   * The host comes back: its member restarts on its data and rejoins; its manager starts again. With
   * `forceNewCluster`, the member comes back as the only member of a new cluster (`swarm init
   * --force-new-cluster` on a survivor).
   */
  async restart(manager: HaManager, options: { forceNewCluster?: boolean } = {}): Promise<void> {
    manager.member = await this.etcds.restart(manager.member, options);
    await this.launch(manager, false);
  }

  async stop(): Promise<void> {
    for (const manager of this.managers) {
      manager.child?.kill('SIGKILL');
      manager.child = undefined;
    }
    await this.etcds.dispose();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** An endpoint of a member that runs. */
  endpoint(): string {
    return this.managers.find((manager) => manager.member.process.running)!.member.endpoint;
  }

  keyFile(): string {
    return join(this.managers[0]!.swarmDir, 'manager', 'store.key');
  }
}
