// Small network programs for testing the harness itself, run inside hosts with `node -e`, and the paths
// of the fixtures.

import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Host } from '../../harness/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
export const FAKE_SHOALD = join(here, 'fixtures', 'fake-shoald.js');
export const CRASHING_RUN = join(here, 'fixtures', 'crashing-run.js');
export const PRINT_ENV = join(here, 'fixtures', 'print-env.js');

export const ECHO_PORT = 7000;

/** `node -e ECHO_SERVER <address> <port>`: echoes every connection; prints "listening" once ready. */
const ECHO_SERVER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
net.createServer((socket) => { socket.on('error', () => {}); socket.pipe(socket); })
  .listen(Number(port), host, () => console.log('listening'));
`;

/**
 * `node -e CONNECT <address> <port> <timeoutMs>`: one connection attempt, sends "ping", prints one JSON
 * line: {"outcome":"echo"|"timeout"|"error","code"?,"ms"}.
 */
const CONNECT = `
const net = require('node:net');
const [host, port, timeoutMs] = process.argv.slice(1);
const started = Date.now();
const done = (outcome, code) => { console.log(JSON.stringify({ outcome, code, ms: Date.now() - started })); process.exit(0); };
const socket = net.connect({ host, port: Number(port) });
setTimeout(() => done('timeout'), Number(timeoutMs));
socket.on('connect', () => socket.write('ping'));
socket.on('data', () => done('echo'));
socket.on('error', (err) => done('error', err.code));
`;

/**
 * `node -e SESSION <address> <port>`: a long-lived connection driven line by line: each stdin line is
 * sent, and every event is printed: "connected", "data:<text>", "error:<code>", "close".
 */
const SESSION = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port) });
socket.on('connect', () => console.log('connected'));
socket.on('data', (data) => console.log('data:' + data.toString()));
socket.on('error', (err) => console.log('error:' + err.code));
socket.on('close', () => { console.log('close'); process.exit(0); });
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => socket.write(line));
`;

/** Starts an echo server on the host's address; resolves once it listens. */
export async function startEchoServer(host: Host, port = ECHO_PORT): Promise<ChildProcess> {
  const server = host.spawn(process.execPath, ['-e', ECHO_SERVER, host.address, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: server.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.once('line', () => resolve());
    server.once('exit', (code) => reject(new Error(`echo server on ${host.name} exited with ${code}`)));
  });
  return server;
}

export interface ConnectOutcome {
  outcome: 'echo' | 'timeout' | 'error';
  code?: string;
  ms: number;
}

/** One connection attempt from `from` to `to`, giving up after timeoutMs. */
export async function tryConnect(
  from: Host,
  to: string,
  timeoutMs = 1_000,
  port = ECHO_PORT,
): Promise<ConnectOutcome> {
  const result = await from.exec(process.execPath, ['-e', CONNECT, to, String(port), String(timeoutMs)]);
  return JSON.parse(result.stdout) as ConnectOutcome;
}

export interface Session {
  child: ChildProcess;
  /** Sends a line's text over the connection. */
  send(line: string): void;
  /** The next event ("connected", "data:<text>", "error:<code>", "close"), or "none" within timeoutMs. */
  next(timeoutMs: number): Promise<string>;
  close(): void;
}

/** A connection held open from `from` to `to`. */
export function openSession(from: Host, to: string, port = ECHO_PORT): Session {
  const child = from.spawn(process.execPath, ['-e', SESSION, to, String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else events.push(line);
  });
  return {
    child,
    send: (line: string): void => void child.stdin!.write(`${line}\n`),
    next: (timeoutMs: number): Promise<string> =>
      new Promise((resolve) => {
        const queued = events.shift();
        if (queued !== undefined) return resolve(queued);
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(deliver), 1);
          resolve('none');
        }, timeoutMs);
        const deliver = (line: string): void => {
          clearTimeout(timer);
          resolve(line);
        };
        waiters.push(deliver);
      }),
    close: (): void => void child.kill('SIGKILL'),
  };
}
