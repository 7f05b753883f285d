// Simulated hosts for multi-host tests: each Host is a Linux network namespace (plus a UTS namespace, so
// it has its own hostname) with one interface, eth0, cabled by a veth pair into a Network's bridge.
//
// Layout of network <i> (each network takes the i-th /24 of 198.18.0.0/15, 0 ≤ i < 512):
//
//   netns shoaltest-<i>          the "switch": bridge shb<i>, the host-side veths shv<i>n<k>, and the
//                                nftables table that cuts links; nothing else, and no route anywhere
//   netns shoaltest-<i>-<k>      host k: lo, eth0 = 198.18.x.(10+k)/24; hostname = the host's name
//
// The switch is its own namespace, not the machine's: the root namespace gets no interface, address or
// rule, nothing the hosts send can leave the bridge (it has no uplink), and the machine's firewall cannot
// interfere (with br_netfilter loaded, a dockerd on this machine sets the root FORWARD policy to DROP,
// which would silently drop bridged traffic on a root-namespace bridge). Hosts have only their /24 route
// unless `defaultRoute` is asked for, so traffic to any other address fails locally (ENETUNREACH).
//
// Processes enter a host with `nsenter --net --uts`, not `ip netns exec`: the latter also unshares the
// mount namespace and remounts /sys, which hides /sys/fs/cgroup from shoald's task runner.

import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { hostname as machineHostname } from 'node:os';
import { join } from 'node:path';
import {
  claimNetworkIndex,
  hostNamespace,
  NETNS_DIR,
  networkClaimPath,
  registerLive,
  releaseClaim,
  sweepStale,
  sweepStaleOnce,
  switchNamespace,
  teardownNetworkIndex,
  trackDataDir,
  unregisterLive,
  utsFile,
  type LiveResource,
  type SweepReport,
  type TrackedDir,
} from './cleanup.js';
import { CommandError, run, spawnCommand, type ExecOptions, type ExecResult } from './commands.js';
import { describeProcess, killUntilGone, namespaceInode, pidsInNetworkNamespace } from './procs.js';

export { sweepStale, type SweepReport };
export { CommandError, type ExecOptions, type ExecResult };

/** How many /24 networks fit in 198.18.0.0/15. */
const NETWORK_COUNT = 512;
/** Host k gets .(HOST_OFFSET + k): .10 for the first host reads well in logs. */
const HOST_OFFSET = 10;
const MAX_HOSTS = 254 - HOST_OFFSET;
/** The nftables table (inside the switch namespace) through which links are cut. */
const CUT_TABLE = 'shoal_harness';

/**
 * Drops, on the switch, every frame to or from a cut port, and between partitioned ports — except ARP.
 * Letting ARP through keeps the neighbours' entries valid, so a peer's connection attempt times out (as
 * across a real partition) instead of failing after ~3 s with EHOSTUNREACH; nothing else crosses. The
 * hosts' interfaces stay up, so their own stacks see no error either: no RST, no ICMP, no EPERM.
 */
const CUT_TABLE_SCRIPT = `
table bridge ${CUT_TABLE} {
  set cut { type ifname; }
  set blocked { type ifname . ifname; }
  chain forward {
    type filter hook forward priority -200; policy accept;
    ether type arp accept
    iifname @cut drop
    oifname @cut drop
    iifname . oifname @blocked drop
  }
}
`;

/** Where a process runs: a Host (namespaces) or this machine itself (loopback daemons). */
export interface ProcessHost {
  /** The host's name (also its hostname). */
  readonly name: string;
  /** The address other hosts reach it at. */
  readonly address: string;
  /** The argv that runs `file args` on this host. */
  command(file: string, args: readonly string[]): { file: string; args: string[] };
  exec(file: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  spawn(file: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
}

/** The machine itself, as a ProcessHost: for single-node tests on loopback. */
export class LocalHost implements ProcessHost {
  readonly name = machineHostname();
  readonly address = '127.0.0.1';

  command(file: string, args: readonly string[]): { file: string; args: string[] } {
    return { file, args: [...args] };
  }

  exec(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return run(file, args, options);
  }

  spawn(file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawnCommand(file, args, options);
  }
}

export interface NetworkOptions {
  /** Hosts to create right away: a count (named host0, host1, …) or names. */
  hosts?: number | readonly string[];
  /**
   * Give hosts a default route out of eth0, like a real one-NIC machine has (so a daemon can pick its
   * address on its own). Safe — the bridge has no uplink — but traffic to any address outside the
   * network then waits ~3 s for ARP instead of failing at once. Default: false.
   */
  defaultRoute?: boolean;
  /** A test (or suite hook) context: the network is destroyed after it, pass or fail. */
  t?: { after(fn: () => unknown): void };
}

/** A bridge and the hosts cabled to it. Create with `Network.create()`; always `destroy()` it. */
export class Network implements LiveResource {
  readonly subnet: string;
  /** The bridge, inside the switch namespace. */
  readonly bridgeName: string;
  readonly switchNamespace: string;
  readonly hosts: Host[] = [];
  readonly description: string;
  private nextHostIndex = 0;
  private readonly dataDirs: TrackedDir[] = [];
  private isDestroyed = false;
  private readonly prefix: string;

  private constructor(
    /** This network's /24 is the index-th of 198.18.0.0/15. */
    readonly index: number,
    private readonly options: NetworkOptions,
  ) {
    this.prefix = `198.${18 + (index >> 8)}.${index & 255}`;
    this.subnet = `${this.prefix}.0/24`;
    this.bridgeName = `shb${index}`;
    this.switchNamespace = switchNamespace(index);
    this.description = `test network ${this.subnet} (${this.switchNamespace})`;
  }

  static async create(options: NetworkOptions = {}): Promise<Network> {
    assertPrivileged();
    sweepStaleOnce();
    const network = new Network(allocateNetworkIndex(), options);
    registerLive(network);
    options.t?.after(() => network.destroy());
    try {
      await run('ip', ['netns', 'add', network.switchNamespace], {
        purpose: `creating ${network.description}`,
      });
      await Promise.all([
        run('ip', ['-n', network.switchNamespace, '-batch', '-'], {
          input: [
            `link add ${network.bridgeName} type bridge`,
            // A marker for anyone looking at the machine: whose bridge this is.
            `link set ${network.bridgeName} alias shoal-test-harness`,
            `link set ${network.bridgeName} up`,
          ].join('\n'),
          purpose: `creating bridge ${network.bridgeName}`,
        }),
        network.inSwitch('nft', ['-f', '-'], {
          input: CUT_TABLE_SCRIPT,
          purpose: 'creating the link-cut table',
        }),
      ]);
      if (options.hosts !== undefined) await network.addHosts(options.hosts);
    } catch (err) {
      await network.destroy().catch(() => {});
      throw err;
    }
    return network;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** The address host k gets. */
  hostAddress(hostIndex: number): string {
    return `${this.prefix}.${HOST_OFFSET + hostIndex}`;
  }

  /** A host by name or by index. */
  host(which: string | number): Host {
    const host = typeof which === 'number' ? this.hosts[which] : this.hosts.find((h) => h.name === which);
    if (!host) throw new Error(`no host ${JSON.stringify(which)} in ${this.description}`);
    return host;
  }

  async addHost(name?: string): Promise<Host> {
    const [host] = await this.addHosts(name === undefined ? 1 : [name]);
    return host!;
  }

  /** Creates hosts, all at once (a handful of `ip` calls in total, most in parallel). */
  async addHosts(which: number | readonly string[]): Promise<Host[]> {
    this.assertUsable();
    const first = this.nextHostIndex;
    const names =
      typeof which === 'number' ? Array.from({ length: which }, (_, i) => `host${first + i}`) : which;
    if (first + names.length > MAX_HOSTS) throw new Error(`a test network holds at most ${MAX_HOSTS} hosts`);
    for (const name of names) {
      if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) {
        throw new Error(
          `host name ${JSON.stringify(name)} must be a hostname (lowercase letters, digits, -)`,
        );
      }
      if (this.hosts.some((h) => h.name === name) || names.indexOf(name) !== names.lastIndexOf(name)) {
        throw new Error(`host name ${name} is already used in ${this.description}`);
      }
    }
    this.nextHostIndex += names.length;
    const hosts = names.map((name, i) => new Host(this, first + i, name));

    // The hostname lives in a UTS namespace kept by a bind mount; it needs nothing else, so it is made
    // while the network side is set up.
    const hostnames = Promise.all(
      hosts.map(async (host) => {
        closeSync(openSync(host.utsFile, 'w'));
        await run('unshare', [`--uts=${host.utsFile}`, 'hostname', host.name], {
          purpose: `creating host ${host.name}'s UTS namespace`,
        });
      }),
    );
    const cabling = (async () => {
      await run('ip', ['-batch', '-'], {
        input: hosts.map((host) => `netns add ${host.namespace}`).join('\n'),
        purpose: `creating namespaces for ${names.join(', ')}`,
      });
      await run('ip', ['-n', this.switchNamespace, '-batch', '-'], {
        input: hosts
          .flatMap((host) => [
            `link add ${host.vethName} type veth peer name eth0 netns ${host.namespace}`,
            `link set ${host.vethName} master ${this.bridgeName} up`,
          ])
          .join('\n'),
        purpose: `cabling ${names.join(', ')} to ${this.bridgeName}`,
      });
      await Promise.all(
        hosts.map((host) =>
          run('ip', ['-n', host.namespace, '-batch', '-'], {
            input: [
              'link set lo up',
              `addr add ${host.address}/24 dev eth0`,
              'link set eth0 up',
              ...(this.options.defaultRoute ? ['route add default dev eth0'] : []),
            ].join('\n'),
            purpose: `configuring host ${host.name}`,
          }),
        ),
      );
    })();
    // Wait for both even when one fails, so nothing is still running when the caller cleans up.
    const [named, cabled] = await Promise.allSettled([hostnames, cabling]);
    if (named.status === 'rejected') throw named.reason;
    if (cabled.status === 'rejected') throw cabled.reason;
    this.hosts.push(...hosts);
    return hosts;
  }

  /**
   * Cuts traffic between every host of `a` and every host of `b` (both ways), leaving each side's other
   * links alone — e.g. to split managers. Same black-hole semantics as Host.cutLink().
   */
  async partition(a: readonly Host[], b: readonly Host[]): Promise<void> {
    const pairs = a.flatMap((x) =>
      b.flatMap((y) => [`${x.vethName} . ${y.vethName}`, `${y.vethName} . ${x.vethName}`]),
    );
    if (pairs.length === 0) return;
    await this.nft(`add element bridge ${CUT_TABLE} blocked { ${pairs.join(', ')} }`, 'partitioning hosts');
  }

  /** Undoes every partition() and restores every cut link. */
  async heal(): Promise<void> {
    await this.nft(
      `flush set bridge ${CUT_TABLE} blocked\nflush set bridge ${CUT_TABLE} cut`,
      'healing the network',
    );
    for (const host of this.hosts) host.markLink(false);
  }

  /** Records a data dir of a daemon on this network, so destroy() (or a later sweep) cleans it. */
  trackDataDir(dir: TrackedDir): void {
    this.assertUsable();
    this.dataDirs.push(dir);
    trackDataDir(networkClaimPath(this.index), dir);
  }

  /** Kills every process on every host and removes the namespaces, the bridge, the veths and the files. */
  async destroy(): Promise<void> {
    this.cleanupSync();
  }

  /** destroy(), synchronously (for exit handlers). */
  cleanupSync(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    unregisterLive(this);
    try {
      teardownNetworkIndex(this.index, this.dataDirs);
    } finally {
      releaseClaim(networkClaimPath(this.index));
    }
  }

  /** @internal Runs a command in the switch namespace. */
  inSwitch(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return run('nsenter', [`--net=${join(NETNS_DIR, this.switchNamespace)}`, '--', file, ...args], options);
  }

  /** @internal */
  async nft(script: string, purpose: string): Promise<void> {
    this.assertUsable();
    await this.inSwitch('nft', ['-f', '-'], { input: script, purpose });
  }

  private assertUsable(): void {
    if (this.isDestroyed) throw new Error(`${this.description} was destroyed`);
  }
}

/** One simulated machine: a network namespace with eth0 on the bridge, and its own hostname. */
export class Host implements ProcessHost {
  readonly namespace: string;
  readonly address: string;
  /** The switch-side end of this host's cable (a port of the bridge). */
  readonly vethName: string;
  /** Bind mount keeping this host's UTS namespace (its hostname). */
  readonly utsFile: string;
  private cut = false;

  /** @internal Hosts are made by Network.addHosts(). */
  constructor(
    readonly network: Network,
    /** Position in the network (host k has address .10+k). */
    readonly index: number,
    readonly name: string,
  ) {
    this.namespace = hostNamespace(network.index, index);
    this.address = network.hostAddress(index);
    this.vethName = `shv${network.index}n${index}`;
    this.utsFile = utsFile(this.namespace);
  }

  get linkCut(): boolean {
    return this.cut;
  }

  /** The argv that runs a command inside this host (exec'd by nsenter: the pid is the command's). */
  command(file: string, args: readonly string[]): { file: string; args: string[] } {
    return {
      file: 'nsenter',
      args: [`--net=${join(NETNS_DIR, this.namespace)}`, `--uts=${this.utsFile}`, '--', file, ...args],
    };
  }

  /** Runs a command in this host to completion; throws CommandError on failure unless `allowFailure`. */
  exec(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = this.command(file, args);
    return run(command.file, command.args, options);
  }

  /** Starts a process in this host. Everything it starts stays in the host (see killAll()). */
  spawn(file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const command = this.command(file, args);
    return spawnCommand(command.file, command.args, options);
  }

  /**
   * Pulls this host's cable, as far as anyone can tell: the switch silently drops everything to and from
   * it (ARP aside, see CUT_TABLE_SCRIPT) while both ends stay up. New connections either way time out,
   * established ones stall and retransmit; nothing is reset. restoreLink() undoes it, and connections
   * that have not timed out yet carry on.
   */
  async cutLink(): Promise<void> {
    if (this.cut) return;
    await this.network.nft(
      `add element bridge ${CUT_TABLE} cut { ${this.vethName} }`,
      `cutting ${this.name}'s link`,
    );
    this.cut = true;
  }

  async restoreLink(): Promise<void> {
    if (!this.cut) return;
    await this.network.nft(
      `delete element bridge ${CUT_TABLE} cut { ${this.vethName} }`,
      `restoring ${this.name}'s link`,
    );
    this.cut = false;
  }

  /** @internal */
  markLink(cut: boolean): void {
    this.cut = cut;
  }

  /** Live processes in this host's network namespace. */
  pids(): number[] {
    const inode = namespaceInode(join(NETNS_DIR, this.namespace));
    return inode === undefined ? [] : pidsInNetworkNamespace(inode);
  }

  /**
   * kill -9 everything running in this host (a power cut): the daemon, its task runner, tasks, and
   * anything they forked, repeated until nothing is left. Returns how many processes it found.
   */
  async killAll(): Promise<number> {
    const inode = namespaceInode(join(NETNS_DIR, this.namespace));
    if (inode === undefined) return 0;
    const seen = new Set<number>();
    const survivors = killUntilGone(() => {
      const pids = pidsInNetworkNamespace(inode);
      for (const pid of pids) seen.add(pid);
      return pids;
    });
    if (survivors.length > 0) {
      throw new Error(
        `processes on ${this.name} survived SIGKILL: ${survivors.map(describeProcess).join(', ')}`,
      );
    }
    // Let Node reap the ones that were its children, so their 'exit' events fire before we return.
    await new Promise((resolve) => setImmediate(resolve));
    return seen.size;
  }
}

export class HarnessPrivilegeError extends Error {
  override name = 'HarnessPrivilegeError';
}

function assertPrivileged(): void {
  if (process.getuid?.() !== 0) {
    throw new HarnessPrivilegeError('the multi-host test harness needs root (network namespaces, bridges)');
  }
}

/**
 * Picks a free /24 and claims it atomically (an O_EXCL claim file), starting at a random place so that
 * test processes running at the same time rarely even try the same one.
 */
function allocateNetworkIndex(): number {
  const start = Math.floor(Math.random() * NETWORK_COUNT);
  for (let i = 0; i < NETWORK_COUNT; i++) {
    const index = (start + i) % NETWORK_COUNT;
    if (claimNetworkIndex(index)) return index;
  }
  throw new Error('all 512 test networks in 198.18.0.0/15 are in use; is something leaking them?');
}
