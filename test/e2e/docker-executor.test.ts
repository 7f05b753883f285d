// Issue 10 as a user would try it on one node: shoald with the docker executor on a real Docker Engine
// (Debian's dockerd 20.10, started by the harness in a namespace of its own), driven by the unmodified
// docker CLI — against shoal for the swarm, and against the engine (DOCKER_HOST=<engine socket>) to see
// the containers as a Swarm node's user sees them.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerdMissing, eventually, ShoalDaemon, TestDockerd } from '../harness/index.js';
import { freePort } from '../harness/ports.js';

interface TaskRow {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: {
    State: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number };
  };
}

interface Inspected {
  Id: string;
  Name: string;
  State: { Status: string; Pid: number; Health?: { Status: string } };
  Config: { Image: string; Labels: Record<string, string>; Hostname: string; User: string; Env: string[] };
  HostConfig: Record<string, unknown>;
}

const ENGINE_GONE =
  /^Cannot connect to the Docker daemon at unix:\/\/\/tmp\/shd-[^/]+\/docker\.sock\. Is the docker daemon running\?$/;

describe('the docker executor, with the docker CLI', { timeout: 600_000, skip: dockerdMissing() }, () => {
  let engine: TestDockerd;
  let daemon: ShoalDaemon;
  let scratch: string;
  let nodeId: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'shoal-e2e-docker-'));
    engine = await TestDockerd.onLoopback();
    await engine.importBusybox(['busybox:latest', 'busybox:1', 'busybox:2']);
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
    rmSync(scratch, { recursive: true, force: true });
  });

  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await daemon.docker(args, { timeoutMs: 120_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  /** The docker CLI against the engine itself. */
  const onEngine = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await engine.docker(args, { timeoutMs: 60_000 });
    assert.equal(code, 0, `DOCKER_HOST=<engine> docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  const tasks = (service: string): Promise<TaskRow[]> =>
    daemon.apiOk<TaskRow[]>(
      'GET',
      `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
    );
  const running = async (service: string): Promise<TaskRow[]> =>
    (await tasks(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  const inspect = async (container: string): Promise<Inspected> =>
    (JSON.parse(await onEngine('inspect', container)) as Inspected[])[0]!;
  /** The one task of a service that ended with an error, once it has. */
  const failure = async (service: string, timeoutMs = 30_000): Promise<TaskRow> => {
    let found: TaskRow | undefined;
    await eventually(
      async () => {
        found = (await tasks(service)).find((t) => t.Status.Err);
        assert.ok(found, 'no task has failed yet');
      },
      { timeoutMs, description: `a task of ${service} to fail` },
    );
    return found!;
  };

  it("runs a service's tasks as containers with Docker's names and labels", async () => {
    await docker(
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '3',
      '--init',
      '--hostname',
      '{{.Node.Hostname}}-{{.Task.Slot}}',
      '--env',
      'GREETING=hello',
      '--user',
      'nobody',
      '--workdir',
      '/tmp',
      '--container-label',
      'team=a',
      'busybox',
      'sleep',
      '3600',
    );
    const rows = await running('web');
    assert.equal(rows.length, 3);
    const ps = await onEngine('ps', '--no-trunc', '--format', '{{.ID}} {{.Names}}');
    for (const task of rows) {
      const name = `web.${task.Slot}.${task.ID}`;
      const id = task.Status.ContainerStatus?.ContainerID;
      assert.ok(ps.includes(`${id} ${name}`), `${name} (${id}) runs on the engine:\n${ps}`);
      const container = await inspect(name);
      assert.equal(container.State.Pid, task.Status.ContainerStatus?.PID);
      assert.deepEqual(
        Object.fromEntries(Object.entries(container.Config.Labels).filter(([key]) => key !== 'maintainer')),
        {
          team: 'a',
          'com.docker.swarm.task': '',
          'com.docker.swarm.task.id': task.ID,
          'com.docker.swarm.task.name': name,
          'com.docker.swarm.node.id': nodeId,
          'com.docker.swarm.service.id': container.Config.Labels['com.docker.swarm.service.id'],
          'com.docker.swarm.service.name': 'web',
        },
      );
      assert.equal(container.Config.Hostname, `${engineHostname()}-${task.Slot}`);
      assert.equal(container.HostConfig.Init, true);
      const inside = await onEngine('exec', name, 'sh', '-c', 'echo "$GREETING $(id -u) $(pwd) $(hostname)"');
      assert.equal(inside, `hello 65534 /tmp ${engineHostname()}-${task.Slot}\n`);
    }
  });

  it('says which executor the node runs, and describes it from the engine', async () => {
    assert.equal(
      await docker('info', '--format', '{{.Driver}} {{.Labels}}'),
      'shoal-docker [shoal.executor=docker]\n',
    );
    const description = JSON.parse(
      await docker('node', 'inspect', 'self', '--format', '{{json .Description}}'),
    ) as {
      Hostname: string;
      Engine: { EngineVersion: string; Plugins: { Type: string; Name: string }[] };
    };
    const info = JSON.parse(await onEngine('info', '--format', '{{json .}}')) as {
      Name: string;
      ServerVersion: string;
    };
    assert.equal(description.Hostname, info.Name);
    assert.equal(description.Engine.EngineVersion, info.ServerVersion);
    assert.ok(description.Engine.Plugins.some((p) => p.Type === 'Log' && p.Name === 'json-file'));
    assert.ok(description.Engine.Plugins.some((p) => p.Type === 'Volume' && p.Name === 'local'));
  });

  it('reads service logs from the engine: timestamps, both streams, --tail and --follow', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'talk',
      '--init',
      'busybox',
      'sh',
      '-c',
      'i=0; while true; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.2; done',
    );
    await eventually(
      async () => {
        const logs = await docker('service', 'logs', '--raw', 'talk');
        assert.match(logs, /^out 2$/m);
      },
      { timeoutMs: 20_000, description: 'three lines logged' },
    );
    const all = await daemon.docker(['service', 'logs', '--raw', 'talk']);
    assert.match(all.stdout, /^out 0\nout 1\n/);
    assert.match(all.stderr, /^err 0\nerr 1\n/, 'stderr stays stderr');
    // The last line of the log, whichever stream it was on.
    const tail = await daemon.docker(['service', 'logs', '--raw', '--tail', '1', 'talk']);
    assert.equal(`${tail.stdout}${tail.stderr}`.split('\n').filter(Boolean).length, 1);
    const stamped = await daemon.docker(['service', 'logs', '--timestamps', '--tail', '2', 'talk']);
    assert.match(
      `${stamped.stdout}${stamped.stderr}`,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z talk\.1\.\w+@\S+\s+\| (out|err) \d+\n/,
    );
    // Following: lines written after the call arrive.
    const followed = await daemon.docker(['service', 'logs', '--raw', '--follow', '--since', '1s', 'talk'], {
      timeoutMs: 2_500,
    });
    const numbers = followed.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line.split(' ')[1]));
    assert.ok(numbers.length >= 5, `followed: ${followed.stdout}`);
  });

  it('replaces a container killed with kill -9 after the restart delay, with task: non-zero exit (137)', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'crashy',
      '--restart-delay',
      '1s',
      'busybox',
      'sleep',
      '3602',
    );
    const [task] = await running('crashy');
    const container = await inspect(task!.Status.ContainerStatus!.ContainerID!);
    process.kill(container.State.Pid, 'SIGKILL');
    await eventually(
      async () => {
        const all = await tasks('crashy');
        assert.equal(all.length, 2);
        assert.ok(
          all.some(
            (t) =>
              t.ID === task!.ID &&
              t.Status.State === 'failed' &&
              t.Status.Err === 'task: non-zero exit (137)',
          ),
        );
        assert.ok(all.some((t) => t.ID !== task!.ID && t.Status.State === 'running'));
      },
      { timeoutMs: 20_000, description: 'a replacement running' },
    );
    assert.match(
      await docker('service', 'ps', 'crashy'),
      /\\_ crashy\.1\s+busybox:latest\s+\S+\s+Shutdown\s+Failed .* "task: non-zero exit \(137\)"/,
    );
  });

  it('re-adopts the same containers after a kill -9 of shoald', async () => {
    const before = (await running('web'))
      .map((t) => `${t.ID} ${t.Status.ContainerStatus?.ContainerID}`)
      .sort();
    const containers = (await engine.containers()).map((c) => c.Id).sort();
    await daemon.kill();
    await daemon.start();
    await eventually(async () => assert.equal((await running('web')).length, 3), {
      timeoutMs: 30_000,
      description: 'web running again',
    });
    const after = (await running('web'))
      .map((t) => `${t.ID} ${t.Status.ContainerStatus?.ContainerID}`)
      .sort();
    assert.deepEqual(after, before, 'the same tasks in the same containers');
    assert.deepEqual(
      (await engine.containers()).map((c) => c.Id).sort(),
      containers,
      'no container created or removed',
    );
  });

  it('reports a container that exited while shoald was down with its exit code, and replaces it', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'lonely',
      '--restart-delay',
      '500ms',
      'busybox',
      'sleep',
      '3605',
    );
    const [task] = await running('lonely');
    const container = await inspect(task!.Status.ContainerStatus!.ContainerID!);
    await daemon.kill();
    process.kill(container.State.Pid, 'SIGKILL');
    await daemon.start();
    await eventually(
      async () => {
        const all = await tasks('lonely');
        const ended = all.find((t) => t.ID === task!.ID);
        assert.equal(ended?.Status.State, 'failed');
        assert.equal(ended?.Status.Err, 'task: non-zero exit (137)');
        assert.equal(ended?.Status.ContainerStatus?.ExitCode, 137);
        assert.ok(all.some((t) => t.ID !== task!.ID && t.Status.State === 'running'));
      },
      { timeoutMs: 30_000, description: 'the exit reported and the task replaced' },
    );
  });

  it('keeps the data of a bind mount and a named volume across a task replacement; a tmpfs has its size', async () => {
    const volume = `keep-${Date.now()}`;
    await docker(
      'service',
      'create',
      '--name',
      'keeper',
      '--restart-delay',
      '100ms',
      '--mount',
      `type=bind,source=${scratch},target=/bind`,
      '--mount',
      `type=volume,source=${volume},target=/vol`,
      '--mount',
      'type=volume,source=drv-{{.Task.Slot}},target=/drv,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=2m',
      '--mount',
      'type=tmpfs,target=/scratch,tmpfs-size=1048576,tmpfs-mode=1770',
      'busybox',
      'sh',
      '-c',
      'echo started >> /bind/log; echo started >> /vol/log; sleep 3600',
    );
    const [first] = await running('keeper');
    const name = `keeper.1.${first!.ID}`;
    assert.equal(
      await onEngine(
        'exec',
        name,
        'sh',
        '-c',
        "df -k /scratch | tail -1 | awk '{print $2}'; stat -c %a /scratch",
      ),
      '1024\n1770\n',
    );
    assert.equal(
      await onEngine('exec', name, 'sh', '-c', "df -k /drv | tail -1 | awk '{print $2}'"),
      '2048\n',
    );
    const created = JSON.parse(await onEngine('volume', 'inspect', 'drv-1')) as {
      Options: Record<string, string>;
    }[];
    assert.deepEqual(created[0]!.Options, { device: 'tmpfs', o: 'size=2m', type: 'tmpfs' });
    process.kill((await inspect(name)).State.Pid, 'SIGKILL');
    let second: TaskRow | undefined;
    await eventually(
      async () => {
        second = (await running('keeper')).find((t) => t.ID !== first!.ID);
        assert.ok(second);
      },
      { timeoutMs: 20_000, description: 'the replacement running' },
    );
    assert.equal(readFileSync(join(scratch, 'log'), 'utf8'), 'started\nstarted\n');
    assert.equal(await onEngine('exec', `keeper.1.${second!.ID}`, 'cat', '/vol/log'), 'started\nstarted\n');
  });

  it('gates running on the engine’s health check', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'checked',
      '--init',
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
    // The CLI waited for the task to run: by then the engine had found the container healthy.
    const [task] = await running('checked');
    assert.equal((await inspect(task!.Status.ContainerStatus!.ContainerID!)).State.Health?.Status, 'healthy');
  });

  it('rolls a new image tag out, start-first and stop-first, and rolls it back', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'versions',
      '--replicas',
      '2',
      '--init',
      '--update-order',
      'start-first',
      'busybox:1',
      'sleep',
      '3604',
    );
    const images = async (): Promise<string[]> => {
      const ids = (await running('versions')).map((t) => t.Status.ContainerStatus!.ContainerID!);
      return Promise.all(ids.map(async (id) => (await inspect(id)).Config.Image)).then((list) => list.sort());
    };
    assert.deepEqual(await images(), ['busybox:1', 'busybox:1']);
    await docker('service', 'update', '--image', 'busybox:2', 'versions');
    assert.deepEqual(await images(), ['busybox:2', 'busybox:2']);
    await docker(
      'service',
      'update',
      '--update-order',
      'stop-first',
      '--image',
      'busybox:latest',
      'versions',
    );
    assert.deepEqual(await images(), ['busybox:latest', 'busybox:latest']);
    await docker('service', 'rollback', 'versions');
    assert.deepEqual(await images(), ['busybox:2', 'busybox:2']);
  });

  describe("bad input fails the task with Docker's text", () => {
    it('a bind mount source that does not exist', async () => {
      const missing = join(scratch, 'missing');
      await docker(
        'service',
        'create',
        '-d',
        '--name',
        'nobind',
        '--restart-condition',
        'none',
        '--mount',
        `type=bind,source=${missing},target=/x`,
        'busybox',
        'true',
      );
      const task = await failure('nobind');
      assert.equal(task.Status.State, 'rejected');
      assert.equal(
        task.Status.Err,
        `invalid mount config for type "bind": bind source path does not exist: ${missing}`,
      );
    });

    it('a relative bind mount source', async () => {
      await docker(
        'service',
        'create',
        '-d',
        '--name',
        'relbind',
        '--restart-condition',
        'none',
        '--mount',
        'type=bind,source=relative,target=/x',
        'busybox',
        'true',
      );
      assert.equal(
        (await failure('relbind')).Status.Err,
        'invalid bind mount source, must be an absolute path: relative',
      );
    });

    it('an image that does not exist', async () => {
      await docker(
        'service',
        'create',
        '-d',
        '--no-resolve-image',
        '--name',
        'noimage',
        '--restart-condition',
        'none',
        'nosuchimage:1',
        'true',
      );
      const task = await failure('noimage');
      assert.equal(task.Status.State, 'rejected');
      assert.equal(task.Status.Err, 'No such image: nosuchimage:1');
    });

    it('an unknown log driver', async () => {
      await docker(
        'service',
        'create',
        '-d',
        '--name',
        'nolog',
        '--restart-condition',
        'none',
        '--log-driver',
        'nosuchdriver',
        'busybox',
        'true',
      );
      // dockerd looks for a plugin of that name for 15 s before it gives up.
      const task = await failure('nolog', 60_000);
      assert.equal(task.Status.State, 'rejected');
      assert.match(task.Status.Err ?? '', /nosuchdriver/);
    });
  });

  it('fails the tasks with a clear error while the engine is stopped, and converges once it is back', async () => {
    await docker(
      'service',
      'create',
      '--name',
      'survivor',
      '--replicas',
      '2',
      '--init',
      '--restart-delay',
      '500ms',
      'busybox',
      'sleep',
      '3603',
    );
    const before = (await running('survivor')).map((t) => t.ID);
    await engine.stop();
    await eventually(
      async () => {
        const all = await tasks('survivor');
        for (const id of before)
          assert.ok(all.some((t) => t.ID === id && ['failed', 'shutdown'].includes(t.Status.State)));
        assert.ok(
          all.some((t) => ENGINE_GONE.test(t.Status.Err ?? '')),
          'a task says the engine is gone',
        );
      },
      { timeoutMs: 30_000, description: 'the tasks to fail with the engine gone' },
    );
    await engine.start();
    await eventually(
      async () => {
        const up = await running('survivor');
        assert.equal(up.length, 2);
        const ids = (await engine.containers()).filter((c) => c.State === 'running').map((c) => c.Id);
        for (const task of up) assert.ok(ids.includes(task.Status.ContainerStatus!.ContainerID!));
      },
      { timeoutMs: 60_000, description: 'two tasks running on the engine again' },
    );
  });

  it("removes every container of the node's tasks when it leaves the swarm, and nothing else", async () => {
    await onEngine('run', '-d', '--name', 'bystander', 'busybox', 'sleep', '3600');
    await onEngine(
      'run',
      '-d',
      '--name',
      'other-node',
      '--label',
      'com.docker.swarm.task.id=x',
      '--label',
      'com.docker.swarm.node.id=elsewhere',
      'busybox',
      'sleep',
      '3600',
    );
    assert.ok((await engine.containers()).some((c) => c.Labels['com.docker.swarm.node.id'] === nodeId));
    await docker('swarm', 'leave', '--force');
    const left = (await engine.containers()).map((c) => c.Names[0]).sort();
    assert.deepEqual(left, ['/bystander', '/other-node']);
  });
});

/** The engine's hostname: a loopback engine has the machine's. */
function engineHostname(): string {
  return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
}
