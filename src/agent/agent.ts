// The node agent (swarmkit's agent/agent.go): keeps a session with a manager, runs the tasks the
// managers assign to this node through the executor, and reports their statuses. Tasks do not depend
// on the session: they keep running while no manager is reachable, and across daemon restarts (the
// state DB and the executor's recovery bring them back without restarting them).

import type { DispatcherClient, LogSubscriptionMessage, SessionMessage } from '../api/dispatcher.js';
import { systemClock, type Clock } from '../api/clock.js';
import { isShoalError, unavailable } from '../api/errors.js';
import type { TaskStatus } from '../api/types.js';
import { jsonEqual } from '../api/json-equal.js';
import type { NodeDescription } from '../api/types.js';
import { ExecutorUnavailableError, type Executor, type RecoveredTask } from './executor/executor.js';
import { backoffDelay, nextBackoff } from './backoff.js';
import { LogPublisher } from './log-publisher.js';
import { silentAgentLog, type AgentLog } from './log.js';
import { StatusReporter } from './reporter.js';
import { AgentSession } from './session.js';
import { AgentStateDb } from './state-db.js';
import { Worker } from './worker.js';
import type { NodeNetworking } from './network/networking.js';

export interface AgentOptions {
  client: DispatcherClient;
  executor: Executor;
  /** Directory for the agent's state DB (created if missing). */
  stateDir: string;
  log?: AgentLog;
  clock?: Clock;
  /** Source of the reconnect jitter, [0, 1). */
  random?: () => number;
  /** Every SessionMessage (node object, managers, heartbeat period), e.g. to follow role changes. */
  onSessionMessage?: (message: SessionMessage) => void;
  /**
   * The managers removed this node from the swarm (`docker node rm`): `message` is their refusal,
   * `Permission denied: node <id> was removed from swarm`. Called once, as soon as the agent learns it;
   * by then it has stopped asking for sessions for good, and it is stopping and removing every task as
   * `leave()` does (`stop()` and `leave()` resolve once that is done). For the daemon to say so in
   * `/info`.
   */
  onRemoved?: (message: string) => void;
  /**
   * The node's networking (src/agent/network): fed the managers' network views, started with the tasks
   * the agent still has, purged when the node leaves.
   */
  networking?: NodeNetworking;
  /** The node's `--data-path-addr`, sent with each session. */
  dataPathAddr?: string;
}

/** `removed`: the managers removed this node from the swarm; the agent has let go of everything. */
type AgentState = 'new' | 'running' | 'removed' | 'stopped';

export class Agent {
  private readonly client: DispatcherClient;
  private readonly executor: Executor;
  private readonly stateDir: string;
  private readonly log: AgentLog;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly onSessionMessage: ((message: SessionMessage) => void) | undefined;
  private readonly onRemoved: ((message: string) => void) | undefined;
  private readonly networking: NodeNetworking | undefined;
  private readonly dataPathAddr: string | undefined;
  private readonly reporter: StatusReporter;
  private readonly publisher: LogPublisher;
  private state: AgentState = 'new';
  private db: AgentStateDb | undefined;
  private worker: Worker | undefined;
  private session: AgentSession | undefined;
  private sessionLoop: Promise<void> = Promise.resolve();
  private cancelBackoff: (() => void) | undefined;
  private lastMessage: SessionMessage | undefined;
  /** Letting go of the tasks (stop, leave, or removal from the swarm), once begun. */
  private release: Promise<void> | undefined;
  /** The description the current session registered with. */
  private registeredDescription: NodeDescription | undefined;
  /** The session was closed to register a new description: open the next one at once. */
  private reregister = false;

  constructor(options: AgentOptions) {
    this.client = options.client;
    this.executor = options.executor;
    this.stateDir = options.stateDir;
    this.log = options.log ?? silentAgentLog;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.onSessionMessage = options.onSessionMessage;
    this.onRemoved = options.onRemoved;
    this.networking = options.networking;
    this.dataPathAddr = options.dataPathAddr;
    this.reporter = new StatusReporter(this.log);
    this.publisher = new LogPublisher({
      tasks: () => this.worker?.tasks() ?? [],
      publish: async (message) => {
        if (!this.session) throw unavailable('no session with a manager');
        await this.session.publishLogs(message);
      },
      log: this.log,
    });
  }

  /** Statuses of the tasks this node currently runs or remembers (for `/info`'s container counts). */
  taskStatuses(): TaskStatus[] {
    return [...(this.worker?.tasks() ?? [])].map((t) => t.current.Status);
  }

  /**
   * IDs of the secrets and configs the node holds (in memory) for its tasks: what the managers sent and
   * have not taken back. Never their data.
   */
  heldDependencies(): { secrets: string[]; configs: string[] } {
    return this.worker?.dependencies.held() ?? { secrets: [], configs: [] };
  }

  /** The last SessionMessage received (node object, managers), if the agent ever registered. */
  get lastSessionMessage(): SessionMessage | undefined {
    return this.lastMessage;
  }

  /**
   * Resumes the tasks remembered from an earlier run — re-adopting processes that still run,
   * reporting those that ended meanwhile — then starts looking for a manager. Resolves once the
   * tasks are resumed; the session is established in the background.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('agent already started');
    this.state = 'running';
    const db = AgentStateDb.open(this.stateDir);
    this.db = db;
    const worker = new Worker({
      executor: this.executor,
      db,
      reporter: this.reporter,
      clock: this.clock,
      log: this.log,
      onTaskChanged: (task) => this.publisher.taskChanged(task),
    });
    this.worker = worker;
    let recovered: RecoveredTask[] = [];
    let unavailable: string | undefined;
    try {
      recovered = await this.executor.recover();
    } catch (err) {
      // The executor cannot say what became of its tasks (its engine is down): the agent still starts,
      // so that the managers hear of it, and the tasks it knew as running are reported failed.
      if (!(err instanceof ExecutorUnavailableError)) throw err;
      unavailable = err.message;
      this.log.error('agent: the executor cannot recover its tasks', { err: err.message });
    }
    if (this.state !== 'running') return;
    const remembered = db.loadTasks();
    if (this.networking) {
      // Before any task is driven: what the remembered tasks use stays, the rest goes.
      try {
        await this.networking.start(remembered);
      } catch (err) {
        this.log.error('agent: reading back the node networking failed', { err });
      }
    }
    if (this.state !== 'running') return;
    worker.resume(remembered, recovered, unavailable);
    this.executor.watchDescription?.(() => void this.descriptionMayHaveChanged());
    this.sessionLoop = this.runSessions();
  }

  /** Closes the session and stops driving tasks, leaving their processes running (daemon shutdown). */
  async stop(): Promise<void> {
    await this.shutdown(false);
  }

  /** Closes the session, then stops and removes every task and forgets them (`swarm leave`). */
  async leave(): Promise<void> {
    await this.shutdown(true);
  }

  private async shutdown(removeTasks: boolean): Promise<void> {
    if (this.state === 'running') {
      this.state = 'stopped';
      this.session?.close();
      this.cancelBackoff?.();
      await this.sessionLoop;
      this.release ??= this.releaseTasks(removeTasks);
    }
    // After a removal from the swarm, the removal's release is already under way.
    await this.release;
  }

  /** With the sessions over: leaves the tasks running (daemon shutdown), or stops and removes them. */
  private async releaseTasks(removeTasks: boolean): Promise<void> {
    this.publisher.closeAll();
    this.reporter.disconnect();
    if (removeTasks) {
      await this.worker?.removeAll();
      await this.purgeExecutor();
      await this.networking
        ?.purge()
        .catch((err: unknown) => this.log.error('agent: removing the node networking failed', { err }));
    } else {
      await this.worker?.close();
      await this.networking?.close().catch(() => {});
    }
    this.db?.close();
  }

  /**
   * The backstop of a leave: whatever the removals one by one missed (a failed removal, a process the
   * agent never knew of), the executor kills and deletes. Then there is nothing left to remember.
   */
  private async purgeExecutor(): Promise<void> {
    if (!this.executor.purge) return;
    try {
      await this.executor.purge();
      this.db?.clear();
    } catch (err) {
      this.log.error('agent: purging the executor failed; tasks may be left behind', { err });
    }
  }

  private async runSessions(): Promise<void> {
    let backoffMs = 0;
    let sessionId: string | undefined;
    while (this.state === 'running') {
      const session = await this.openSession(sessionId, () => (backoffMs = 0));
      if (session) {
        this.session = session;
        const end = await session.ended;
        this.session = undefined;
        this.reporter.disconnect();
        this.publisher.closeAll();
        sessionId = end.sessionId ?? sessionId;
        if (this.state !== 'running') return;
        if (isRemovedFromSwarm(end.err)) {
          this.removedFromSwarm(end.err.message);
          return;
        }
        if (this.reregister && end.err === undefined) {
          this.reregister = false;
          this.log.info('agent: the node description changed; registering again');
          continue;
        }
        this.log.warn('agent: session with manager ended', { err: end.err });
      }
      backoffMs = nextBackoff(backoffMs);
      await this.pause(backoffDelay(backoffMs, this.random));
    }
  }

  private async openSession(
    sessionId: string | undefined,
    onRegistered: () => void,
  ): Promise<AgentSession | undefined> {
    let description;
    try {
      description = await this.executor.describe();
    } catch (err) {
      this.log.error('agent: describing the node failed', { err });
      return undefined;
    }
    if (this.state !== 'running') return undefined;
    this.registeredDescription = description;
    const session: AgentSession = new AgentSession(
      this.client,
      this.clock,
      {
        ...(sessionId !== undefined ? { sessionId } : {}),
        description,
        ...(this.dataPathAddr ? { dataPathAddr: this.dataPathAddr } : {}),
      },
      {
        registered: (message) => {
          onRegistered();
          this.log.info('agent: registered with manager', { sessionId: message.sessionId });
          this.sessionMessage(message);
          this.reporter.connect((updates) => session.sendStatuses(updates));
          // The manager may have missed statuses while we were apart; it skips what it already has.
          for (const update of this.worker?.statuses() ?? []) this.reporter.report(update);
        },
        sessionMessage: (message) => this.sessionMessage(message),
        assignments: (message) => {
          this.worker?.apply(message);
          if (!this.networking) return;
          if (message.network) this.networking.applyUpdate(message.network, message.type === 'complete');
          else if (message.type === 'complete') {
            this.networking.applyUpdate({ version: 0, dataPathPort: 0, changes: [] }, true);
          }
          if (message.type === 'complete' && this.worker) {
            const assigned = new Set([...this.worker.tasks()].map((t) => t.id));
            void this.networking
              .retainOnly(assigned)
              .catch((err: unknown) => this.log.warn('agent: releasing task networks failed', { err }));
          }
        },
        logSubscription: (message: LogSubscriptionMessage) => this.publisher.handle(message),
      },
    );
    session.start();
    return session;
  }

  /**
   * The executor says the node's description may have changed (its engine came back): a description
   * that did change is registered with a new session (swarmkit's agent does the same).
   */
  private async descriptionMayHaveChanged(): Promise<void> {
    if (this.state !== 'running' || !this.session) return;
    let description: NodeDescription;
    try {
      description = await this.executor.describe();
    } catch {
      return;
    }
    if (this.state !== 'running' || !this.session || jsonEqual(description, this.registeredDescription))
      return;
    this.reregister = true;
    this.session.close();
  }

  /**
   * The managers will never take this node back (a removed node must join again, with a new identity):
   * asking again would only repeat the refusal, and its tasks have been rescheduled elsewhere, so
   * keeping them would run them twice.
   */
  private removedFromSwarm(message: string): void {
    this.state = 'removed';
    this.log.error('agent: this node was removed from the swarm; stopping and removing its tasks', {
      err: message,
    });
    this.release = this.releaseTasks(true).catch((err: unknown) =>
      this.log.error('agent: removing the tasks of a removed node failed', { err }),
    );
    try {
      this.onRemoved?.(message);
    } catch (err) {
      this.log.error('agent: onRemoved failed', { err });
    }
  }

  private sessionMessage(message: SessionMessage): void {
    this.lastMessage = message;
    this.onSessionMessage?.(message);
  }

  private pause(ms: number): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(ms, () => {
        this.cancelBackoff = undefined;
        resolve();
      });
      this.cancelBackoff = () => {
        timer.cancel();
        this.cancelBackoff = undefined;
        resolve();
      };
    });
  }
}

/** The managers' refusal of a node removed from the swarm (swarmkit's text, from ca/auth). */
function isRemovedFromSwarm(err: Error | undefined): err is Error {
  return (
    isShoalError(err) && err.code === 'PermissionDenied' && err.message.includes('was removed from swarm')
  );
}
