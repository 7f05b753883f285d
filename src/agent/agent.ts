// The node agent (swarmkit's agent/agent.go): keeps a session with a manager, runs the tasks the
// managers assign to this node through the executor, and reports their statuses. Tasks do not depend
// on the session: they keep running while no manager is reachable, and across daemon restarts (the
// state DB and the executor's recovery bring them back without restarting them).

import {
  systemClock,
  type Clock,
  type DispatcherClient,
  type LogSubscriptionMessage,
  type SessionMessage,
} from '../api/dispatcher.js';
import { unavailable } from '../api/errors.js';
import type { TaskStatus } from '../api/types.js';
import type { Executor } from './executor/executor.js';
import { backoffDelay, nextBackoff } from './backoff.js';
import { LogPublisher } from './log-publisher.js';
import { silentAgentLog, type AgentLog } from './log.js';
import { StatusReporter } from './reporter.js';
import { AgentSession } from './session.js';
import { AgentStateDb } from './state-db.js';
import { Worker } from './worker.js';

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
}

type AgentState = 'new' | 'running' | 'stopped';

export class Agent {
  private readonly client: DispatcherClient;
  private readonly executor: Executor;
  private readonly stateDir: string;
  private readonly log: AgentLog;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly onSessionMessage: ((message: SessionMessage) => void) | undefined;
  private readonly reporter: StatusReporter;
  private readonly publisher: LogPublisher;
  private state: AgentState = 'new';
  private db: AgentStateDb | undefined;
  private worker: Worker | undefined;
  private session: AgentSession | undefined;
  private sessionLoop: Promise<void> = Promise.resolve();
  private cancelBackoff: (() => void) | undefined;
  private lastMessage: SessionMessage | undefined;

  constructor(options: AgentOptions) {
    this.client = options.client;
    this.executor = options.executor;
    this.stateDir = options.stateDir;
    this.log = options.log ?? silentAgentLog;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.onSessionMessage = options.onSessionMessage;
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
    const recovered = await this.executor.recover();
    if (this.state !== 'running') return;
    worker.resume(db.loadTasks(), recovered);
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
    if (this.state !== 'running') return;
    this.state = 'stopped';
    this.session?.close();
    this.cancelBackoff?.();
    await this.sessionLoop;
    this.publisher.closeAll();
    this.reporter.disconnect();
    if (removeTasks) await this.worker?.removeAll();
    else await this.worker?.close();
    this.db?.close();
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
    const session: AgentSession = new AgentSession(
      this.client,
      this.clock,
      { ...(sessionId !== undefined ? { sessionId } : {}), description },
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
        assignments: (message) => this.worker?.apply(message),
        logSubscription: (message: LogSubscriptionMessage) => this.publisher.handle(message),
      },
    );
    session.start();
    return session;
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
