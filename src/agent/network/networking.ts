// The node's networking (architecture §7): the overlay data path of every network with a local task, the
// attachment of tasks to their networks, the routing mesh's sandbox, and the embedded DNS. Executors call
// `prepareTaskNetwork` before a task's process starts (it returns the namespace to run it in and its /etc/hosts and /etc/resolv.conf)
// and `releaseTaskNetwork` when the task is removed; the agent feeds the managers' network views in
// (`applyUpdate`), and calls `start` (with the tasks it still has), `retainOnly` (after the managers' first
// complete set), `purge` (swarm leave) and `close` (daemon stop: everything stays for the next run).
//
// The kernel is the record: a restarted agent reads back the namespaces, ports, gateway addresses and
// forwarding entries of its scope (kernel.ts scanKernel), keeps what its tasks use — running tasks never
// lose connectivity across a restart — and removes the rest.

import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIPv4 } from '../../api/ip.js';
import {
  applyNetworkUpdate,
  emptyViewState,
  type NetworkViewState,
  type NetworkViewUpdate,
  type OverlayNetworkInfo,
} from '../../api/network-view.js';
import { hostPortsOfTask, needsTaskNamespace, type HostPortPlan } from '../../api/host-ports.js';
import { DEFAULT_DATA_PATH_PORT, type MeshPort, type OverlayTask } from '../../api/networks.js';
import type { Task } from '../../api/types.js';
import type { TaskNetworkConfig, TaskNetworks } from '../executor/executor.js';
import type { AgentLog } from '../log.js';
import { balanceScript, vipBackends, type BalanceNetwork } from './balance.js';
import { ForwardingGuard } from './forwarding.js';
import { meshPorts, meshRules, meshScript, type MeshRule } from './mesh.js';
import { buildRecords, type NetworkRecords } from './dns/records.js';
import { DnsServer, type Asker } from './dns/server.js';
import {
  attachScript,
  gatewayScript,
  listNamespaces,
  networkScript,
  nftScript,
  purgeKernel,
  releaseTaskScript,
  removeNetworkScript,
  removeSandboxScript,
  sandboxScript,
  runScript,
  runScriptWithArgs,
  scanKernel,
  forwardingScripts,
  type GatewayParams,
  type HostPortRule,
  type MeshTarget,
} from './kernel.js';
import {
  chooseGatewaySubnet,
  DEFAULT_OVERLAY_MTU,
  diffForwarding,
  forwardingEntries,
  hostsFile,
  macOf,
  NETNS_DIR,
  Names,
  networkInfoOf,
  nextGatewayAddress,
  overlayAttachments,
  parseResolvConf,
  planTaskNetwork,
  resolvConfFile,
  scopeOf,
  subnetIndexOf,
  type ForwardingEntry,
} from './plan.js';

export type { TaskNetworkConfig };

const isPort = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;

export interface NodeNetworkingOptions {
  dataDir: string;
  nodeId: string;
  log: AgentLog;
  /** The source address of this node's VXLAN packets (its --data-path-addr, else its own address). */
  underlayAddr?: () => string | undefined;
  /** The host's resolv.conf (default /etc/resolv.conf): where queries the DNS does not answer go. */
  hostResolvConf?: string;
}

interface Attached {
  networks: string[];
  gatewayLegAddress: string;
  internalOnly: boolean;
  nameservers?: string[];
  /** Its host-mode published ports. */
  ports: HostPortPlan[];
  /** The task's creation time: of two tasks claiming a port, the newer has it. */
  createdAt: string;
}

/** The routing mesh's sandbox on this node. */
interface Sandbox {
  /** The ingress network it is on. */
  networkId: string;
  /** The node's address on ingress (`10.0.0.3/24`). */
  address: string;
  /** Its end of its link with the host (an address of the gateway subnet): where the ports are sent. */
  legAddress: string;
  /** The ports the host sends it. */
  ports: readonly MeshPort[];
  /** The nft script last written to it. */
  script?: string;
}

interface LocalNetwork {
  info: OverlayNetworkInfo;
  /** The forwarding entries in the kernel. */
  entries: ForwardingEntry[];
}

export class NodeNetworking implements TaskNetworks {
  readonly names: Names;
  private readonly filesDir: string;
  private readonly view: NetworkViewState = emptyViewState(DEFAULT_DATA_PATH_PORT);
  private readonly records = new Map<string, NetworkRecords>();
  private readonly attached = new Map<string, Attached>();
  /** Tasks being attached: their networks may not be removed meanwhile. */
  private readonly attaching = new Map<string, string[]>();
  private readonly local = new Map<string, LocalNetwork>();
  private gateway: GatewayParams | undefined;
  private lastLegAddress: string | undefined;
  private readonly dns: DnsServer;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  /** Per attached task, the balancing rules last written to its namespace. */
  private readonly balanced = new Map<string, string>();
  private readonly balanceDirty = new Set<string>();
  private sandbox: Sandbox | undefined;
  /** The ingress network the mesh holds on to, from before its sandbox is made. */
  private meshNetwork: string | undefined;
  private meshDirty = false;
  private meshRetryMs = 0;
  private meshWaitLogged = false;
  private readonly forwarding: ForwardingGuard;
  /** Whether shoal turned the host's forwarding on, so that its table guards it. */
  private forwardingGuarded = false;
  private upstreamCache: { mtimeMs: number; servers: string[] } | undefined;
  private upstreamsCheckedAt = 0;
  private closed = false;

  constructor(private readonly options: NodeNetworkingOptions) {
    this.names = new Names(scopeOf(options.dataDir));
    this.filesDir = join(options.dataDir, 'network', 'tasks');
    this.forwarding = new ForwardingGuard(options.dataDir);
    this.dns = new DnsServer({
      asker: (address) => this.asker(address),
      upstreams: () => this.upstreams(),
      log: (message, fields) => this.options.log.warn(message, fields),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Reads back what this scope has in the kernel, keeps what `tasks` (those the agent still has) use and
   * removes the rest. Forwarding entries stay as they are until the managers' view says otherwise.
   */
  async start(tasks: Iterable<Task>): Promise<void> {
    const keep = new Map([...tasks].map((task) => [task.ID, task]));
    await this.refreshUpstreams();
    const scan = await scanKernel(this.names);
    this.gateway = scan.gateway;
    const portsOf = new Map<string, string[]>();
    for (const network of scan.networks) {
      for (const port of network.ports) {
        const list = portsOf.get(port) ?? [];
        list.push(network.networkId);
        portsOf.set(port, list);
      }
      this.local.set(network.networkId, {
        info: {
          id: network.networkId,
          name: '',
          internal: false,
          attachable: false,
          ingress: false,
          subnets: [],
          vips: [],
        },
        entries: network.entries,
      });
    }
    const drop: { taskId: string; networks: string[] }[] = [];
    for (const task of scan.tasks) {
      const networks = portsOf.get(task.taskId.slice(0, 12)) ?? [];
      const known = keep.get(task.taskId);
      if (known && task.gatewayLegAddress) {
        const attachments = overlayAttachments(known);
        const dns = known.Spec.ContainerSpec?.DNSConfig?.Nameservers;
        this.attached.set(task.taskId, {
          // The task's order (the DNS looks names up in it); networks found only in the kernel after.
          networks: [
            ...attachments.map((a) => a.Network.ID).filter((id) => networks.includes(id)),
            ...networks.filter((id) => !attachments.some((a) => a.Network.ID === id)),
          ],
          gatewayLegAddress: task.gatewayLegAddress,
          internalOnly: attachments.length > 0 && attachments.every((a) => a.Network.Spec.Internal === true),
          ...(dns?.length ? { nameservers: [...dns] } : {}),
          ports: hostPortsOfTask(known),
          createdAt: known.CreatedAt,
        });
        for (const attachment of attachments) {
          const local = this.local.get(attachment.Network.ID);
          if (local && local.info.subnets.length === 0) local.info = networkInfoOf(attachment);
        }
      } else {
        drop.push({ taskId: task.taskId, networks });
      }
    }
    for (const { taskId, networks } of drop) {
      this.options.log.info('network: removing the namespace of a task this node no longer has', { taskId });
      await runScript(releaseTaskScript(this.names, taskId, networks)).catch((err: unknown) =>
        this.options.log.warn('network: removing a task namespace failed', { taskId, err }),
      );
      await rm(join(this.filesDir, taskId), { recursive: true, force: true });
    }
    // The mesh's sandbox stays as it is (connections through it keep their conntrack state) until the first
    // view says what it should be; one that is incomplete, or a second, goes.
    for (const found of scan.sandboxes) {
      if (!this.sandbox && found.address && found.legAddress && this.local.has(found.networkId)) {
        // The ports it served, so the host keeps sending them across the restart.
        const ports = await this.readMeshPorts();
        this.sandbox = { ...found, address: found.address, legAddress: found.legAddress, ports };
      } else {
        await runScript(removeSandboxScript(this.names, found.networkId)).catch((err: unknown) =>
          this.options.log.warn('network: removing the mesh sandbox failed', { err }),
        );
      }
    }
    // Legs whose task namespace is gone.
    const legs = new Set([...this.attached.keys()].map((id) => this.names.gatewayLeg(id)));
    if (this.sandbox) legs.add(this.names.sandboxLeg);
    const stale = scan.legs.filter((leg) => !legs.has(leg));
    if (stale.length > 0) {
      await runScript(stale.map((leg) => `ip link del ${leg} 2>/dev/null || true`).join('\n')).catch(
        () => {},
      );
    }
    for (const networkId of [...this.local.keys()]) await this.removeNetworkIfUnused(networkId);
    // The host's table as the remembered tasks need it (their published ports).
    this.forwardingGuarded = await this.forwarding.guarded();
    if (this.gateway) await this.writeNft();
    if (this.gateway) await this.startDns();
  }

  /** Stops the DNS; everything in the kernel stays for the next run. */
  async close(): Promise<void> {
    this.closed = true;
    await this.dns.close();
  }

  /** Removes everything this node made (swarm leave). */
  async purge(): Promise<void> {
    this.closed = true;
    await this.dns.close();
    // After any mesh change under way (it checks `closed` and stops), so that nothing is made again after.
    try {
      await this.withLock(['mesh', 'gateway'], () => purgeKernel(this.names));
    } finally {
      await this.forwarding.restore(this.names.gatewayBridge, this.options.log);
    }
    await rm(join(this.options.dataDir, 'network'), { recursive: true, force: true });
    this.attached.clear();
    this.local.clear();
    this.sandbox = undefined;
    this.gateway = undefined;
  }

  /** Releases the namespaces of tasks not in `taskIds` (after the managers' complete set). */
  async retainOnly(taskIds: ReadonlySet<string>): Promise<void> {
    const names = await listNamespaces(this.names.prefix);
    const known = new Set([...this.attached.keys()]);
    for (const ns of names) {
      const parsed = this.names.parseNs(ns);
      if (parsed?.kind === 'task') known.add(parsed.id);
    }
    for (const taskId of known) {
      if (!taskIds.has(taskId) && !this.attaching.has(taskId)) await this.releaseTaskNetwork(taskId);
    }
  }

  // ---------------------------------------------------------------- the managers' view

  applyUpdate(update: NetworkViewUpdate, complete: boolean): void {
    const touched = applyNetworkUpdate(this.view, update, complete);
    let mesh = complete;
    for (const networkId of touched) {
      const network = this.view.networks.get(networkId);
      if (network?.info.ingress || networkId === this.sandbox?.networkId) mesh = true;
      // The ingress network has no names (Docker's neither): it carries the routing mesh only.
      if (network && !network.info.ingress)
        this.records.set(
          networkId,
          buildRecords(networkId, network.info.name, network.endpoints.values(), network.info.vips),
        );
      else this.records.delete(networkId);
      if (this.local.has(networkId)) this.scheduleForwarding(networkId);
    }
    for (const [taskId, attached] of this.attached) {
      if (attached.networks.some((id) => touched.has(id))) this.scheduleBalancing(taskId);
    }
    if (mesh) this.scheduleMesh();
  }

  // ---------------------------------------------------------------- tasks

  /**
   * Attaches the task to its overlay networks: its namespace, interfaces, addresses and routes, the data
   * path of each network, its files. Undefined for a task on no overlay network (it runs on the host's).
   * `adoptPid`: attach the network namespace of that process (a sandbox container) instead of a new one;
   * `hostname`: the task's (its spec's with templates expanded), else the first 12 characters of its ID.
   */
  async prepareTaskNetwork(
    task: Task,
    options: { adoptPid?: number; hostname?: string } = {},
  ): Promise<TaskNetworkConfig | undefined> {
    const attachments = overlayAttachments(task);
    if (!needsTaskNamespace(task)) return undefined;
    const ports = hostPortsOfTask(task);
    if (this.closed) throw new Error('the node is leaving its swarm');
    const plan = planTaskNetwork(task, options.hostname || undefined);
    const networks = attachments.map((a) => a.Network.ID);
    this.attaching.set(task.ID, networks);
    try {
      await this.ensureGateway();
      for (const attachment of attachments) {
        const info = this.view.networks.get(attachment.Network.ID)?.info;
        await this.ensureNetwork(info && info.subnets.length > 0 ? info : networkInfoOf(attachment));
      }
      const previous = this.attached.get(task.ID);
      const legAddress = await this.withLock(['gateway'], async () => {
        if (previous) return previous.gatewayLegAddress;
        const address = this.takeLegAddress();
        const dns = task.Spec.ContainerSpec?.DNSConfig?.Nameservers;
        this.attached.set(task.ID, {
          networks,
          gatewayLegAddress: address,
          internalOnly: plan.internalOnly,
          ...(dns?.length ? { nameservers: [...dns] } : {}),
          ports,
          createdAt: task.CreatedAt,
        });
        return address;
      });
      const { script, nft } = attachScript(this.names, {
        plan,
        gateway: this.gateway!,
        gatewayLegAddress: legAddress,
        ...(options.adoptPid !== undefined ? { adoptPid: options.adoptPid } : {}),
      });
      await this.withLock(['task:' + task.ID], async () => {
        await runScript(script, nft);
        this.balanced.delete(task.ID);
        await this.writeBalancing(task.ID);
      });
      if (plan.internalOnly || ports.length > 0) await this.writeNft();
      const dir = join(this.filesDir, task.ID);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const hostsPath = join(dir, 'hosts');
      const resolvPath = join(dir, 'resolv.conf');
      const hostnamePath = join(dir, 'hostname');
      const host = parseResolvConf(await this.hostResolvConf());
      await writeFile(hostsPath, hostsFile(plan, task.Spec.ContainerSpec?.Hosts ?? []), { mode: 0o644 });
      await writeFile(resolvPath, resolvConfFile(host, task.Spec.ContainerSpec?.DNSConfig), { mode: 0o644 });
      await writeFile(hostnamePath, `${plan.hostname}\n`, { mode: 0o644 });
      return {
        netnsPath: `${NETNS_DIR}/${this.names.taskNs(task.ID)}`,
        hostsFile: hostsPath,
        resolvConf: resolvPath,
        hostnameFile: hostnamePath,
        hostname: plan.hostname,
      };
    } catch (err) {
      this.attaching.delete(task.ID);
      await this.releaseTaskNetwork(task.ID).catch(() => {});
      throw err;
    } finally {
      this.attaching.delete(task.ID);
    }
  }

  /** Removes the task's namespace and interfaces, and the data path of networks no local task is on. */
  async releaseTaskNetwork(taskId: string): Promise<void> {
    const attached = this.attached.get(taskId);
    const networks = attached?.networks ?? [...this.local.keys()];
    await this.withLock(['task:' + taskId], () =>
      runScript(releaseTaskScript(this.names, taskId, networks)).then(() => undefined),
    );
    this.attached.delete(taskId);
    this.balanced.delete(taskId);
    await rm(join(this.filesDir, taskId), { recursive: true, force: true });
    if (attached?.internalOnly || attached?.ports.length) await this.writeNft();
    for (const networkId of networks) await this.removeNetworkIfUnused(networkId);
  }

  /** The tasks attached on this node (for tests and /info). */
  attachedTasks(): string[] {
    return [...this.attached.keys()];
  }

  // ---------------------------------------------------------------- the data path

  private async ensureGateway(): Promise<void> {
    await this.withLock(['gateway'], async () => {
      if (!this.gateway) {
        const { stdout } = await runScript('ip -j route show');
        const routes = (JSON.parse(stdout || '[]') as { dst: string }[])
          .map((r) => r.dst)
          .filter((d) => d !== 'default');
        const overlay = [...this.view.networks.values()].flatMap((n) => n.info.subnets.map((s) => s.subnet));
        const subnet = chooseGatewaySubnet([...routes, ...overlay]);
        if (!subnet) throw new Error('no free subnet for the gateway bridge');
        this.gateway = { subnet, address: formatIPv4(subnet.base + 1) };
      }
      this.forwardingGuarded = await this.forwarding.beforeTurningOn();
      await runScript(gatewayScript(this.names, this.gateway));
      await runScript('nft -f -', this.hostTable());
      if (!this.dns.address) await this.startDns();
    });
  }

  /** A free address on the gateway bridge (call holding the gateway lock). */
  private takeLegAddress(): string {
    const used = new Set([...this.attached.values()].map((a) => a.gatewayLegAddress));
    const gateway = this.gateway!;
    used.add(gateway.address);
    if (this.sandbox) used.add(this.sandbox.legAddress);
    const address = nextGatewayAddress(gateway.subnet, used, this.lastLegAddress);
    if (!address) throw new Error('no address left on the gateway bridge');
    this.lastLegAddress = address;
    return address;
  }

  private async startDns(): Promise<void> {
    if (!this.gateway || this.closed) return;
    try {
      await this.dns.listen(this.gateway.address);
    } catch (err) {
      this.options.log.error('network: the embedded DNS cannot listen', {
        address: this.gateway.address,
        err,
      });
    }
  }

  private noEgress(): string[] {
    return [...this.attached.values()]
      .filter((a) => a.internalOnly)
      .map((a) => a.gatewayLegAddress)
      .sort();
  }

  /**
   * The host-mode published ports of the attached tasks, each to the task's gateway-leg address. A task that
   * ended keeps its namespace (and so its entry) until it is removed; the scheduler puts at most one task
   * not done with a given port on a node, so when two claim a port the newer task — the one that replaced
   * the other — has it.
   */
  private hostPorts(): HostPortRule[] {
    const byPort = new Map<string, HostPortRule>();
    const time = (a: Attached): number => Date.parse(a.createdAt) || 0;
    const newestFirst = [...this.attached.values()].sort((a, b) => time(b) - time(a));
    for (const a of newestFirst) {
      for (const p of a.ports) {
        const key = `${p.protocol}/${p.published}`;
        if (!byPort.has(key)) byPort.set(key, { ...p, address: a.gatewayLegAddress });
      }
    }
    return [...byPort.values()];
  }

  private async writeNft(): Promise<void> {
    await this.withLock(['gateway'], async () => {
      if (this.gateway) await runScript('nft -f -', this.hostTable());
    });
  }

  /** The host's table as it should be now (call holding the gateway lock, with the gateway made). */
  private hostTable(): string {
    const mesh: MeshTarget | undefined = this.sandbox
      ? { ports: this.sandbox.ports, address: this.sandbox.legAddress }
      : undefined;
    return nftScript(this.names, this.gateway!, {
      noEgress: this.noEgress(),
      hostPorts: this.hostPorts(),
      ...(mesh ? { mesh } : {}),
      guardForwarding: this.forwardingGuarded,
    });
  }

  private async ensureNetwork(info: OverlayNetworkInfo): Promise<void> {
    await this.withLock(['net:' + info.id], async () => {
      if (info.subnets.length === 0)
        throw new Error(`network ${info.name || info.id} has no subnet allocated`);
      await runScript(
        networkScript(
          this.names,
          info,
          this.view.dataPathPort || DEFAULT_DATA_PATH_PORT,
          this.options.underlayAddr?.(),
        ),
      );
      const known = this.local.get(info.id);
      this.local.set(info.id, { info, entries: known?.entries ?? [] });
    });
    this.scheduleForwarding(info.id);
  }

  private async removeNetworkIfUnused(networkId: string): Promise<void> {
    await this.withLock(['net:' + networkId], async () => {
      const used =
        [...this.attached.values()].some((a) => a.networks.includes(networkId)) ||
        [...this.attaching.values()].some((n) => n.includes(networkId)) ||
        this.sandbox?.networkId === networkId ||
        this.meshNetwork === networkId;
      if (used || !this.local.has(networkId)) return;
      await runScript(removeNetworkScript(this.names, networkId));
      this.local.delete(networkId);
      this.options.log.info('network: removed the data path of a network no local task is on', { networkId });
    });
  }

  /** Brings the network's forwarding entries to what the view asks for (coalescing requests). */
  private scheduleForwarding(networkId: string): void {
    if (this.dirty.has(networkId)) return;
    this.dirty.add(networkId);
    void this.withLock(['net:' + networkId], async () => {
      this.dirty.delete(networkId);
      const local = this.local.get(networkId);
      const network = this.view.networks.get(networkId);
      if (!local || this.closed) return;
      const info = network?.info.subnets.length ? network.info : local.info;
      const desired = network
        ? forwardingEntries(
            this.options.nodeId,
            info,
            network.peers.values(),
            network.endpoints.values(),
            info.ingress,
          )
        : [];
      const { add, remove } = diffForwarding(local.entries, desired);
      if (add.length === 0 && remove.length === 0) return;
      const scripts = forwardingScripts(this.names, networkId, add, remove);
      try {
        await runScriptWithArgs(scripts.script, [
          scripts.bridgeDeletes,
          scripts.ipDeletes,
          scripts.bridgeBatch,
          scripts.ipBatch,
        ]);
        local.entries = desired;
        // New remote tasks on ingress may now be the mesh's backends.
        if (info.ingress) this.scheduleMesh();
      } catch (err) {
        this.options.log.error('network: writing forwarding entries failed', { networkId, err });
      }
    }).catch(() => {});
  }

  // ---------------------------------------------------------------- service VIPs

  /** Brings a task's balancing rules to what the view asks for (coalescing requests). */
  private scheduleBalancing(taskId: string): void {
    if (this.balanceDirty.has(taskId)) return;
    this.balanceDirty.add(taskId);
    void this.withLock(['task:' + taskId], async () => {
      this.balanceDirty.delete(taskId);
      await this.writeBalancing(taskId);
    }).catch(() => {});
  }

  /** Writes the task's balancing rules when they differ from those last written; call holding its lock. */
  private async writeBalancing(taskId: string): Promise<void> {
    const attached = this.attached.get(taskId);
    if (!attached || this.closed) return;
    // No VIP is balanced on ingress: its VIPs are reached through the routing mesh only.
    const networks: BalanceNetwork[] = attached.networks.flatMap((id) => {
      const network = this.view.networks.get(id);
      return network && !network.info.ingress
        ? [{ vips: network.info.vips ?? [], tasks: network.endpoints.values() }]
        : [];
    });
    const script = balanceScript(vipBackends(networks));
    if (this.balanced.get(taskId) === script) return;
    try {
      await runScript(`nsenter --net=${NETNS_DIR}/${this.names.taskNs(taskId)} nft -f -`, script);
      this.balanced.set(taskId, script);
    } catch (err) {
      this.balanced.delete(taskId);
      this.options.log.error('network: writing the balancing rules of a task failed', { taskId, err });
    }
  }

  // ---------------------------------------------------------------- the routing mesh

  /** Brings the mesh's sandbox and rules to what the view asks for (coalescing requests). */
  private scheduleMesh(): void {
    if (this.meshDirty) return;
    this.meshDirty = true;
    void this.withLock(['mesh'], async () => {
      this.meshDirty = false;
      await this.reconcileMesh();
      this.meshRetryMs = 0;
    }).catch((err: unknown) => {
      // Tried again by itself (a quiet swarm may send no view change for a long time), backing off.
      this.meshRetryMs = Math.min(Math.max(this.meshRetryMs * 2, 500), 30_000);
      this.options.log.error('network: the routing mesh failed; trying again', {
        err,
        retryInMs: this.meshRetryMs,
      });
      if (!this.closed) setTimeout(() => this.scheduleMesh(), this.meshRetryMs).unref();
    });
  }

  /**
   * The sandbox exists while some service publishes a port in ingress mode (so a swarm without one has no
   * VXLAN device on this node, as it needs none); it is made again when the node's ingress address moves.
   * Its rules follow the serving tasks this node can reach (local, or with their forwarding entry written);
   * the host's table sends it the ports. Call holding the mesh lock.
   */
  private async reconcileMesh(): Promise<void> {
    if (this.closed) return;
    const ingress = [...this.view.networks.values()].find((n) => n.info.ingress);
    const reachable = this.reachableOn(ingress?.info.id);
    const rules: MeshRule[] = ingress
      ? meshRules({ vips: ingress.info.vips ?? [], tasks: ingress.endpoints.values() }, reachable)
      : [];
    const address = ingress?.info.address;
    if (!ingress || rules.length === 0 || !address) {
      if (ingress && rules.length > 0 && !this.meshWaitLogged) {
        this.meshWaitLogged = true;
        this.options.log.warn('network: the routing mesh waits for this node’s address on ingress');
      }
      await this.removeSandbox('no port is published in ingress mode');
      return;
    }
    this.meshWaitLogged = false;
    const info = ingress.info;
    const subnetIndex = subnetIndexOf(info, address);
    if (subnetIndex === undefined) {
      this.options.log.error('network: this node’s ingress address is in no subnet of ingress', { address });
      return;
    }
    const current = this.sandbox;
    if (current && (current.networkId !== info.id || current.address !== address)) {
      await this.removeSandbox('this node’s ingress address changed');
    }
    if (!this.sandbox) {
      // The ingress data path is the sandbox's from now on: no task's release may remove it meanwhile.
      this.meshNetwork = info.id;
      await this.ensureGateway();
      await this.ensureNetwork(info);
      if (this.closed) return;
      const legAddress = await this.withLock(['gateway'], async () => {
        const leg = this.takeLegAddress();
        this.sandbox = { networkId: info.id, address, legAddress: leg, ports: [] };
        return leg;
      });
      try {
        await runScript(
          sandboxScript(this.names, {
            networkId: info.id,
            address,
            subnetIndex,
            mac: macOf(address.split('/')[0]!),
            mtu: info.mtu ?? DEFAULT_OVERLAY_MTU,
            gateway: this.gateway!,
            legAddress,
          }),
        );
      } catch (err) {
        // Not half made: the next try starts from nothing.
        this.sandbox = undefined;
        await runScript(removeSandboxScript(this.names, info.id)).catch(() => {});
        throw err;
      }
      this.options.log.info('network: made the routing mesh sandbox', { address, legAddress });
    }
    const sandbox = this.sandbox!;
    const script = meshScript(rules);
    if (sandbox.script !== script) {
      await runScript(
        `nsenter --net=${NETNS_DIR}/${this.names.sandboxNs(sandbox.networkId)} nft -f -`,
        script,
      );
      sandbox.script = script;
    }
    const ports = meshPorts(rules);
    if (JSON.stringify(ports) !== JSON.stringify(sandbox.ports)) {
      const previous = sandbox.ports;
      sandbox.ports = ports;
      try {
        await this.writeNft();
      } catch (err) {
        sandbox.ports = previous;
        throw err;
      }
      await mkdir(join(this.options.dataDir, 'network'), { recursive: true });
      await writeFile(this.meshPortsFile, JSON.stringify(ports));
    }
  }

  /**
   * Which tasks of `networkId` this node can send to now: those on this node, and those whose forwarding
   * entry is written (scheduleForwarding asks for the mesh again once it wrote them).
   */
  private reachableOn(networkId: string | undefined): (task: OverlayTask) => boolean {
    const entries = new Set((networkId ? this.local.get(networkId)?.entries : undefined)?.map((e) => e.ip));
    return (task) =>
      task.nodeId === this.options.nodeId || task.addresses.every((a) => entries.has(a.split('/')[0]!));
  }

  private get meshPortsFile(): string {
    return join(this.options.dataDir, 'network', 'mesh-ports.json');
  }

  /** The mesh ports last written (a restarted agent's until its first view). */
  private async readMeshPorts(): Promise<MeshPort[]> {
    try {
      const parsed = JSON.parse(await readFile(this.meshPortsFile, 'utf8')) as unknown;
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(
        (p): p is MeshPort =>
          typeof p === 'object' &&
          p !== null &&
          ((p as MeshPort).protocol === 'tcp' || (p as MeshPort).protocol === 'udp') &&
          isPort((p as MeshPort).published) &&
          isPort((p as MeshPort).target),
      );
    } catch {
      return [];
    }
  }

  private async removeSandbox(why: string): Promise<void> {
    const sandbox = this.sandbox;
    this.meshNetwork = undefined;
    if (!sandbox) return;
    this.sandbox = undefined;
    await this.writeNft();
    await runScript(removeSandboxScript(this.names, sandbox.networkId));
    await rm(this.meshPortsFile, { force: true });
    this.options.log.info('network: removed the routing mesh sandbox', { why });
    await this.removeNetworkIfUnused(sandbox.networkId);
  }

  // ---------------------------------------------------------------- DNS

  private asker(address: string): Asker | undefined {
    for (const attached of this.attached.values()) {
      if (attached.gatewayLegAddress !== address) continue;
      const networks = attached.networks.flatMap((id) => {
        const records = this.records.get(id);
        return records ? [records] : [];
      });
      return {
        networks,
        internalOnly: attached.internalOnly,
        ...(attached.nameservers ? { nameservers: attached.nameservers } : {}),
      };
    }
    return undefined;
  }

  private hostResolvConf(): Promise<string> {
    return readFile(this.options.hostResolvConf ?? '/etc/resolv.conf', 'utf8').catch(() => '');
  }

  private upstreams(): string[] {
    if (Date.now() - this.upstreamsCheckedAt > 1_000) {
      this.upstreamsCheckedAt = Date.now();
      void this.refreshUpstreams().catch(() => {});
    }
    return this.upstreamCache?.servers ?? [];
  }

  /** Re-reads the host's resolvers when the file changed (checked at most once a second). */
  async refreshUpstreams(): Promise<void> {
    const path = this.options.hostResolvConf ?? '/etc/resolv.conf';
    const mtimeMs = await stat(path).then(
      (s) => s.mtimeMs,
      () => -1,
    );
    if (this.upstreamCache?.mtimeMs === mtimeMs) return;
    this.upstreamCache = { mtimeMs, servers: parseResolvConf(await this.hostResolvConf()).nameservers };
  }

  // ---------------------------------------------------------------- locks

  /** Runs `fn` holding every lock in `keys` (taken in sorted order, so two holders cannot deadlock). */
  private async withLock<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const release: (() => void)[] = [];
    for (const key of sorted) {
      const previous = this.locks.get(key) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((resolve) => (done = resolve));
      const chained = previous.then(() => mine);
      this.locks.set(key, chained);
      await previous;
      release.push(() => {
        done();
        if (this.locks.get(key) === chained) this.locks.delete(key);
      });
    }
    try {
      return await fn();
    } finally {
      for (const r of release.reverse()) r();
    }
  }
}
