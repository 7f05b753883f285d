// The docker executor on Podman's Docker-compatible API (`podman system service`): the same service life
// as on the Docker Engine, with what Podman does differently (docs/architecture.md §6): health checks
// that shoal has to run itself on a host without systemd, log timestamps to the second.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { eventually, podmanMissing, ShoalDaemon, TestPodman } from '../harness/index.js';
import { freePort } from '../harness/ports.js';

interface TaskRow {
  ID: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string; PID?: number } };
}

describe('the docker executor on Podman', { timeout: 300_000, skip: podmanMissing() }, () => {
  let engine: TestPodman;
  let daemon: ShoalDaemon;
  let nodeId: string;

  before(async () => {
    engine = await TestPodman.start();
    await engine.importBusybox();
    daemon = ShoalDaemon.onLoopback({ extraArgs: ['--executor', 'docker', '--engine-host', engine.apiHost] });
    await daemon.start();
    nodeId = await daemon.apiOk<string>('POST', '/v1.41/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
  });
  afterEach((t) => {
    daemon.reportOnFailure(t);
    if ((t as { passed?: boolean }).passed === false) process.stderr.write(`${engine.logTail()}\n`);
  });
  after(async () => {
    await daemon?.destroy();
    await engine?.destroy();
  });

  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await daemon.docker(args, { timeoutMs: 120_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  const onEngine = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await engine.docker(args);
    assert.equal(code, 0, `DOCKER_HOST=<podman> docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  const tasks = (service: string): Promise<TaskRow[]> =>
    daemon.apiOk<TaskRow[]>(
      'GET',
      `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
    );
  const running = async (service: string): Promise<TaskRow[]> =>
    (await tasks(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');

  it("runs a service's tasks as Podman containers with Docker's names and labels", async () => {
    await docker('service', 'create', '--name', 'web', '--replicas', '2', 'busybox', 'sleep', '3600');
    const rows = await running('web');
    assert.equal(rows.length, 2);
    const ps = await onEngine(
      'ps',
      '--no-trunc',
      '--format',
      '{{.ID}} {{.Names}} {{.Label "com.docker.swarm.node.id"}}',
    );
    for (const task of rows) {
      assert.ok(
        ps.includes(`${task.Status.ContainerStatus?.ContainerID} web.${task.Slot}.${task.ID} ${nodeId}`),
        `web.${task.Slot}.${task.ID} runs on Podman:\n${ps}`,
      );
    }
    const engineVersion = await docker(
      'node',
      'inspect',
      'self',
      '--format',
      '{{.Description.Engine.EngineVersion}}',
    );
    assert.equal(engineVersion, (await onEngine('version', '--format', '{{.Server.Version}}')).trim() + '\n');
  });

  it('reads service logs through Podman, whose timestamps are whole seconds', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'talk',
      'busybox',
      'sh',
      '-c',
      'echo one; echo two >&2; sleep 3600',
    );
    await eventually(
      async () => {
        const logs = await daemon.docker(['service', 'logs', '--raw', '--timestamps', 'talk']);
        assert.match(logs.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.0{9}Z one\n$/);
        assert.match(logs.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.0{9}Z two\n$/);
      },
      { timeoutMs: 20_000, description: 'both lines logged' },
    );
  });

  it('replaces a container killed with kill -9, with task: non-zero exit (137)', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'crashy',
      '--restart-delay',
      '500ms',
      'busybox',
      'sleep',
      '3602',
    );
    const [task] = await running('crashy');
    process.kill(task!.Status.ContainerStatus!.PID!, 'SIGKILL');
    await eventually(
      async () => {
        const all = await tasks('crashy');
        assert.ok(all.some((t) => t.ID === task!.ID && t.Status.Err === 'task: non-zero exit (137)'));
        assert.ok(all.some((t) => t.ID !== task!.ID && t.Status.State === 'running'));
      },
      { timeoutMs: 20_000, description: 'a replacement running' },
    );
  });

  it('runs the health checks Podman leaves to systemd, gating running, and fails an unhealthy task', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'checked',
      '--health-cmd',
      'test -e /tmp/ready',
      '--health-interval',
      '200ms',
      '--health-retries',
      '50',
      'busybox',
      'sh',
      '-c',
      'sleep 1; touch /tmp/ready; sleep 3600',
    );
    const [task] = await running('checked');
    const health = await onEngine(
      'inspect',
      '--format',
      '{{.State.Health.Status}}',
      task!.Status.ContainerStatus!.ContainerID!,
    );
    assert.equal(health, 'healthy\n');

    await docker(
      'service',
      'create',
      '-d',
      '--name',
      'sick',
      '--stop-grace-period',
      '1s',
      '--health-cmd',
      'false',
      '--health-interval',
      '200ms',
      '--health-retries',
      '2',
      '--restart-condition',
      'none',
      'busybox',
      'sleep',
      '3600',
    );
    await eventually(
      async () => {
        const [sick] = await tasks('sick');
        assert.equal(sick?.Status.State, 'failed');
        assert.match(
          sick?.Status.Err ?? '',
          /^task: non-zero exit \(\d+\): dockerexec: unhealthy container$/,
        );
      },
      { timeoutMs: 30_000, description: 'the unhealthy task to fail' },
    );
  });

  it('re-adopts the same containers after a kill -9 of shoald', async () => {
    const before = (await running('web')).map((t) => t.Status.ContainerStatus?.ContainerID).sort();
    await daemon.kill();
    await daemon.start();
    await eventually(async () => assert.equal((await running('web')).length, 2), {
      timeoutMs: 30_000,
      description: 'web running',
    });
    assert.deepEqual((await running('web')).map((t) => t.Status.ContainerStatus?.ContainerID).sort(), before);
  });

  it("removes the node's task containers when it leaves the swarm, and nothing else", async () => {
    await onEngine('run', '-d', '--name', 'bystander', 'busybox', 'sleep', '3600');
    await docker('swarm', 'leave', '--force');
    assert.equal(await onEngine('ps', '-a', '--format', '{{.Names}}'), 'bystander\n');
  });
});
