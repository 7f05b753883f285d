// The node's engine behind shoal's socket, as a user of a Swarm node would try it: a real dockerd (20.10,
// Debian's) of the test's own in a harness host, shoald beside it with `--engine-host`, and the unmodified
// docker CLI (28) on shoal's socket: `ps`, `images`, `run` (detached and attached), `logs -f` read line by
// line, `exec -i` with stdin, `exec -t` through a pseudo-terminal (util-linux `script`), `attach`, `cp`
// both ways, `info`, `build` (the classic builder: a context as the request body), `save` and `load`, and
// the engine's events arriving on `docker events` beside the swarm's. Then the engine stops: shoal says
// so, naming it.
//
// Every wait is on output or state: a container that must do something next waits for a file the test
// creates through `docker exec`.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Network, ShoalDaemon, waitFor, type TestOutcome } from '../../harness/index.js';
import { TestDockerd } from './dockerd.js';

const IMAGE = 'shoal-test/busybox:1';

/** A docker CLI process whose output is read as it comes. */
class Follower {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv, input?: string) {
    this.child = spawn('docker', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdin!.on('error', () => undefined);
    if (input !== undefined) this.child.stdin!.end(input);
  }

  async waitFor(pattern: RegExp, description: string): Promise<void> {
    await waitFor(() => pattern.test(this.stdout), {
      timeoutMs: 30_000,
      intervalMs: 20,
      description: `${description} (stdout so far: ${JSON.stringify(this.stdout)}, stderr: ${JSON.stringify(this.stderr)})`,
    });
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe('the node’s engine behind shoal’s socket (docker CLI, real dockerd)', { timeout: 240_000 }, () => {
  let network: Network;
  let dockerd: TestDockerd;
  let shoald: ShoalDaemon;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  const followers: Follower[] = [];

  const docker = async (args: readonly string[], input?: string): Promise<string> => {
    const result = await shoald.docker(args, input !== undefined ? { input } : {});
    assert.equal(
      result.code,
      0,
      `docker ${args.join(' ')} exited with ${result.code}: ${result.stderr}\n${shoald.logTail(20)}`,
    );
    return result.stdout;
  };
  const follow = (args: readonly string[], input?: string): Follower => {
    const follower = new Follower(args, env, input);
    followers.push(follower);
    return follower;
  };

  before(async () => {
    network = await Network.create({ hosts: ['node'] });
    const host = network.host('node');
    dockerd = new TestDockerd(host);
    await dockerd.start();
    await dockerd.importBusybox(IMAGE);
    shoald = new ShoalDaemon(host, { extraArgs: ['--engine-host', dockerd.address] });
    await shoald.start();
    workDir = mkdtempSync(join(tmpdir(), 'shoal-proxy-it-'));
    env = {
      ...process.env,
      DOCKER_HOST: shoald.apiHost,
      DOCKER_CONFIG: join(workDir, 'docker-config'),
      DOCKER_CLI_HINTS: 'false',
    };
    delete env.DOCKER_CONTEXT;
  });
  afterEach((t) => {
    for (const f of followers.splice(0)) f.stop();
    const outcome = t as unknown as TestOutcome;
    if (outcome.passed === false) {
      outcome.diagnostic?.(`shoald:\n${shoald?.logTail(40)}\ndockerd:\n${dockerd?.logTail(20)}`);
    }
  });
  after(async () => {
    for (const f of followers) f.stop();
    await dockerd?.destroy();
    await shoald?.destroy();
    await network?.destroy();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('lists the engine’s images and containers (docker images, docker ps, docker info)', async () => {
    assert.match(
      await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']),
      /^shoal-test\/busybox:1$/m,
    );
    await docker([
      'run',
      '-d',
      '--name',
      'c1',
      IMAGE,
      'sh',
      '-c',
      'echo first; while [ ! -e /go ]; do sleep 0.05; done; echo second; exec sleep 3600',
    ]);
    const ps = await docker(['ps', '--format', '{{.Names}} {{.Image}} {{.Status}}']);
    assert.match(ps, /^c1 shoal-test\/busybox:1 Up /m);
    // The same container seen directly on the engine.
    assert.equal(
      (await docker(['ps', '-q', '--no-trunc'])).trim(),
      (await dockerd.docker(['ps', '-q', '--no-trunc'])).trim(),
    );
    const info = JSON.parse(await docker(['info', '--format', '{{json .}}'])) as Record<string, unknown>;
    assert.equal(info.ContainersRunning, 1);
    assert.equal(info.Images, 1);
    assert.equal(
      info.ServerVersion,
      JSON.parse(await docker(['version', '--format', '{{json .Server.Version}}'])),
    );
  });

  it('follows a container’s logs as they are written (docker logs -f)', async () => {
    const logs = follow(['logs', '-f', 'c1']);
    await logs.waitFor(/^first\n/, 'the first line');
    assert.doesNotMatch(logs.stdout, /second/);
    await docker(['exec', 'c1', 'touch', '/go']);
    await logs.waitFor(/^first\nsecond\n$/, 'the second line, written after the first was read');
    assert.equal(logs.child.exitCode, null, 'logs -f still follows');
  });

  it('runs a container attached (docker run) and passes stdin to exec with its end (docker exec -i)', async () => {
    assert.equal(await docker(['run', '--rm', IMAGE, 'echo', 'hello from run']), 'hello from run\n');
    assert.equal(await docker(['exec', '-i', 'c1', 'cat'], 'hi\n'), 'hi\n');
    // A bigger stdin, whose end (a half-close through shoal) lets wc answer.
    const big = 'x'.repeat(1 << 20);
    assert.equal((await docker(['exec', '-i', 'c1', 'wc', '-c'], big)).trim(), String(1 << 20));
    const failing = await shoald.docker(['exec', 'c1', 'sh', '-c', 'echo oops >&2; exit 3']);
    assert.deepEqual([failing.code, failing.stderr], [3, 'oops\n']);
  });

  it('gives exec -t a terminal (driven through script)', async () => {
    // `script` runs the docker CLI on a pseudo-terminal, as a user's terminal would; its input is typed in.
    const child = spawn('script', ['-qec', 'docker exec -it c1 sh', '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      child.stdin.write('tty; echo answer-$((6*7))\n');
      await waitFor(() => /answer-42/.test(out), {
        timeoutMs: 30_000,
        intervalMs: 20,
        description: `the shell's answer (so far ${JSON.stringify(out)})`,
      });
      assert.match(out, /\/dev\/pts\/\d+/);
      child.stdin.end('exit\n');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('attaches to a running container (docker attach)', async () => {
    // It says `ready` until it has read a line, so the test types only once the output is attached.
    await docker([
      'run',
      '-d',
      '-i',
      '--name',
      'c2',
      IMAGE,
      'sh',
      '-c',
      'while true; do echo ready; sleep 0.1; done & read line; echo got:$line; kill $!',
    ]);
    const attach = follow(['attach', 'c2']);
    await attach.waitFor(/^ready$/m, 'the container’s output');
    // Typed, not ended: dockerd ends an attach when its stdin ends (unless the container has StdinOnce),
    // possibly before the container's answer is out.
    attach.child.stdin!.write('hello\n');
    await attach.waitFor(/^got:hello$/m, 'the container’s answer to what was typed');
    // The container has exited, which ends the attach.
    assert.equal(await attach.exited, 0);
  });

  it('copies files into and out of a container (docker cp)', async () => {
    const source = join(workDir, 'in.txt');
    writeFileSync(source, 'copied in\n');
    await docker(['cp', source, 'c1:/tmp/in.txt']);
    assert.equal(await docker(['exec', 'c1', 'cat', '/tmp/in.txt']), 'copied in\n');
    await docker(['exec', 'c1', 'sh', '-c', 'echo made inside > /tmp/out.txt']);
    const target = join(workDir, 'out.txt');
    await docker(['cp', 'c1:/tmp/out.txt', target]);
    assert.equal(readFileSync(target, 'utf8'), 'made inside\n');
  });

  it('builds from a context and moves an image through save and load (bodies both ways)', async () => {
    const context = join(workDir, 'context');
    mkdirSync(context);
    writeFileSync(join(context, 'Dockerfile'), `FROM ${IMAGE}\nCOPY blob /blob\nRUN echo built > /built\n`);
    writeFileSync(join(context, 'blob'), randomBytes(4 << 20));
    const build = await shoald.docker(['build', '-q', '-t', 'shoal-test/built:1', context], {
      env: { DOCKER_BUILDKIT: '0' },
    });
    assert.equal(build.code, 0, build.stderr);
    assert.equal(
      await docker(['run', '--rm', 'shoal-test/built:1', 'sh', '-c', 'cat /built; wc -c < /blob']),
      `built\n${4 << 20}\n`,
    );
    const archive = join(workDir, 'built.tar');
    await docker(['save', '-o', archive, 'shoal-test/built:1']);
    assert.ok(statSync(archive).size > 4 << 20);
    await docker(['rmi', 'shoal-test/built:1']);
    assert.match(await docker(['load', '-i', archive]), /^Loaded image: shoal-test\/built:1$/m);
    assert.match(await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^shoal-test\/built:1$/m);
  });

  it('shows the engine’s events on docker events, beside the swarm’s', async () => {
    const format = '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}';
    const since = (Date.now() / 1000 - 1).toFixed(3);
    // `since` makes the stream start where the test did, however long the CLI takes to open it.
    const events = follow(['events', '--since', since, '--filter', 'type=container', '--format', format]);
    await docker(['run', '--name', 'ev1', IMAGE, 'true']);
    await events.waitFor(/^container start ev1$/m, 'ev1 starting');
    await docker(['run', '--name', 'ev2', IMAGE, 'true']);
    await events.waitFor(/^container die ev2$/m, 'ev2 dying');

    // On a manager, the swarm's events and the engine's come on one stream.
    await docker(['swarm', 'init', '--advertise-addr', network.host('node').address]);
    const from = (Date.now() / 1000).toFixed(3);
    const both = follow([
      'events',
      '--since',
      from,
      '--filter',
      'type=node',
      '--filter',
      'type=container',
      '--format',
      format,
    ]);
    await docker(['node', 'update', '--label-add', 'proxy=test', 'node']);
    await both.waitFor(/^node update node$/m, 'the node’s swarm event');
    await docker(['run', '--name', 'ev3', IMAGE, 'true']);
    await both.waitFor(/^container die ev3$/m, 'ev3 dying, on the same stream');

    // A closed window: the past of both, interleaved by time, then the end of the stream.
    const until = (Date.now() / 1000).toFixed(3);
    const past = (
      await docker([
        'events',
        '--since',
        since,
        '--until',
        until,
        '--filter',
        'type=node',
        '--filter',
        'type=container',
        '--format',
        format,
      ])
    )
      .split('\n')
      .filter((line) => /^container (create|die) ev\d$|^node update node$/.test(line));
    assert.deepEqual(past.slice(0, 4), [
      'container create ev1',
      'container die ev1',
      'container create ev2',
      'container die ev2',
    ]);
    assert.ok(past.includes('node update node'), past.join('\n'));
    assert.ok(past.indexOf('node update node') < past.indexOf('container die ev3'), past.join('\n'));
  });

  it('says which engine does not answer once it has stopped', async () => {
    await dockerd.stop();
    const ps = await shoald.docker(['ps']);
    assert.notEqual(ps.code, 0);
    assert.match(
      ps.stderr,
      new RegExp(
        `the node's engine at unix://${dockerd.socketPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not reachable`,
      ),
    );
    // shoal's own calls still work.
    assert.match(await docker(['node', 'ls', '--format', '{{.Hostname}}']), /^node$/m);
  });
});
