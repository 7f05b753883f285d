// The daemon's side of the runner: finds the node's runner (starting it when none answers), keeps one
// connection to it and multiplexes every controller's requests over it. When the runner goes away — it
// crashed or was killed — requests in flight are sent again to its successor; every runner operation is
// idempotent, so that is safe.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ExecutorLog } from './log.js';
import type { ExecutorPaths } from './paths.js';
import {
  encodeMessage,
  MessageDecoder,
  PROTOCOL_VERSION,
  WriteBatcher,
  type HelloResult,
  type ResponseMessage,
  type RunnerOp,
  type RunnerOps,
} from './protocol.js';

export interface RunnerClientOptions {
  paths: ExecutorPaths;
  log: ExecutorLog;
  /** How long a runner with no tasks and no clients lingers (passed to a runner this client starts). */
  runnerIdleExitMs?: number;
  /** How long to wait for a runner to answer after starting it. */
  startTimeoutMs?: number;
  /** false: a runner this client starts uses no cgroups. */
  cgroups?: boolean;
}

/** The runner's entry point, built next to this file. */
export const RUNNER_ENTRY = fileURLToPath(new URL('./runner-main.js', import.meta.url));

/** Requests in flight when the connection drops are resent this many times before failing. */
const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 50;

interface PendingRequest {
  op: RunnerOp;
  params: unknown;
  attempts: number;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

interface Connection {
  socket: Socket;
  out: WriteBatcher;
  hello: HelloResult;
}

export class RunnerClient {
  private connection?: Promise<Connection>;
  /** The connection `connection` resolved to, while it is open. */
  private active?: Connection;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: RunnerClientOptions) {}

  request<K extends RunnerOp>(op: K, params: RunnerOps[K]['params']): Promise<RunnerOps[K]['result']> {
    if (this.closed) return Promise.reject(new Error('process executor is closed'));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, {
        op,
        params,
        attempts: 0,
        resolve: resolve as (result: unknown) => void,
        reject,
      });
      void this.send(id);
    });
  }

  /** The runner's greeting (connecting, and starting it, if needed). */
  async hello(): Promise<HelloResult> {
    return (await this.connect()).hello;
  }

  /** Drops the connection; the runner and its tasks keep running. */
  close(): void {
    this.closed = true;
    this.active?.socket.destroy();
    this.active = undefined;
    this.connection = undefined;
    for (const [id, request] of this.pending) {
      this.pending.delete(id);
      request.reject(new Error('process executor is closed'));
    }
  }

  private async send(id: number): Promise<void> {
    const request = this.pending.get(id);
    if (!request) return;
    request.attempts++;
    let connection: Connection;
    try {
      connection = await this.connect();
    } catch (err) {
      this.retry(id, err as Error);
      return;
    }
    if (connection.socket.destroyed) this.retry(id);
    else connection.out.send(encodeMessage({ id, op: request.op, params: request.params }));
  }

  /** Sends a request again (on a new connection), or fails it when it has been tried enough. */
  private retry(id: number, cause?: Error): void {
    const request = this.pending.get(id);
    if (!request) return;
    if (request.op === 'shutdown') {
      // The runner went away, which is what was asked; do not start another one to tell it again.
      this.pending.delete(id);
      request.resolve(null);
    } else if (this.closed || request.attempts >= MAX_ATTEMPTS) {
      this.pending.delete(id);
      request.reject(cause ?? new Error('lost the connection to the task runner'));
    } else {
      setTimeout(() => void this.send(id), RETRY_DELAY_MS * request.attempts);
    }
  }

  private connect(): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('process executor is closed'));
    this.connection ??= this.establish().then(
      (connection) => {
        if (this.closed) {
          connection.socket.destroy();
          throw new Error('process executor is closed');
        }
        // Closed before this ran: onDisconnect ignored it, so forget it here (send() then retries).
        if (connection.socket.destroyed) this.connection = undefined;
        else this.active = connection;
        return connection;
      },
      (err: Error) => {
        this.connection = undefined;
        throw err;
      },
    );
    return this.connection;
  }

  /** Connects to the runner, starting one if none answers, and checks it speaks our protocol. */
  private async establish(): Promise<Connection> {
    let socket = await tryConnect(this.options.paths.socket);
    if (!socket) {
      let runner = this.startRunner();
      const deadline = Date.now() + (this.options.startTimeoutMs ?? 10_000);
      for (let delay = 5; !socket; delay = Math.min(delay * 2, 100)) {
        if (Date.now() > deadline) {
          throw new Error(`task runner did not start; see ${this.options.paths.runnerLog}`);
        }
        await sleep(delay);
        // A runner that lost the lock to a predecessor still shutting down exits at once: try again.
        if (runner.exitCode !== null || runner.signalCode !== null) runner = this.startRunner();
        socket = await tryConnect(this.options.paths.socket);
      }
    }
    const connected = socket;
    const out = new WriteBatcher((data) => {
      if (!connected.destroyed) connected.write(data);
    });
    const decoder = new MessageDecoder();
    let helloWaiter: PendingRequest | undefined;
    const helloId = 0;
    connected.on('data', (chunk: Buffer) => {
      let messages: ResponseMessage[];
      try {
        messages = decoder.push(chunk) as ResponseMessage[];
      } catch (err) {
        this.options.log.error(`task runner sent malformed data: ${(err as Error).message}`);
        connected.destroy(); // requests in flight are resent on a new connection
        return;
      }
      for (const message of messages) {
        const request = message.id === helloId ? helloWaiter : this.pending.get(message.id);
        if (!request) continue;
        if (message.id !== helloId) this.pending.delete(message.id);
        if (message.ok) request.resolve(message.result);
        else request.reject(new Error(message.error));
      }
    });
    connected.on('error', () => connected.destroy());
    connected.on('close', () => this.onDisconnect(connected));

    const hello = await new Promise<HelloResult>((resolve, reject) => {
      helloWaiter = {
        op: 'hello',
        params: {},
        attempts: 1,
        resolve: resolve as (r: unknown) => void,
        reject,
      };
      connected.once('close', () => reject(new Error('task runner closed the connection')));
      out.send(encodeMessage({ id: helloId, op: 'hello', params: {} }));
    });
    if (hello.version !== PROTOCOL_VERSION) {
      connected.destroy();
      throw new Error(
        `task runner ${hello.pid} speaks protocol ${hello.version}, this daemon ${PROTOCOL_VERSION}: stop it to upgrade`,
      );
    }
    return { socket: connected, out, hello };
  }

  private onDisconnect(socket: Socket): void {
    if (this.active?.socket !== socket) return; // a connection that never finished its greeting
    this.active = undefined;
    this.connection = undefined;
    if (this.closed) return;
    // Everything pending was sent on this connection: requests wait for `connect()` before sending.
    const lost = [...this.pending.keys()];
    if (lost.length > 0)
      this.options.log.warn(`task runner connection lost; resending ${lost.length} request(s)`);
    for (const id of lost) this.retry(id);
  }

  private startRunner(): ChildProcess {
    const { paths, log, runnerIdleExitMs, cgroups } = this.options;
    const args = [RUNNER_ENTRY, '--root', paths.root];
    if (runnerIdleExitMs !== undefined) args.push('--idle-exit-ms', String(runnerIdleExitMs));
    if (cgroups === false) args.push('--no-cgroups');
    const output = openSync(paths.runnerLog, 'a', 0o600);
    try {
      const child = spawn(process.execPath, args, {
        detached: true, // its own session: signals to the daemon's group do not reach it
        stdio: ['ignore', output, output],
        cwd: '/',
        env: runnerEnv(),
      });
      child.on('error', (err) => log.error(`starting the task runner failed: ${err.message}`));
      child.unref();
      log.info(`started task runner ${child.pid ?? '?'} for ${paths.root}`);
      return child;
    } finally {
      closeSync(output);
    }
  }
}

/** The daemon's environment minus what would make the runner behave like a test or debug child. */
function runnerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'NODE_OPTIONS',
    'NODE_TEST_CONTEXT',
    'NODE_INSPECT_RESUME_ON_START',
    'NODE_CHANNEL_FD',
  ]) {
    delete env[name];
  }
  return env;
}

function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
