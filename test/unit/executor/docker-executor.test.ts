// The docker executor against a pretend engine (support/fake-engine.ts): the lifecycle through the
// Engine API, exits and health from the event stream, images, recovery and re-adoption, an engine that
// goes away and comes back, and never touching containers that are not this node's tasks'.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DockerExecutor } from '../../../src/agent/executor/docker/executor.js';
import { resolveExecutor } from '../../../src/agent/executor/factory.js';
import {
  ExecutorUnavailableError,
  ExitError,
  type Controller,
} from '../../../src/agent/executor/executor.js';
import type { ContainerSpec, Task } from '../../../src/api/types.js';
import { FakeEngine, logFrame } from './support/fake-engine.js';
import { DependencyStore } from '../../../src/agent/dependencies.js';
import type { TaskFileStore } from '../../../src/agent/executor/docker/host-files.js';
import { taskFileMounts, type EngineMount } from '../../../src/agent/executor/docker/spec.js';
import type { TaskFile } from '../../../src/agent/executor/task-files.js';

const NODE = 'nodeid1';
const UNREACHABLE =
  /^Cannot connect to the Docker daemon at unix:\/\/.*engine\.sock\. Is the docker daemon running\?$/;

interface Log {
  lines: string[];
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function collectingLog(): Log {
  const lines: string[] = [];
  const add = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(`${level}: ${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

let counter = 0;
function task(spec: ContainerSpec, overrides: Partial<Task> = {}): Task {
  counter++;
  return {
    ID: `task${counter}`,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '1000'], ...spec } },
    ServiceID: 'service1',
    Slot: counter,
    NodeID: NODE,
    Status: { Timestamp: '', State: 'assigned', Message: '' },
    DesiredState: 'running',
    ServiceAnnotations: { Name: 'web' },
    ...overrides,
  };
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Resolves when `condition` holds (looked at every millisecond, for at most 5 s). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('docker executor (pretend engine)', () => {
  let engine: FakeEngine;
  let log: Log;
  const executors: DockerExecutor[] = [];
  const executor = (): DockerExecutor => {
    const made = new DockerExecutor({
      engineHost: engine.host,
      nodeId: NODE,
      engineLabels: { rack: '1' },
      log,
    });
    executors.push(made);
    return made;
  };
  const idOf = (controller: Controller): string => controller.containerStatus().ContainerID!;

  beforeEach(async () => {
    engine = new FakeEngine();
    await engine.start();
    log = collectingLog();
  });
  afterEach(async () => {
    for (const made of executors.splice(0)) await made.close();
    await engine.destroy();
  });

  it('creates the container with its name and labels, starts it, and learns of its exit from the events', async () => {
    const t = task({});
    const controller = executor().controller(t);
    await controller.prepare();
    const container = engine.byName(`web.${t.Slot}.${t.ID}`)!;
    assert.equal(container.Config.Labels['com.docker.swarm.task.id'], t.ID);
    assert.equal(container.Config.Labels['com.docker.swarm.node.id'], NODE);
    await controller.start();
    assert.equal(idOf(controller), container.Id);
    assert.equal(controller.containerStatus().PID, container.State.Pid);
    const waited = outcome(controller.wait());
    engine.exit(container.Id, 137);
    assert.equal(await waited, 'task: non-zero exit (137)');
    assert.deepEqual(controller.containerStatus(), { ContainerID: container.Id, ExitCode: 137 });
  });

  it('completes a task whose container exits 0', async () => {
    const controller = executor().controller(task({}));
    await controller.prepare();
    await controller.start();
    const waited = controller.wait();
    engine.exit(idOf(controller), 0);
    await waited;
  });

  it('stops with the grace period as the stop timeout, in whole seconds', async () => {
    const controller = executor().controller(task({ StopGracePeriod: 2_500_000_000 }));
    await controller.prepare();
    await controller.start();
    const waited = outcome(controller.wait());
    await controller.shutdown();
    const [stop] = engine.calls('POST', /\/stop$/);
    assert.equal(stop!.query.get('t'), '2');
    assert.equal(await waited, 'task: non-zero exit (143)');
  });

  it('removes the container with its anonymous volumes, and forgets it', async () => {
    const controller = executor().controller(task({}));
    await controller.prepare();
    await controller.start();
    await controller.remove();
    const [removal] = engine.calls('DELETE', /^\/containers\//);
    assert.equal(removal!.query.get('force'), '1');
    assert.equal(removal!.query.get('v'), '1');
    assert.equal(engine.containers.size, 0);
  });

  describe('images', () => {
    it("fails with the engine's No such image when the image is missing and cannot be pulled; never logs credentials", async () => {
      const controller = executor().controller(
        task({ Image: 'nope', PullOptions: { RegistryAuth: 'c2VjcmV0LWNyZWRlbnRpYWxz' } }),
      );
      assert.equal(await outcome(controller.prepare()), 'No such image: nope:latest');
      const [pull] = engine.calls('POST', /^\/images\/create$/);
      assert.equal(pull!.query.get('fromImage'), 'nope');
      assert.equal(pull!.query.get('tag'), 'latest');
      assert.equal(pull!.headers['x-registry-auth'], 'c2VjcmV0LWNyZWRlbnRpYWxz');
      assert.match(log.lines.join('\n'), /pulling image failed.*pull access denied for nope:latest/);
      assert.doesNotMatch(log.lines.join('\n'), /c2VjcmV0|secret/);
    });

    it('pulls a missing image before creating the container, and not one the engine has', async () => {
      engine.pullable.add('app:2');
      await executor()
        .controller(task({ Image: 'app:2' }))
        .prepare();
      await executor()
        .controller(task({ Image: 'busybox' }))
        .prepare();
      assert.deepEqual(
        engine.calls('POST', /^\/images\/create$/).map((r) => r.query.get('fromImage')),
        ['app'],
      );
      assert.equal(engine.calls('POST', /^\/containers\/create$/).length, 2);
    });

    it('looks an image up once, and again when the engine has lost it', async () => {
      const made = executor();
      await made.controller(task({})).prepare();
      await made.controller(task({})).prepare();
      assert.equal(engine.calls('GET', /^\/images\/busybox:latest\/json$/).length, 1);
      engine.images.delete('busybox:latest');
      assert.equal(await outcome(made.controller(task({})).prepare()), 'No such image: busybox:latest');
      assert.equal(engine.calls('GET', /^\/images\/busybox:latest\/json$/).length, 2);
      assert.equal(engine.calls('POST', /^\/images\/create$/).length, 1, 'and pulled');
    });
  });

  it('creates volumes with a driver config first, named with their templates expanded', async () => {
    const t = task({
      Mounts: [
        {
          Type: 'volume',
          Source: 'data-{{.Task.Slot}}',
          Target: '/data',
          VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } },
        },
      ],
    });
    await executor().controller(t).prepare();
    assert.deepEqual(engine.volumes.get(`data-${t.Slot}`), {
      Name: `data-${t.Slot}`,
      Driver: 'local',
      DriverOpts: { type: 'tmpfs', device: 'tmpfs' },
    });
    const container = engine.byName(`web.${t.Slot}.${t.ID}`)!;
    const mounts = (container.body.HostConfig as { Mounts: { Source: string }[] }).Mounts;
    assert.equal(mounts[0]!.Source, `data-${t.Slot}`);
  });

  it('refuses what the node cannot honour and what moby refuses, before touching the engine', async () => {
    const made = executor();
    assert.match(
      await outcome(
        made.controller(task({ Mounts: [{ Type: 'cluster', Source: 'v', Target: '/v' }] })).prepare(),
      ),
      /^the docker executor cannot honour ContainerSpec\.Mounts\[0\] \(mount:cluster\)/,
    );
    assert.equal(
      await outcome(
        made.controller(task({ Mounts: [{ Type: 'bind', Source: 'rel', Target: '/x' }] })).prepare(),
      ),
      'invalid bind mount source, must be an absolute path: rel',
    );
    assert.equal(await outcome(made.controller(task({ Image: '' })).prepare()), 'dockerexec: image required');
    assert.equal(engine.calls('POST', /^\/containers\/create$/).length, 0);
  });

  describe('secrets and configs', () => {
    /** A store of task files that keeps them in memory, as the tmpfs on the host would. */
    class MemoryTaskFiles implements TaskFileStore {
      readonly put_: [string, TaskFile[]][] = [];
      readonly removed: string[] = [];
      purged = false;
      async put(taskId: string, files: readonly TaskFile[]): Promise<EngineMount[]> {
        this.put_.push([taskId, [...files]]);
        return taskFileMounts(files, `/run/shoal/task-files/x/${taskId}`);
      }
      async remove(taskId: string): Promise<void> {
        this.removed.push(taskId);
      }
      async purge(): Promise<void> {
        this.purged = true;
      }
    }
    const b64 = (text: string): string => Buffer.from(text).toString('base64');

    it('binds each file read-only at its target, from the task’s files on the host, freed when it stops (as moby) and at removal', async () => {
      const files = new MemoryTaskFiles();
      const made = new DockerExecutor({ engineHost: engine.host, nodeId: NODE, log, taskFiles: files });
      executors.push(made);
      const deps = new DependencyStore();
      deps.updateSecret({ ID: 's1', Name: 'db_pw', Data: b64('s3cret') });
      deps.updateConfig({
        ID: 'c1',
        Name: 'app',
        Data: b64('{{.Task.Slot}}'),
        Templating: { Name: 'golang' },
      });
      deps.completed();
      const t = task({
        Mounts: [{ Type: 'tmpfs', Target: '/tmp' }],
        Secrets: [
          { SecretID: 's1', SecretName: 'db_pw', File: { Name: 'db_pw', UID: '0', GID: '0', Mode: 0o444 } },
        ],
        Configs: [
          {
            ConfigID: 'c1',
            ConfigName: 'app',
            File: { Name: '/etc/app.conf', UID: '1', GID: '2', Mode: 0o440 },
          },
        ],
      });
      const controller = made.controller(t, deps.restrict(t));
      await controller.prepare();
      const container = engine.byName(`web.${t.Slot}.${t.ID}`)!;
      assert.deepEqual((container.body.HostConfig as { Mounts: unknown[] }).Mounts, [
        { Type: 'tmpfs', Target: '/tmp' },
        {
          Type: 'bind',
          Source: `/run/shoal/task-files/x/${t.ID}/secret.0`,
          Target: '/run/secrets/db_pw',
          ReadOnly: true,
        },
        {
          Type: 'bind',
          Source: `/run/shoal/task-files/x/${t.ID}/config.1`,
          Target: '/etc/app.conf',
          ReadOnly: true,
        },
      ]);
      const [[taskId, put]] = files.put_ as [[string, TaskFile[]]];
      assert.equal(taskId, t.ID);
      assert.deepEqual(
        put.map((f) => [f.target, f.uid, f.gid, f.mode, f.data.toString()]),
        [
          ['/run/secrets/db_pw', 0, 0, 0o444, 's3cret'],
          ['/etc/app.conf', 1, 2, 0o440, String(t.Slot)],
        ],
      );
      assert.ok(!JSON.stringify(container.body).includes(b64('s3cret')), 'no data in the create body');
      assert.ok(!JSON.stringify(engine.requests).includes('s3cret'));
      await controller.start();
      assert.deepEqual(files.removed, [], 'kept while the container runs');
      const waited = controller.wait();
      engine.exit(container.Id, 0);
      await waited;
      await until(() => files.removed.length === 1, 'the files released when the container stopped');
      await controller.remove();
      assert.deepEqual(files.removed, [t.ID, t.ID], 'and made sure of at removal');
      await made.purge();
      assert.ok(files.purged);
    });

    it('rejects a task whose secret is not on the node, before touching the engine', async () => {
      const made = new DockerExecutor({
        engineHost: engine.host,
        nodeId: NODE,
        log,
        taskFiles: new MemoryTaskFiles(),
      });
      executors.push(made);
      const deps = new DependencyStore();
      deps.completed();
      const t = task({
        Secrets: [
          { SecretID: 's9', SecretName: 'gone', File: { Name: 'gone', UID: '0', GID: '0', Mode: 0o444 } },
        ],
      });
      assert.equal(
        await outcome(made.controller(t, deps.restrict(t)).prepare()),
        'unable to get secret from secret store: secret s9 not found',
      );
      assert.equal(engine.calls('POST', /^\/containers\/create$/).length, 0);
    });
  });

  it('takes over a container an earlier attempt created under the same name', async () => {
    const t = task({});
    engine.add({
      name: `web.${t.Slot}.${t.ID}`,
      labels: { 'com.docker.swarm.task.id': t.ID, 'com.docker.swarm.node.id': NODE },
      status: 'created',
    });
    const controller = executor().controller(t);
    await controller.prepare();
    await controller.start();
    assert.equal(engine.containers.size, 1);
  });

  it("does not take over another's container of the same name", async () => {
    const t = task({});
    engine.add({ name: `web.${t.Slot}.${t.ID}`, labels: {}, status: 'created' });
    assert.match(await outcome(executor().controller(t).prepare()), /^Conflict\. The container name/);
  });

  describe('health checks', () => {
    it('starts only once the engine finds the container healthy', async () => {
      const controller = executor().controller(task({ Healthcheck: { Test: ['CMD', 'true'] } }));
      await controller.prepare();
      let started = false;
      const starting = controller.start().then(() => (started = true));
      await until(() => controller.health()?.Status === 'starting', 'the health to be starting');
      assert.equal(started, false);
      engine.health(idOf(controller), 'healthy');
      await starting;
      assert.equal(controller.health()?.Status, 'healthy');
    });

    it('stops a container that turns unhealthy before it is healthy, and fails its start', async () => {
      const controller = executor().controller(task({ Healthcheck: { Test: ['CMD', 'false'] } }));
      await controller.prepare();
      const starting = controller.start().catch((err: unknown) => err);
      await until(() => controller.health()?.Status === 'starting', 'the health to be starting');
      engine.health(idOf(controller), 'unhealthy');
      const error = await starting;
      assert.ok(error instanceof ExitError);
      assert.equal(error.message, 'task: non-zero exit (143): dockerexec: unhealthy container');
    });

    it('stops a running container that turns unhealthy later, and fails its wait', async () => {
      const controller = executor().controller(task({ Healthcheck: { Test: ['CMD', 'true'] } }));
      await controller.prepare();
      const starting = controller.start();
      await until(() => controller.health() !== undefined, 'the health');
      engine.health(idOf(controller), 'healthy');
      await starting;
      const waited = outcome(controller.wait());
      engine.health(idOf(controller), 'unhealthy');
      assert.equal(await waited, 'task: non-zero exit (143): dockerexec: unhealthy container');
    });

    it('has no health without a healthcheck, or with NONE', async () => {
      for (const spec of [{}, { Healthcheck: { Test: ['NONE'] } }]) {
        const controller = executor().controller(task(spec));
        await controller.prepare();
        await controller.start();
        assert.equal(controller.health(), undefined);
      }
    });
  });

  it('reads the log stream, demultiplexed, with timestamps', async () => {
    const controller = executor().controller(task({}));
    await controller.prepare();
    await controller.start();
    engine.containers
      .get(idOf(controller))!
      .logs.push(logFrame(1, '2024-05-01T12:00:00.5Z hello\n'), logFrame(2, '2024-05-01T12:00:01Z oops\n'));
    const lines: string[] = [];
    for await (const line of controller.logs(
      { follow: false, stdout: true, stderr: true, tail: 10 },
      new AbortController().signal,
    )) {
      lines.push(`${line.stream} ${line.timestamp} ${line.data.toString()}`);
    }
    assert.deepEqual(lines, [
      'stdout 2024-05-01T12:00:00.500000000Z hello\n',
      'stderr 2024-05-01T12:00:01.000000000Z oops\n',
    ]);
    const [request] = engine.calls('GET', /\/logs$/);
    assert.equal(request!.query.get('timestamps'), '1');
    assert.equal(request!.query.get('tail'), '10');
  });

  describe('after a daemon restart', () => {
    it("recovers this node's task containers, and only those", async () => {
      const running = engine.add({
        name: 'web.1.old1',
        labels: { 'com.docker.swarm.task.id': 'old1', 'com.docker.swarm.node.id': NODE },
        status: 'running',
      });
      const exited = engine.add({
        name: 'web.2.old2',
        labels: { 'com.docker.swarm.task.id': 'old2', 'com.docker.swarm.node.id': NODE },
        status: 'exited',
        exitCode: 3,
      });
      engine.add({
        name: 'other-node',
        labels: { 'com.docker.swarm.task.id': 'x', 'com.docker.swarm.node.id': 'n2' },
        status: 'running',
      });
      engine.add({ name: 'users-own', labels: {}, status: 'running' });
      const recovered = await executor().recover();
      assert.deepEqual(
        recovered.sort((a, b) => a.taskId.localeCompare(b.taskId)),
        [
          {
            taskId: 'old1',
            running: true,
            status: { State: 'running', ContainerStatus: { ContainerID: running.Id } },
          },
          {
            taskId: 'old2',
            running: false,
            status: {
              State: 'failed',
              Err: 'task: non-zero exit (3)',
              ContainerStatus: { ContainerID: exited.Id, PID: 0, ExitCode: 3 },
            },
          },
        ],
      );
    });

    it('re-adopts a running container: the same one, waited for until it exits', async () => {
      const first = executor();
      const t = task({});
      const controller = first.controller(t);
      await controller.prepare();
      await controller.start();
      const id = idOf(controller);
      await first.close();
      const second = executor();
      await second.recover();
      const adopted = second.controller(t);
      const waited = outcome(adopted.wait());
      await until(
        () => engine.streamCount > 0 && adopted.containerStatus().PID !== undefined,
        'the adoption',
      );
      assert.equal(idOf(adopted), id);
      engine.exit(id, 2);
      assert.equal(await waited, 'task: non-zero exit (2)');
      assert.equal(engine.calls('POST', /\/start$/).length, 1, 'never started twice');
    });

    it('kills and removes a task known only by its ID (unclaimed), by its labels', async () => {
      const orphan = engine.add({
        name: 'web.3.orphan',
        labels: { 'com.docker.swarm.task.id': 'orphan', 'com.docker.swarm.node.id': NODE },
        status: 'running',
      });
      const controller = executor().controller(
        task({}, { ID: 'orphan', Spec: {}, ServiceAnnotations: undefined }),
      );
      await controller.terminate();
      await controller.remove();
      assert.equal(engine.containers.has(orphan.Id), false);
    });
  });

  it("purges this node's task containers and nothing else", async () => {
    engine.add({
      name: 'a',
      labels: { 'com.docker.swarm.task.id': 'a', 'com.docker.swarm.node.id': NODE },
      status: 'running',
    });
    engine.add({
      name: 'b',
      labels: { 'com.docker.swarm.task.id': 'b', 'com.docker.swarm.node.id': NODE },
      status: 'exited',
    });
    engine.add({
      name: 'c',
      labels: { 'com.docker.swarm.task.id': 'c', 'com.docker.swarm.node.id': 'other' },
      status: 'running',
    });
    engine.add({ name: 'd', labels: { 'com.docker.swarm.node.id': NODE }, status: 'running' });
    await executor().purge();
    assert.deepEqual([...engine.containers.values()].map((c) => c.Name).sort(), ['/c', '/d']);
  });

  it('is what `--executor auto` picks when the engine answers, and process when none does', async () => {
    assert.deepEqual(await resolveExecutor('auto', engine.host), {
      config: { kind: 'docker', engineHost: engine.host },
      reason: `the engine at ${engine.host} answers`,
    });
    await engine.stop();
    const fallback = await resolveExecutor('auto', engine.host);
    assert.deepEqual(fallback.config, { kind: 'process' });
    assert.match(fallback.reason, /^no container engine answers at unix:\/\//);
    assert.deepEqual((await resolveExecutor('docker', engine.host)).config, {
      kind: 'docker',
      engineHost: engine.host,
    });
    assert.deepEqual((await resolveExecutor('process', engine.host)).config, { kind: 'process' });
    await assert.rejects(resolveExecutor('process', 'docker.sock'), /invalid engine host docker\.sock/);
  });

  it('describes the node from the engine', async () => {
    const description = await executor().describe();
    assert.equal(description.Hostname, 'fake-node');
    assert.equal(description.Engine.EngineVersion, '20.10.99');
    assert.deepEqual(description.Engine.Labels, { engine: 'fake', rack: '1', 'shoal.executor': 'docker' });
  });

  describe('when the engine goes away', () => {
    it('fails waiting tasks and refuses new ones with the engine error, then works again when it is back', async () => {
      const made = executor();
      const described: number[] = [];
      made.watchDescription(() => described.push(1));
      const controller = made.controller(task({}));
      await controller.prepare();
      await controller.start();
      const waited = outcome(controller.wait());
      await engine.stop();
      assert.match(await waited, UNREACHABLE);
      assert.match(await outcome(made.controller(task({})).prepare()), UNREACHABLE);
      // The node is still described (from what the engine said before).
      assert.equal((await made.describe()).Hostname, 'fake-node');

      await engine.start();
      await until(() => engine.streamCount > 0, 'the event stream to reopen');
      await until(() => described.length > 0, 'the node to be described again');
      const again = made.controller(task({}));
      await again.prepare();
      await again.start();
    });

    it('kills, once the engine is back, a container whose task failed while it was away', async () => {
      const made = executor();
      const controller = made.controller(task({}));
      await controller.prepare();
      await controller.start();
      const id = idOf(controller);
      const waited = outcome(controller.wait());
      await engine.stop();
      assert.match(await waited, UNREACHABLE);
      await engine.start(); // the container still runs (an engine restarted with live-restore)
      await until(() => engine.containers.get(id)!.State.Status === 'exited', 'the container to be killed');
      assert.equal(engine.containers.get(id)!.State.ExitCode, 137);
    });

    it('sees, through a fresh look, an exit that happened while its event stream was broken', async () => {
      const controller = executor().controller(task({}));
      await controller.prepare();
      await controller.start();
      const waited = outcome(controller.wait());
      await until(() => engine.streamCount > 0, 'the stream');
      engine.breakStreams();
      engine.exit(idOf(controller), 9, false);
      assert.equal(await waited, 'task: non-zero exit (9)');
    });

    it('kills nothing when only its event stream broke', async () => {
      const made = executor();
      const described: number[] = [];
      made.watchDescription(() => described.push(1));
      const controller = made.controller(task({}));
      await controller.prepare();
      await controller.start(); // running, and nobody waits on it (the agent would)
      await until(() => engine.streamCount > 0, 'the stream');
      engine.breakStreams();
      await until(() => described.length > 0, 'the stream to be open again');
      assert.equal(engine.containers.get(idOf(controller))!.State.Status, 'running');
      assert.equal(engine.calls('POST', /\/kill$/).length, 0);
    });

    it('cannot recover while the engine is down, and says so', async () => {
      await engine.stop();
      const error = await executor()
        .recover()
        .catch((err: unknown) => err);
      assert.ok(error instanceof ExecutorUnavailableError);
      assert.match(error.message, UNREACHABLE);
    });
  });
});
