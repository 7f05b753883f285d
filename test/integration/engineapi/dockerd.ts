// A dockerd of the test's own, inside a harness host (its network namespace, so the machine's network is
// never touched): own data root, exec root, pidfile and socket, no iptables, no bridge. And a busybox image
// made the way the tests make images: `docker import` of a rootfs with bin/busybox and its applet links.
//
// (The Docker executor's tests bring the harness's own dockerd helper; this one is local to the engine
// proxy's tests until the two are merged.)

import type { ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  copyFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { run } from '../../harness/commands.js';
import type { ProcessHost } from '../../harness/netns.js';
import { waitFor } from '../../harness/wait.js';

const BUSYBOX = '/bin/busybox';

export class TestDockerd {
  readonly dir: string;
  readonly socketPath: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  constructor(private readonly host: ProcessHost) {
    // Short: the socket and containerd's under the exec root must fit a unix socket path.
    this.dir = mkdtempSync('/tmp/shoal-dockerd-');
    this.socketPath = join(this.dir, 'docker.sock');
    this.logFile = join(this.dir, 'dockerd.log');
  }

  get address(): string {
    return `unix://${this.socketPath}`;
  }

  async start(): Promise<void> {
    const log = openSync(this.logFile, 'a');
    const child = this.host.spawn(
      'dockerd',
      [
        '--data-root',
        join(this.dir, 'data'),
        '--exec-root',
        join(this.dir, 'exec'),
        '--pidfile',
        join(this.dir, 'dockerd.pid'),
        '--host',
        this.address,
        '--iptables=false',
        '--ip-forward=false',
        '--ip-masq=false',
        '--bridge=none',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void this.exited.then(() => (gone = true));
    await waitFor(
      async () => {
        if (gone) throw new Error(`dockerd exited:\n${this.logTail()}`);
        return await ping(this.socketPath);
      },
      { timeoutMs: 60_000, intervalMs: 100, description: `dockerd on ${this.socketPath} to answer /_ping` },
    );
  }

  /** The docker CLI against this dockerd directly. */
  async docker(args: readonly string[]): Promise<string> {
    const result = await run('docker', args, {
      env: { ...process.env, DOCKER_HOST: this.address, DOCKER_CONFIG: join(this.dir, 'docker-config') },
      timeoutMs: 60_000,
    });
    return result.stdout;
  }

  /** Makes `name` from a rootfs with busybox and its applets. */
  async importBusybox(name: string): Promise<void> {
    const rootfs = join(this.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    mkdirSync(join(rootfs, 'tmp'), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    const { stdout } = await run(BUSYBOX, ['--list']);
    for (const applet of stdout.split('\n')) {
      if (applet === '' || applet === 'busybox') continue;
      symlinkSync('busybox', join(rootfs, 'bin', applet));
    }
    const tar = join(this.dir, 'busybox.tar');
    await run('tar', ['-C', rootfs, '-cf', tar, '.']);
    await this.docker(['import', tar, name]);
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Removes every container, stops dockerd (SIGTERM, then SIGKILL) and removes its directories. */
  async destroy(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        const ids = (await this.docker(['ps', '-aq'])).split('\n').filter((id) => id !== '');
        if (ids.length > 0) await this.docker(['rm', '-f', ...ids]);
      } catch {
        // dockerd already stopped answering: its shutdown below is all there is to do
      }
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child?.kill('SIGKILL'), 30_000);
      await this.exited;
      clearTimeout(killer);
    }
    await unmountBelow(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops dockerd, keeping its directories (to see what shoal does without its engine). */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Unmounts what a dockerd that did not stop cleanly left mounted under `dir` (deepest first). */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .map((path) => path.replace(/\\040/g, ' '))
    .filter((path) => path.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const path of mounts) await run('umount', ['-l', path], { allowFailure: true });
}
