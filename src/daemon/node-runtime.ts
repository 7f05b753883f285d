// The worker role on a node (every node has it, managers included): the executor the configuration
// names (process or docker) and the agent that runs the tasks the dispatcher assigns. Tasks outlive this
// object: they belong to the executor (the process executor's task runner, the container engine), and
// the next start re-adopts them.

import { join } from 'node:path';
import type { DispatcherClient } from '../api/dispatcher.js';
import type { NodeDescription } from '../api/types.js';
import { Agent } from '../agent/agent.js';
import type { Executor } from '../agent/executor/executor.js';
import { executorFactory, type ExecutorConfig } from '../agent/executor/factory.js';
import { AgentStateDb } from '../agent/state-db.js';
import { NodeNetworking } from '../agent/network/networking.js';
import type { Logger } from './logger.js';

export interface NodeRuntimeOptions {
  dataDir: string;
  /** Which executor runs this node's tasks. */
  executor: ExecutorConfig;
  nodeId: string;
  log: Logger;
  engineLabels: Record<string, string>;
  serverVersion: string;
  dispatcher: DispatcherClient | undefined;
  /** Called once if the managers removed this node from the swarm (its tasks are being stopped). */
  onRemoved?: (message: string) => void;
  /** The node's `--data-path-addr`, told to the managers: where other nodes send its VXLAN traffic. */
  dataPathAddr?: string;
  /** The source address of the node's VXLAN traffic: its data path address, else its own address. */
  underlayAddr?: string;
}

/**
 * The host's resolv.conf, whose nameservers the embedded DNS forwards to. Tests point it elsewhere
 * (SHOAL_DNS_RESOLV_CONF), so that nothing is sent to the machine's own resolvers.
 */
export const hostResolvConf = (): string => process.env.SHOAL_DNS_RESOLV_CONF || '/etc/resolv.conf';

export class NodeRuntime {
  private readonly executor: Executor;
  private readonly agent: Agent | undefined;
  readonly networking: NodeNetworking;
  private registered = false;
  private readonly sessionWaiters = new Set<() => void>();

  constructor(options: NodeRuntimeOptions) {
    this.networking = new NodeNetworking({
      dataDir: options.dataDir,
      nodeId: options.nodeId,
      log: options.log.with({ component: 'network' }),
      underlayAddr: () => options.underlayAddr,
      hostResolvConf: hostResolvConf(),
    });
    this.executor = executorFactory(options.executor).create({
      dataDir: options.dataDir,
      nodeId: options.nodeId,
      engineLabels: options.engineLabels,
      log: options.log.with({ component: 'executor' }),
      networks: this.networking,
    });
    this.agent = options.dispatcher
      ? new Agent({
          client: options.dispatcher,
          executor: this.executor,
          networking: this.networking,
          ...(options.dataPathAddr ? { dataPathAddr: options.dataPathAddr } : {}),
          stateDir: NodeRuntime.stateDir(options.dataDir),
          log: options.log,
          onRemoved: options.onRemoved,
          onSessionMessage: () => {
            this.registered = true;
            for (const wake of this.sessionWaiters) wake();
            this.sessionWaiters.clear();
          },
        })
      : undefined;
  }

  /** Where the agent keeps what it must remember across restarts (its task DB). */
  static stateDir(dataDir: string): string {
    return join(dataDir, 'swarm', 'agent');
  }

  /**
   * Creates the agent's state at `swarm init` and `join`, before the state file makes the membership
   * real: from then on a node whose agent DB is missing has lost it, rather than never had it.
   */
  static createState(dataDir: string): void {
    AgentStateDb.open(NodeRuntime.stateDir(dataDir)).close();
  }

  /**
   * Kills and deletes every task the node's executor still has, without an agent: how a node whose swarm
   * components could not start leaves its swarm. A failure is logged; leaving goes on. `nodeId` is the
   * node's, when its membership could still be read (the docker executor finds its containers by it).
   */
  static async purgeTasks(
    options: Pick<NodeRuntimeOptions, 'dataDir' | 'executor' | 'engineLabels' | 'log'> & { nodeId?: string },
  ): Promise<void> {
    if (options.executor.kind === 'docker' && !options.nodeId) {
      options.log.error(
        "cannot remove this node's containers: its node ID is lost with its swarm state; remove the containers labelled com.docker.swarm.task.id by hand",
      );
      return;
    }
    let executor: Executor;
    try {
      executor = executorFactory(options.executor).create({
        dataDir: options.dataDir,
        nodeId: options.nodeId ?? '',
        engineLabels: options.engineLabels,
        log: options.log.with({ component: 'executor' }),
      });
    } catch (err) {
      options.log.error('cannot remove the tasks of this node; some may be left behind', { error: err });
      return;
    }
    try {
      await executor.purge?.();
    } catch (err) {
      options.log.error('cannot remove the tasks of this node; some may be left behind', { error: err });
    } finally {
      await executor.close().catch(() => undefined);
    }
  }

  /** Removes what the node's networking left in the kernel (leaving without an agent). */
  static async purgeNetworking(dataDir: string, log: Logger): Promise<void> {
    try {
      await new NodeNetworking({ dataDir, nodeId: '', log }).purge();
    } catch (err) {
      log.error('cannot remove the networks of this node; some may be left behind', { error: err });
    }
  }

  /** What this node offers, for the node object created at `swarm init` (before any agent runs). */
  static describe(executor: ExecutorConfig, engineLabels: Record<string, string>): Promise<NodeDescription> {
    return executorFactory(executor).describe(engineLabels);
  }

  async start(): Promise<void> {
    await this.agent?.start();
  }

  /** Resolves once the agent has a session with a manager, or after `timeoutMs` regardless. */
  async waitForSession(timeoutMs: number): Promise<void> {
    if (this.registered || !this.agent) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const sessionWaiters = this.sessionWaiters;
      sessionWaiters.add(done);
      function done(): void {
        clearTimeout(timer);
        sessionWaiters.delete(done);
        resolve();
      }
    });
  }

  /** Stops the agent; tasks keep running. */
  async stop(): Promise<void> {
    await this.agent?.stop();
    await this.executor.close();
  }

  /** Stops and removes every task of this node (leaving the swarm). */
  async leave(): Promise<void> {
    await this.agent?.leave();
    await this.executor.close();
  }

  taskCounts(): { total: number; running: number; paused: number; stopped: number } {
    const tasks = this.agent?.taskStatuses() ?? [];
    const running = tasks.filter((status) => status.State === 'running').length;
    return { total: tasks.length, running, paused: 0, stopped: tasks.length - running };
  }
}
