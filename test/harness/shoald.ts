// One shoald under test: its own work dir (data dir, API socket, log), started inside a Host's namespaces
// (or directly on this machine for loopback tests), with the ways a test needs to hurt it — stop, kill,
// kill the whole host, restart — and to look at it: the Engine API, the shoal and docker CLIs, its log.

import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanDataDirs,
  createLocalClaim,
  keepFiles,
  killDataDirProcesses,
  registerLive,
  releaseClaim,
  sweepStaleOnce,
  trackDataDir,
  unregisterLive,
  type LiveResource,
  type TrackedDir,
} from './cleanup.js';
import { run } from './commands.js';
import { dockerCli } from './docker.js';
import { Host, LocalHost, type ProcessHost } from './netns.js';
import { cliEntry, daemonEntry } from './paths.js';
import { sleep } from './wait.js';

export interface ShoalDaemonOptions {
  /** The daemon's entry point: a .js file (run with this Node) or an executable. Default: the built shoald. */
  binary?: string;
  /** Use this data dir (kept afterwards) instead of a fresh temporary one. */
  dataDir?: string;
  /**
   * Write the daemon's log (its stdout and stderr) here, kept afterwards, instead of in the work dir: e.g.
   * on the same small filesystem as the data dir, for a test that fills it.
   */
  logFile?: string;
  /**
   * More shoald arguments, after `--data-dir … -H …`. Without an `--executor` among them the daemon runs
   * the process executor, whatever engine the machine has (shoald's own default, `auto`, would pick a
   * Docker Engine running on the machine).
   */
  extraArgs?: readonly string[];
  /** Pass --debug. Default: true when SHOAL_HARNESS_DEBUG=1. */
  debug?: boolean;
  /** Extra environment for the daemon. */
  env?: NodeJS.ProcessEnv;
  /** Node options before the entry point. Default: --enable-source-maps. */
  nodeArgs?: readonly string[];
  /** How long start() waits for /_ping. Default 20 s. */
  startTimeoutMs?: number;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  /** The answer parsed as JSON; the raw text when it is not JSON (and undefined when empty). */
  body: T;
  text: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit code (null if killed by a signal, e.g. by the timeout). */
  code: number | null;
}

export interface CliOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Default 60 s. */
  timeoutMs?: number;
}

/** A non-2xx answer, from apiOk(). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const message =
      typeof body === 'object' && body !== null && 'message' in body
        ? String(body.message)
        : JSON.stringify(body);
    super(`${method} ${path} → ${status}: ${message}`);
  }
}

/** start() failed: the daemon exited or never answered /_ping. The message ends with its log's tail. */
export class DaemonStartError extends Error {
  override name = 'DaemonStartError';
}

/**
 * What reportOnFailure() reads from node:test's context. `passed` exists at run time since Node 20.12
 * but not in @types/node 20, and hooks are typed as getting a TestContext or a SuiteContext (which has
 * no diagnostic()), hence all optional: a context that does not say it failed is never reported.
 */
export interface TestOutcome {
  readonly name?: string;
  readonly passed?: boolean;
  diagnostic?(message: string): void;
}

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;
const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_TIMEOUT_MS = 25_000; // shoald gives up on a graceful shutdown after 20 s
const DEFAULT_CLI_TIMEOUT_MS = 60_000;

export class ShoalDaemon implements LiveResource {
  readonly workDir: string;
  readonly dataDir: string;
  readonly socketPath: string;
  /** shoald's stdout and stderr (JSON lines), across restarts; the harness adds a line at each start. */
  readonly logFile: string;
  readonly description: string;
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  private starts = 0;
  private readonly localClaim: string | undefined;
  private isDestroyed = false;

  constructor(
    readonly host: ProcessHost,
    private readonly options: ShoalDaemonOptions = {},
  ) {
    if (host instanceof Host && host.network.destroyed)
      throw new Error(`${host.name}'s network was destroyed`);
    this.workDir = mkdtempSync(join(tmpdir(), `shoal-${host.name.slice(0, 20)}-`));
    this.dataDir = options.dataDir ?? join(this.workDir, 'data');
    this.socketPath = join(this.dataDir, 'shoald.sock');
    this.logFile = options.logFile ?? join(this.workDir, 'shoald.log');
    this.description = `shoald on ${host.name} (${this.workDir})`;
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH) {
      throw new Error(`socket path ${this.socketPath} is too long for a unix socket; use a shorter dataDir`);
    }
    const tracked: TrackedDir = { dataDir: this.dataDir, removeDir: this.workDir };
    if (host instanceof Host) {
      host.network.trackDataDir(tracked);
    } else {
      this.localClaim = createLocalClaim();
      trackDataDir(this.localClaim, tracked);
      registerLive(this);
    }
  }

  /** A daemon directly on this machine (no namespaces), for single-node tests; reach it on 127.0.0.1. */
  static onLoopback(options: ShoalDaemonOptions = {}): ShoalDaemon {
    sweepStaleOnce();
    return new ShoalDaemon(new LocalHost(), options);
  }

  get name(): string {
    return this.host.name;
  }

  /** The host's address (what other nodes reach this one at). */
  get address(): string {
    return this.host.address;
  }

  /** The Engine API address, as DOCKER_HOST / SHOAL_HOST / -H take it. */
  get apiHost(): string {
    return `unix://${this.socketPath}`;
  }

  /** The daemon's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Spawns shoald in the host and waits until GET /_ping answers 200. */
  async start(): Promise<void> {
    if (this.isDestroyed) throw new Error(`${this.description} was destroyed`);
    if (this.child) throw new Error(`${this.description} is already running (pid ${this.child.pid})`);
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const entry = this.options.binary ?? daemonEntry();
    const extraArgs = this.options.extraArgs ?? [];
    const choosesExecutor = extraArgs.some((arg) => arg === '--executor' || arg.startsWith('--executor='));
    const daemonArgs = [
      '--data-dir',
      this.dataDir,
      '-H',
      this.apiHost,
      ...((this.options.debug ?? process.env.SHOAL_HARNESS_DEBUG === '1') ? ['--debug'] : []),
      ...(choosesExecutor || this.options.binary ? [] : ['--executor', 'process']),
      ...extraArgs,
    ];
    const [file, args] = entry.endsWith('.js')
      ? [process.execPath, [...(this.options.nodeArgs ?? ['--enable-source-maps']), entry, ...daemonArgs]]
      : [entry, daemonArgs];

    // The log is a file the daemon writes itself, so it is complete even if this process dies first.
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      this.starts++;
      const note = {
        time: new Date().toISOString(),
        level: 'info',
        msg: 'harness: starting shoald',
        start: this.starts,
      };
      try {
        writeSync(log, `${JSON.stringify({ ...note, host: this.host.name, argv: [file, ...args] })}\n`);
      } catch {
        // Only a note for the reader (the log's disk may be full on purpose): the daemon starts regardless.
      }
      child = this.host.spawn(file, args, {
        stdio: ['ignore', log, log],
        // Its own process group: a ^C in the terminal reaches only the test, which then cleans up.
        detached: true,
        env: { ...childEnv(), ...this.options.env },
      });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        resolve({ code, signal });
      });
      child.once('error', () => {
        if (this.child === child) this.child = undefined;
        resolve({ code: null, signal: null });
      });
    });
    // A daemon left running must not keep the test process alive; the exit hooks kill it.
    child.unref();

    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'no answer yet';
    while (this.child === child) {
      try {
        const res = await this.api('GET', '/_ping', undefined, { timeoutMs: 2_000 });
        if (res.status === 200) return;
        lastProblem = `/_ping answered ${res.status}`;
      } catch (err) {
        lastProblem = (err as Error).message;
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new DaemonStartError(
          `${this.description} did not answer /_ping within ${timeoutMs} ms (${lastProblem})\n${this.logTail(40)}`,
        );
      }
      await sleep(20);
    }
    const { code, signal } = await this.exited;
    throw new DaemonStartError(
      `${this.description} exited (${signal ?? `code ${code}`}) before answering /_ping\n${this.logTail(40)}`,
    );
  }

  /**
   * Waits for the current process to exit. The child is unref'd so that a forgotten daemon cannot keep
   * the test process alive, which also means its exit alone would not keep the event loop running until
   * the event arrives: ref it while we wait.
   */
  private async exitOf(child: ChildProcess | undefined): Promise<void> {
    if (!child || !this.exited) return;
    child.ref();
    await this.exited;
  }

  /** SIGTERM and wait for a graceful exit (tasks stay with the task runner). SIGKILLs and throws on timeout. */
  async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    const child = this.child;
    if (!child || !this.exited) return;
    child.ref();
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      await this.kill();
      throw new Error(`${this.description} did not stop within ${timeoutMs} ms of SIGTERM; killed it`);
    }
  }

  /** kill -9 the daemon process only; its task runner and tasks keep running. */
  async kill(): Promise<void> {
    const child = this.child;
    child?.kill('SIGKILL');
    await this.exitOf(child);
  }

  /**
   * kill -9 everything on the host: the daemon, its task runner, tasks and whatever they forked (a
   * machine losing power). On loopback: everything started from this daemon's data dir or in its cgroups.
   */
  async killHost(): Promise<void> {
    const child = this.child;
    if (this.host instanceof Host) {
      await this.host.killAll();
    } else {
      const survivors = killDataDirProcesses(this.dataDir);
      if (survivors.length > 0) throw new Error(`processes survived SIGKILL: ${survivors.join(', ')}`);
    }
    await this.exitOf(child);
  }

  /** stop() (or kill() with `hard`) and start() again, on the same data dir. */
  async restart(options: { hard?: boolean } = {}): Promise<void> {
    if (options.hard) await this.kill();
    else await this.stop();
    await this.start();
  }

  /**
   * One Engine API request over the daemon's socket. `path` is sent as is (add `/v1.44` yourself to test
   * versioned paths); `body` is sent as JSON, or as is when it is a Buffer (to send malformed bodies).
   */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const payload =
      body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          // A fresh connection each time: a pooled keep-alive socket to a daemon that was just killed or
          // restarted would fail the next request with ECONNRESET.
          agent: false,
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            Host: 'shoal',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
            ...options.headers,
          },
          timeout: options.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text === '' ? undefined : text;
            try {
              if (text !== '') parsed = JSON.parse(text);
            } catch {
              // not JSON (e.g. "OK" from /_ping): keep the text
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} on ${this.name}: no answer in time`)));
      req.on('error', (err) => reject(new Error(`${method} ${path} on ${this.name}: ${err.message}`)));
      req.end(payload);
    });
  }

  /** api(), asserting a 2xx answer (ApiError with the daemon's message otherwise); returns the body. */
  async apiOk<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.api<T>(method, path, body);
    if (res.status < 200 || res.status > 299) throw new ApiError(method, path, res.status, res.body);
    return res.body;
  }

  /** Runs the built `shoal` CLI against this daemon (SHOAL_HOST/DOCKER_HOST point at its socket). */
  cli(args: readonly string[], options: CliOptions = {}): Promise<CommandResult> {
    return this.runClient(process.execPath, ['--enable-source-maps', cliEntry(), ...args], options);
  }

  /**
   * Runs the real `docker` CLI against this daemon, with a private DOCKER_CONFIG (no user contexts).
   * Throws DockerCliMissingError (a test dependency is missing) when there is no docker CLI.
   */
  async docker(args: readonly string[], options: CliOptions = {}): Promise<CommandResult> {
    return this.runClient(dockerCli(), args, {
      ...options,
      env: { DOCKER_CONFIG: join(this.workDir, 'docker-config'), DOCKER_CLI_HINTS: 'false', ...options.env },
    });
  }

  private async runClient(
    file: string,
    args: readonly string[],
    options: CliOptions,
  ): Promise<CommandResult> {
    const env: NodeJS.ProcessEnv = { ...childEnv(), SHOAL_HOST: this.apiHost, DOCKER_HOST: this.apiHost };
    // Anything that would point the client elsewhere than DOCKER_HOST.
    for (const name of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[name];
    const result = await run(file, args, {
      env: { ...env, ...options.env },
      input: options.input,
      timeoutMs: options.timeoutMs ?? DEFAULT_CLI_TIMEOUT_MS,
      allowFailure: true,
    });
    return { stdout: result.stdout, stderr: result.stderr, code: result.code };
  }

  /** The daemon's whole log. */
  logs(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The last lines of the log, headed with which daemon it is (for failure messages). */
  logTail(lines = 80): string {
    const all = this.logs().trimEnd().split('\n');
    const tail = all.slice(-lines).join('\n');
    return `--- ${this.description}: last ${Math.min(lines, all.length)} of ${all.length} log lines ---\n${tail}`;
  }

  /** For `afterEach((t) => daemon.reportOnFailure(t))`: attaches the log tail to a failed test's report. */
  reportOnFailure(t: TestOutcome, lines = 80): void {
    if (t.passed !== false) return;
    const report = this.logTail(lines);
    if (t.diagnostic) t.diagnostic(report);
    else process.stderr.write(`${report}\n`);
  }

  /**
   * Kills everything this daemon started (daemon, task runner, tasks; not the host's other processes)
   * and removes its work dir (kept with SHOAL_HARNESS_KEEP=1). A daemon on a Network is also cleaned up
   * by the network's destroy(); calling both is fine.
   */
  async destroy(): Promise<void> {
    const child = this.child;
    this.cleanupSync();
    await this.exitOf(child);
  }

  /** destroy(), synchronously (for exit handlers). */
  cleanupSync(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.child?.kill('SIGKILL');
    cleanDataDirs([{ dataDir: this.dataDir, removeDir: this.workDir }]);
    if (keepFiles()) process.stderr.write(`shoal test harness: kept ${this.workDir}\n`);
    if (this.localClaim) {
      unregisterLive(this);
      releaseClaim(this.localClaim);
    }
  }
}

/** This process's environment minus what `node --test` sets for its own children. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}
