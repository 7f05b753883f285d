// A whole test cluster in one call: N hosts on one network, one shoald on each, and the swarm-forming
// steps (init on one, join the others) done through the Engine API the way the docker CLI does them.
//
//   const cluster = await TestCluster.create({ hosts: ['manager', 'worker1', 'worker2', 'worker3'] });
//   await cluster.init(0);
//   await cluster.join([1, 2, 3]);
//   await cluster.waitForNodes();
//   ... cluster.daemon('manager').docker(['node', 'ls']) ...
//   await cluster.destroy();

import { TestDockerd, type TestDockerdOptions } from './dockerd.js';
import type { Host, NetworkOptions } from './netns.js';
import { Network } from './netns.js';
import { ShoalDaemon, type ShoalDaemonOptions, type TestOutcome } from './shoald.js';
import { waitFor } from './wait.js';

/** Docker's swarm port. */
export const CLUSTER_PORT = 2377;

export interface TestClusterOptions {
  /** How many hosts (named node0, node1, …) or their names (also their hostnames). Default 3. */
  hosts?: number | readonly string[];
  /** Options for every daemon; a function gets each host's index and name. */
  daemon?: ShoalDaemonOptions | ((index: number, name: string) => ShoalDaemonOptions);
  /**
   * A Docker Engine on every host (a TestDockerd, with busybox imported), and shoald running the docker
   * executor on it (`--executor docker --engine-host <its socket>`, added to the daemon's extraArgs).
   */
  dockerEngines?: boolean | (TestDockerdOptions & { images?: readonly string[] });
  /** Start the daemons (in parallel) before returning. Default true. */
  start?: boolean;
  defaultRoute?: NetworkOptions['defaultRoute'];
  /** A test (or suite hook) context: the cluster is destroyed after it, pass or fail. */
  t?: { after(fn: () => unknown): void };
}

/** What POST /swarm/init takes beyond the addresses (e.g. `Spec: { Dispatcher: { HeartbeatPeriod } }`). */
export type SwarmInitExtras = Record<string, unknown>;

interface SwarmInspect {
  ID: string;
  JoinTokens: { Worker: string; Manager: string };
}

interface NodeSummary {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
}

type Which = number | string;

export class TestCluster {
  private managerIndex: number | undefined;

  private constructor(
    readonly network: Network,
    readonly daemons: ShoalDaemon[],
    /** Each host's Docker Engine, with `dockerEngines` (same order as the daemons). */
    readonly engines: TestDockerd[] = [],
  ) {}

  static async create(options: TestClusterOptions = {}): Promise<TestCluster> {
    const names =
      typeof options.hosts === 'number' || options.hosts === undefined
        ? Array.from({ length: options.hosts ?? 3 }, (_, i) => `node${i}`)
        : options.hosts;
    const network = await Network.create({ hosts: names, defaultRoute: options.defaultRoute });
    try {
      const engineOptions = options.dockerEngines === true ? {} : options.dockerEngines || undefined;
      const engines = engineOptions
        ? await Promise.all(
            network.hosts.map(async (host) => {
              const engine = await TestDockerd.onHost(host, engineOptions);
              await engine.importBusybox(engineOptions.images);
              return engine;
            }),
          )
        : [];
      const daemons = network.hosts.map((host, i) => {
        const daemonOptions =
          typeof options.daemon === 'function' ? options.daemon(host.index, host.name) : options.daemon;
        const engine = engines[i];
        if (!engine) return new ShoalDaemon(host, daemonOptions);
        return new ShoalDaemon(host, {
          ...daemonOptions,
          extraArgs: [
            '--executor',
            'docker',
            '--engine-host',
            engine.apiHost,
            ...(daemonOptions?.extraArgs ?? []),
          ],
        });
      });
      const cluster = new TestCluster(network, daemons, engines);
      options.t?.after(() => cluster.destroy());
      if (options.start ?? true) await cluster.startAll();
      return cluster;
    } catch (err) {
      await network.destroy();
      throw err;
    }
  }

  get hosts(): readonly Host[] {
    return this.network.hosts;
  }

  /** A daemon by host index or name. */
  daemon(which: Which): ShoalDaemon {
    const daemon =
      typeof which === 'number' ? this.daemons[which] : this.daemons.find((d) => d.host.name === which);
    if (!daemon) throw new Error(`no node ${JSON.stringify(which)} in this cluster`);
    return daemon;
  }

  /** A host's Docker Engine (created with `dockerEngines`). */
  engine(which: Which): TestDockerd {
    const engine = this.engines[this.daemons.indexOf(this.daemon(which))];
    if (!engine)
      throw new Error(
        `node ${JSON.stringify(which)} has no Docker Engine (create the cluster with dockerEngines)`,
      );
    return engine;
  }

  host(which: Which): Host {
    return this.daemon(which).host as Host;
  }

  /** The daemon swarm init ran on (the first manager). */
  get manager(): ShoalDaemon {
    if (this.managerIndex === undefined) throw new Error('the cluster has no manager yet: call init() first');
    return this.daemon(this.managerIndex);
  }

  /** A new host on the same network with a started daemon that is in no swarm yet. */
  async addDaemon(name?: string, options?: ShoalDaemonOptions): Promise<ShoalDaemon> {
    const host = await this.network.addHost(name);
    const daemon = new ShoalDaemon(host, options);
    this.daemons.push(daemon);
    await daemon.start();
    return daemon;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.daemons.filter((d) => !d.running).map((d) => d.start()));
  }

  /**
   * `docker swarm init --advertise-addr <ip> --listen-addr <ip>:2377` on one node, through the API.
   * Returns the new node's ID.
   */
  async init(which: Which = 0, extras: SwarmInitExtras = {}): Promise<string> {
    const daemon = this.daemon(which);
    const nodeId = await daemon.apiOk<string>('POST', '/swarm/init', {
      ListenAddr: `${daemon.address}:${CLUSTER_PORT}`,
      AdvertiseAddr: daemon.address,
      ...extras,
    });
    this.managerIndex = this.daemons.indexOf(daemon);
    return nodeId;
  }

  /** Fetches the join token for `role` from the manager (GET /swarm), as `docker swarm join-token -q`. */
  async joinToken(role: 'worker' | 'manager' = 'worker'): Promise<string> {
    const swarm = await this.manager.apiOk<SwarmInspect>('GET', '/swarm');
    return role === 'manager' ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker;
  }

  /**
   * `docker swarm join --token <token> <manager>:2377` on each given node, through the API (one after the
   * other, as people do). `token` overrides the one fetched from the manager, e.g. to test a bad one.
   */
  async join(
    which: Which | readonly Which[],
    options: { role?: 'worker' | 'manager'; token?: string } = {},
  ): Promise<void> {
    const token = options.token ?? (await this.joinToken(options.role));
    const manager = this.manager;
    for (const one of Array.isArray(which) ? which : [which]) {
      const daemon = this.daemon(one as Which);
      await daemon.apiOk('POST', '/swarm/join', {
        ListenAddr: `${daemon.address}:${CLUSTER_PORT}`,
        AdvertiseAddr: daemon.address,
        RemoteAddrs: [`${manager.address}:${CLUSTER_PORT}`],
        JoinToken: token,
      });
    }
  }

  /** init(managerIndex) and join every other node as a worker. */
  async form(managerIndex: Which = 0): Promise<void> {
    await this.init(managerIndex);
    const others = this.daemons.filter((d) => d !== this.manager).map((d) => this.daemons.indexOf(d));
    if (others.length > 0) await this.join(others);
  }

  /** GET /nodes on the manager. */
  async nodes(): Promise<NodeSummary[]> {
    return this.manager.apiOk<NodeSummary[]>('GET', '/nodes');
  }

  /** Waits until the manager lists `count` nodes (default: every daemon) all in state `state` (default ready). */
  async waitForNodes(
    options: { count?: number; state?: string; timeoutMs?: number } = {},
  ): Promise<NodeSummary[]> {
    const count = options.count ?? this.daemons.length;
    const state = options.state ?? 'ready';
    return waitFor(() => this.nodes(), {
      until: (nodes) => nodes.length === count && nodes.every((n) => n.Status?.State === state),
      description: `${count} nodes to be ${state}`,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  /** For `afterEach((t) => cluster.reportOnFailure(t))`: every daemon's log tail on a failed test. */
  reportOnFailure(t: TestOutcome, lines = 60): void {
    for (const daemon of this.daemons) daemon.reportOnFailure(t, lines);
  }

  /** Kills everything and removes the network, every daemon's files and every engine. */
  async destroy(): Promise<void> {
    await Promise.all(this.engines.map((engine) => engine.destroy()));
    await this.network.destroy();
  }
}
