// Podman's Docker-compatible API for tests: `podman system service --time=0 unix://<socket>` (Debian's
// podman) with its own storage root, run root, tmp dir and containers.conf, in a network namespace of its
// own holding only `lo` (entered with `nsenter --net`). The containers.conf gives containers no network
// (`netns = "none"`: nothing reaches the machine's), logs as k8s-file (Podman has no json-file, and
// journald needs systemd), events in a file, cgroupfs, and ulimits within this process's own (as root
// Podman raises nofile and nproc to the kernel's maximum, which fails without CAP_SYS_RESOURCE).
//
//   const engine = await TestPodman.start();
//   await engine.importBusybox();
//   new ShoalDaemon(host, { extraArgs: ['--executor', 'docker', '--engine-host', engine.apiHost] });
//
// Podman keeps a few files of its own outside: /run/containers/networks (its IPAM database),
// /etc/containers/networks/netavark.lock and /var/lib/containers/cache (its blob cache). Cleanup removes
// the containers (through podman, then by their cgroups), kills the service and its conmons, unmounts and
// removes the work dir; a killed run's leftovers go with the next sweep (the dir is tracked in the claim).

import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
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
import { runSync, spawnCommand } from './commands.js';
import { buildBusyboxArchive, busyboxMissing, onPath, runDockerCli, skipOrFail } from './dockerd.js';
import { Network } from './netns.js';
import type { CliOptions, CommandResult } from './shoald.js';
import { sleep } from './wait.js';

/** As dockerdMissing(): fails the test file, saying what to install, unless asked to skip. */
export function podmanMissing(): string | false {
  // The docker CLI drives it, and busybox-static makes its image, as for a Docker Engine.
  const missing = !onPath('podman')
    ? 'podman is not installed (scripts/setup.sh installs it)'
    : !onPath('docker')
      ? 'the docker CLI is not installed (scripts/setup.sh installs docker.io)'
      : busyboxMissing();
  return missing === false ? false : skipOrFail(missing);
}

export class TestPodman implements LiveResource {
  readonly workDir: string;
  readonly socketPath: string;
  readonly apiHost: string;
  readonly logFile: string;
  readonly description: string;
  private readonly root: string;
  private readonly runRoot: string;
  private readonly configFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private isDestroyed = false;

  private constructor(private readonly network: Network) {
    this.workDir = mkdtempSync(join(tmpdir(), 'shp-'));
    this.socketPath = join(this.workDir, 'podman.sock');
    this.apiHost = `unix://${this.socketPath}`;
    this.logFile = join(this.workDir, 'podman.log');
    this.root = join(this.workDir, 'root');
    this.runRoot = join(this.workDir, 'run');
    this.configFile = join(this.workDir, 'containers.conf');
    this.description = `podman system service (${this.workDir})`;
    network.trackDataDir({ dataDir: this.workDir, removeDir: this.workDir, podmanRoot: this.root });
    registerLive(this);
  }

  static async start(): Promise<TestPodman> {
    const network = await Network.create({ hosts: ['engine'] });
    const engine = new TestPodman(network);
    try {
      await engine.start();
    } catch (err) {
      await engine.destroy();
      throw err;
    }
    return engine;
  }

  /** Starts the service and waits until it answers `/_ping`. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.description} is already running`);
    for (const dir of [this.root, this.runRoot, join(this.workDir, 'tmp'), join(this.workDir, 'networks')]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    writeFileSync(this.configFile, containersConf(join(this.workDir, 'networks')));
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawnCommand(
        'nsenter',
        [
          `--net=${join(NETNS_DIR, this.network.host('engine').namespace)}`,
          '--',
          'podman',
          ...this.globalArgs(),
          'system',
          'service',
          '--time=0',
          this.apiHost,
        ],
        { stdio: ['ignore', log, log], detached: true, env: this.env() },
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
    const deadline = Date.now() + 30_000;
    while (this.child === child) {
      const ping = await this.docker(['version', '--format', '{{.Server.Version}}'], {
        timeoutMs: 5_000,
      }).catch(() => undefined);
      if (ping?.code === 0) return;
      if (Date.now() > deadline)
        throw new Error(`${this.description} did not answer in time\n${this.logTail()}`);
      await sleep(50);
    }
    throw new Error(`${this.description} exited before answering\n${this.logTail()}`);
  }

  /** Stops the service (its containers keep running under their conmons, as Podman's do). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    child.kill('SIGTERM');
    await this.exited;
  }

  async importBusybox(tag = 'busybox:latest'): Promise<void> {
    const archive = join(this.workDir, 'busybox-rootfs.tar');
    await buildBusyboxArchive(join(this.workDir, 'busybox-rootfs'), archive);
    const imported = await this.docker(['import', archive, tag]);
    if (imported.code !== 0) throw new Error(`docker import failed: ${imported.stderr}`);
  }

  /** The real docker CLI against Podman's Docker-compatible API. */
  docker(args: readonly string[], options: CliOptions = {}): Promise<CommandResult> {
    return runDockerCli(this.apiHost, join(this.workDir, 'docker-config'), args, options);
  }

  logTail(lines = 40): string {
    let text = '';
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      // not written yet
    }
    return `--- ${this.description}: last log lines ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
  }

  async destroy(): Promise<void> {
    const child = this.child;
    child?.ref();
    const exited = child ? this.exited : undefined;
    this.cleanupSync();
    await exited;
  }

  cleanupSync(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    unregisterLive(this);
    try {
      // Podman removes its containers best: their conmons, runtime state and mounts.
      runSync('podman', [...this.globalArgs(), 'rm', '--all', '--force', '--time', '0'], {
        env: this.env(),
        allowFailure: true,
        timeoutMs: 30_000,
      });
    } catch {
      // podman itself failed: the rest of the cleanup does it by force
    }
    this.child?.kill('SIGKILL');
    try {
      cleanDataDirs([
        { dataDir: this.workDir, podmanRoot: this.root, ...(keepFiles() ? {} : { removeDir: this.workDir }) },
      ]);
    } finally {
      this.network.cleanupSync();
    }
  }

  private globalArgs(): string[] {
    return [
      '--root',
      this.root,
      '--runroot',
      this.runRoot,
      '--tmpdir',
      join(this.workDir, 'tmp'),
      '--storage-driver',
      'overlay',
    ];
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: this.configFile };
    delete env.NODE_TEST_CONTEXT;
    return env;
  }
}

/** This process's hard limit of a resource (`Max open files`…), which Podman must not exceed. */
function hardLimit(name: string): string {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  const hard = line?.slice(26).trim().split(/\s+/)[1];
  return hard && hard !== 'unlimited' ? hard : '1048576';
}

function containersConf(networkDir: string): string {
  const nofile = hardLimit('Max open files');
  // Podman lowers its own process limit to 32768 when it cannot raise it; a container may not have more.
  const nproc = Math.min(Number(hardLimit('Max processes')), 32768);
  return [
    '[containers]',
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    'log_driver = "k8s-file"',
    'netns = "none"',
    '[network]',
    `network_config_dir = "${networkDir}"`,
    '[engine]',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    '',
  ].join('\n');
}
