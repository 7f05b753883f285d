// A Docker Engine for tests: one `dockerd` (Debian's docker.io) with its own data root, exec root, pid
// file, config file, socket and cgroup parent, started inside a test Host (its network and UTS namespaces,
// so its hostname is the host's) or, "on loopback", in a network namespace of its own holding only `lo`
// (with the machine's hostname): it never touches the machine's network — no bridge (`--bridge=none`:
// containers get the engine's default network, which is then only their own loopback), no iptables, no
// forwarding. Processes enter with `nsenter --net` (not `ip netns exec`, which remounts /sys and hides
// the cgroup mounts dockerd needs). `importBusybox()` makes `busybox:latest` with `docker import` from
// the machine's busybox-static, since tests have no registry to pull from.
//
//   const engine = await TestDockerd.onHost(cluster.network.host('worker1'));
//   await engine.importBusybox();
//   const daemon = new ShoalDaemon(host, { extraArgs: ['--executor', 'docker', '--engine-host', engine.apiHost] });
//   …
//   await engine.stop(); await engine.start();   // the engine goes away and comes back, same state
//
// Cleanup is the harness's: `destroy()`, the process exit hooks, and for a killed run the next sweep
// (the work dir is tracked in the network's claim with the cgroup parent) kill dockerd, its containerd
// and shims by their arguments, the containers through their cgroups, unmount the layers and remove it all.

import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanDataDirs,
  keepFiles,
  NETNS_DIR,
  registerLive,
  unregisterLive,
  type LiveResource,
} from './cleanup.js';
import { run, spawnCommand } from './commands.js';
import { Network, type Host } from './netns.js';
import type { ApiResponse, CliOptions, CommandResult } from './shoald.js';
import { killUntilGone, pidsUsingDir } from './procs.js';
import { sleep } from './wait.js';

const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_TIMEOUT_MS = 60_000;
/** Where Debian's busybox-static puts its binary. */
const BUSYBOX = '/usr/bin/busybox';

/** On PATH? */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/**
 * Tests with a Docker Engine need Debian's docker.io and busybox-static, which scripts/setup.sh installs.
 * Without them such a test fails at once, saying what to install — unless SHOAL_SKIP_MISSING_ENGINES=1
 * asks to skip it (for a developer's machine; CI never sets it). For `describe(…, { skip })`.
 */
export function dockerdMissing(): string | false {
  const missing = onPath('dockerd')
    ? busyboxMissing()
    : 'dockerd is not installed (scripts/setup.sh installs docker.io)';
  return missing === false ? false : skipOrFail(missing);
}

/** The reason to skip, when skipping is asked for; else the error that fails the test file. */
export function skipOrFail(missing: string): string {
  if (process.env.SHOAL_SKIP_MISSING_ENGINES === '1') return missing;
  throw new Error(`${missing}; set SHOAL_SKIP_MISSING_ENGINES=1 to skip these tests instead`);
}

/** Why no busybox image can be made here, or false. */
export function busyboxMissing(): string | false {
  return existsSync(BUSYBOX) ? false : `${BUSYBOX} is missing (scripts/setup.sh installs busybox-static)`;
}

export interface TestDockerdOptions {
  /** More dockerd arguments (`--label zone=a`, `--live-restore`…). */
  extraArgs?: readonly string[];
  /** How long start() waits for `/_ping`. Default 60 s. */
  startTimeoutMs?: number;
}

export class TestDockerd implements LiveResource {
  readonly workDir: string;
  readonly socketPath: string;
  /** The engine's address as `--engine-host` and DOCKER_HOST take it. */
  readonly apiHost: string;
  readonly logFile: string;
  readonly description: string;
  /** The cgroup (below every hierarchy's root) that holds this engine's containers. */
  readonly cgroupParent: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private isDestroyed = false;

  private constructor(
    /** Where dockerd runs: a host's namespaces, or (loopback) a namespace of its own. */
    private readonly placement: { host: Host; withUts: boolean },
    /** The network made for a loopback engine alone (destroyed with it). */
    private readonly ownNetwork: Network | undefined,
    private readonly options: TestDockerdOptions,
  ) {
    this.workDir = mkdtempSync(join(tmpdir(), 'shd-'));
    this.socketPath = join(this.workDir, 'docker.sock');
    this.apiHost = `unix://${this.socketPath}`;
    this.logFile = join(this.workDir, 'dockerd.log');
    this.cgroupParent = `shoaltest-dockerd-${this.workDir.slice(this.workDir.lastIndexOf('-') + 1)}`;
    this.description = `dockerd on ${ownNetwork ? 'loopback' : placement.host.name} (${this.workDir})`;
    placement.host.network.trackDataDir({
      dataDir: this.workDir,
      removeDir: this.workDir,
      cgroupParent: this.cgroupParent,
    });
    registerLive(this);
  }

  /** A dockerd inside a test host: its containers run on that host; its hostname is the host's. */
  static async onHost(host: Host, options: TestDockerdOptions = {}): Promise<TestDockerd> {
    const engine = new TestDockerd({ host, withUts: true }, undefined, options);
    await engine.startOrDestroy();
    return engine;
  }

  /**
   * A dockerd for loopback tests (ShoalDaemon.onLoopback): in a network namespace of its own, with the
   * machine's hostname; shoald reaches it through its unix socket.
   */
  static async onLoopback(options: TestDockerdOptions = {}): Promise<TestDockerd> {
    const network = await Network.create({ hosts: ['engine'] });
    try {
      const engine = new TestDockerd({ host: network.host('engine'), withUts: false }, network, options);
      await engine.startOrDestroy();
      return engine;
    } catch (err) {
      await network.destroy();
      throw err;
    }
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The dockerd process while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts dockerd (again, on the same state) and waits until it answers `/_ping`. A dockerd that exits
   * before answering is started again (twice at most) once whatever is left of its containerd is killed: on
   * machines whose init does not reap orphans, the containerd of a killed dockerd can linger, and the next
   * dockerd's containerd then times out (slower still on a busy machine) and takes dockerd down with it.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (err) {
        if (attempt === 3 || this.child || !/exited before answering/.test((err as Error).message)) throw err;
        killUntilGone(() => pidsUsingDir(join(this.workDir, 'exec')));
        await sleep(500);
      }
    }
  }

  private async startOnce(): Promise<void> {
    if (this.isDestroyed) throw new Error(`${this.description} was destroyed`);
    if (this.child) throw new Error(`${this.description} is already running`);
    const dirs = ['data', 'exec'].map((name) => join(this.workDir, name));
    for (const dir of dirs) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const configFile = join(this.workDir, 'daemon.json');
    writeFileSync(configFile, '{}\n');
    const args = [
      '--data-root',
      dirs[0]!,
      '--exec-root',
      dirs[1]!,
      '--pidfile',
      join(this.workDir, 'dockerd.pid'),
      '--config-file',
      configFile,
      '--host',
      this.apiHost,
      '--cgroup-parent',
      `/${this.cgroupParent}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--userland-proxy=false',
      ...(this.options.extraArgs ?? []),
    ];
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      const { host, withUts } = this.placement;
      const spawnOptions = { stdio: ['ignore', log, log] as ['ignore', number, number], detached: true };
      child = withUts
        ? host.spawn('dockerd', args, spawnOptions)
        : spawnCommand(
            'nsenter',
            [`--net=${join(NETNS_DIR, host.namespace)}`, '--', 'dockerd', ...args],
            spawnOptions,
          );
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.exited = new Promise((resolve) => {
      const gone = (): void => {
        if (this.child === child) this.child = undefined;
        resolve();
      };
      child.once('exit', gone);
      child.once('error', gone);
    });
    child.unref();
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let problem = 'no answer yet';
    while (this.child === child) {
      try {
        const res = await this.api('GET', '/_ping', undefined, 2_000);
        if (res.status === 200) return;
        problem = `/_ping answered ${res.status}`;
      } catch (err) {
        problem = (err as Error).message;
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `${this.description} did not answer within ${timeoutMs} ms (${problem})\n${this.logTail()}`,
        );
      }
      await sleep(50);
    }
    throw new Error(`${this.description} exited before answering\n${this.logTail()}`);
  }

  /** SIGTERM: dockerd stops its containers and exits (as `systemctl stop docker`). */
  async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    child.kill('SIGTERM');
    const stopped = await Promise.race([this.exited!.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!stopped) {
      await this.kill();
      throw new Error(`${this.description} did not stop within ${timeoutMs} ms of SIGTERM; killed it`);
    }
  }

  /** SIGKILL of dockerd alone (its containerd, shims and containers are left as a crash leaves them). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Imports a busybox root filesystem (the machine's busybox-static) as each of `tags`. */
  async importBusybox(tags: readonly string[] = ['busybox:latest']): Promise<void> {
    const archive = join(this.workDir, 'busybox-rootfs.tar');
    await buildBusyboxArchive(join(this.workDir, 'busybox-rootfs'), archive);
    const [first, ...rest] = tags;
    if (!first) return;
    const imported = await this.docker(['import', archive, first]);
    if (imported.code !== 0) throw new Error(`docker import failed: ${imported.stderr}`);
    for (const tag of rest) {
      const tagged = await this.docker(['tag', first, tag]);
      if (tagged.code !== 0) throw new Error(`docker tag ${tag} failed: ${tagged.stderr}`);
    }
  }

  /** The real docker CLI against this engine. */
  docker(args: readonly string[], options: CliOptions = {}): Promise<CommandResult> {
    return runDockerCli(this.apiHost, join(this.workDir, 'docker-config'), args, options);
  }

  /** One Engine API request to this engine (unversioned unless `path` says). */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
  ): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: false,
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            Host: 'docker',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
          },
          timeout: timeoutMs,
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
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path} on ${this.description}: no answer in time`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The containers the engine has (all states), as `docker ps -a` sees them. */
  async containers(): Promise<
    { Id: string; Names: string[]; State: string; Labels: Record<string, string> }[]
  > {
    const res = await this.api<
      { Id: string; Names: string[]; State: string; Labels: Record<string, string> }[]
    >('GET', '/containers/json?all=1');
    if (res.status !== 200) throw new Error(`listing containers: ${res.status} ${res.text}`);
    return res.body;
  }

  logTail(lines = 40): string {
    let text = '';
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      // not written yet
    }
    const all = text.trimEnd().split('\n');
    return `--- ${this.description}: last ${Math.min(lines, all.length)} log lines ---\n${all.slice(-lines).join('\n')}`;
  }

  /** Kills the engine and everything it ran, unmounts and removes its state. */
  async destroy(): Promise<void> {
    const child = this.child;
    // Unref'd so that a forgotten engine cannot keep the test process alive: ref'd while we wait.
    child?.ref();
    const exited = child ? this.exited : undefined;
    this.cleanupSync();
    await exited;
  }

  cleanupSync(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    unregisterLive(this);
    this.child?.kill('SIGKILL');
    try {
      cleanDataDirs([
        {
          dataDir: this.workDir,
          cgroupParent: this.cgroupParent,
          ...(keepFiles() ? {} : { removeDir: this.workDir }),
        },
      ]);
    } finally {
      this.ownNetwork?.cleanupSync();
    }
    if (keepFiles()) process.stderr.write(`shoal test harness: kept ${this.workDir}\n`);
  }

  private async startOrDestroy(): Promise<void> {
    try {
      await this.start();
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }
}

/**
 * A root filesystem with busybox and a symlink per applet (so `sh`, `sleep`, `httpd`… exist), /etc/passwd
 * and /etc/group with root and nobody, and /tmp — archived for `docker import`.
 */
export async function buildBusyboxArchive(root: string, archive: string): Promise<void> {
  for (const dir of ['bin', 'etc', 'tmp', 'root', 'var/www']) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  const binary = readFileSync(BUSYBOX);
  writeFileSync(join(root, 'bin', 'busybox'), binary, { mode: 0o755 });
  const { stdout } = await run(BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n').filter((name) => name && name !== 'busybox')) {
    try {
      symlinkSync('busybox', join(root, 'bin', applet));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  writeFileSync(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  await run('tar', ['-C', root, '-cf', archive, '.'], { purpose: 'archiving the busybox root filesystem' });
}

/**
 * The real docker CLI against an engine the harness started (dockerd or Podman): its own config dir, no
 * hints, and nothing of the caller's docker context or TLS settings.
 */
export async function runDockerCli(
  apiHost: string,
  configDir: string,
  args: readonly string[],
  options: CliOptions = {},
): Promise<CommandResult> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: apiHost,
    DOCKER_CONFIG: configDir,
    DOCKER_CLI_HINTS: 'false',
    ...options.env,
  };
  for (const name of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'NODE_TEST_CONTEXT'])
    delete env[name];
  const result = await run('docker', args, {
    env,
    input: options.input,
    timeoutMs: options.timeoutMs ?? 60_000,
    allowFailure: true,
  });
  return { stdout: result.stdout, stderr: result.stderr, code: result.code };
}
