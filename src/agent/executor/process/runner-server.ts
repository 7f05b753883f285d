// The runner's side of the control socket: decodes requests, hands them to the Runner and writes the
// answers back, in whatever order they complete.

import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import {
  encodeMessage,
  MessageDecoder,
  PROTOCOL_VERSION,
  RUNNER_FEATURES,
  WriteBatcher,
  type RequestMessage,
  type ResponseMessage,
  type RunnerOp,
  type RunnerOps,
} from './protocol.js';
import type { HelloResult } from './protocol.js';
import type { Runner } from './runner.js';

export interface RunnerServerOptions {
  runner: Runner;
  socketPath: string;
  hello: Omit<HelloResult, 'version' | 'pid'>;
  log: (message: string) => void;
  /** Called after a `shutdown` request has been answered. */
  onShutdown: () => void;
}

type Handlers = {
  [K in RunnerOp]: (
    params: RunnerOps[K]['params'],
  ) => Promise<RunnerOps[K]['result']> | RunnerOps[K]['result'];
};

export class RunnerServer {
  private readonly server: Server;
  private readonly connections = new Set<Socket>();
  private readonly handlers: Handlers;

  constructor(private readonly options: RunnerServerOptions) {
    const { runner } = options;
    this.handlers = {
      hello: () => ({
        version: PROTOCOL_VERSION,
        pid: process.pid,
        features: [...RUNNER_FEATURES],
        ...options.hello,
      }),
      list: () => runner.list(),
      inspect: ({ taskId }) => runner.inspect(taskId),
      start: ({ taskId, launch, files }) => runner.start(taskId, launch, files),
      wait: ({ taskId }) => runner.wait(taskId),
      stop: ({ taskId, signal, graceMs }) => runner.stop(taskId, signal, graceMs),
      kill: ({ taskId }) => runner.kill(taskId),
      remove: async ({ taskId }) => {
        await runner.remove(taskId);
        return null;
      },
      probe: (spec) => runner.probe(spec),
      shutdown: async ({ purge }) => {
        await runner.shutdown(purge);
        return null; // handle() exits once this answer is written
      },
    };
    this.server = createServer((socket) => this.accept(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Listens on the socket path, replacing a stale socket file (the caller holds the runner lock). */
  listen(): Promise<void> {
    const { socketPath } = this.options;
    try {
      unlinkSync(socketPath);
    } catch {
      // none left behind
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        chmodSync(socketPath, 0o600);
        resolve();
      });
    });
  }

  close(): void {
    this.server.close();
    for (const socket of this.connections) socket.destroy();
  }

  private accept(socket: Socket): void {
    this.connections.add(socket);
    const decoder = new MessageDecoder();
    const out = new WriteBatcher((data, written) => {
      if (socket.destroyed) written?.();
      else socket.write(data, () => written?.());
    });
    socket.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        this.options.log(`dropping a client that sent malformed data: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      for (const message of messages) void this.handle(message as RequestMessage, out);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
  }

  private async handle(request: RequestMessage, out: WriteBatcher): Promise<void> {
    let response: ResponseMessage;
    try {
      if (!Object.hasOwn(this.handlers, request.op))
        throw new Error(`unknown operation ${JSON.stringify(request.op)}`);
      const handler = this.handlers[request.op] as (params: unknown) => unknown;
      response = { id: request.id, ok: true, result: (await handler(request.params ?? {})) ?? null };
    } catch (err) {
      response = { id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    out.send(encodeMessage(response));
    if (request.op === 'shutdown' && response.ok) out.flush(() => this.options.onShutdown());
  }
}
