// Issue 3 as a user would try it: services on a one-node swarm, driven by the unmodified docker CLI —
// converge display, scaling, updates, logs, restarts, jobs, constraints, and a kill -9 of shoald.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, eventually, ShoalDaemon } from '../harness/index.js';
import { freePort } from '../harness/ports.js';

interface TaskRow {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { PID?: number } };
}

describe('services with the docker CLI', { timeout: 300_000 }, () => {
  let daemon: ShoalDaemon;

  before(async () => {
    dockerCli(); // these tests run the real docker CLI: fail here, at once, when it is missing
    daemon = ShoalDaemon.onLoopback();
    await daemon.start();
    await daemon.apiOk('POST', '/v1.41/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await daemon.docker(args, { timeoutMs: 120_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  const tasks = async (service: string): Promise<TaskRow[]> =>
    daemon.apiOk<TaskRow[]>(
      'GET',
      `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
    );
  const running = async (service: string): Promise<TaskRow[]> =>
    (await tasks(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  /** PIDs of processes whose command line contains `marker` (never the test's own processes). */
  const pidsOf = (marker: string): number[] => {
    const out: number[] = [];
    for (const entry of readdirProc()) {
      try {
        const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
        if (cmd.includes(marker)) out.push(entry);
      } catch {
        // gone
      }
    }
    return out;
  };

  it("creates a service and shows Docker's converge display", async () => {
    const out = await docker(
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '3',
      'busybox',
      'sleep',
      '3601',
    );
    assert.match(out, /overall progress: 3 out of 3 tasks/);
    assert.match(out, /verify: Service \S+ converged/);
    const ls = await docker('service', 'ls', '--filter', 'name=web');
    assert.match(ls, /^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS$/m);
    assert.match(ls, /\sweb\s+replicated\s+3\/3\s+busybox:latest/);
    assert.equal(pidsOf('sleep 3601').length, 3, 'three processes run');
  });

  it('lists tasks and inspects the service as Docker does', async () => {
    const ps = await docker('service', 'ps', 'web');
    assert.match(ps, /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS$/m);
    for (const slot of [1, 2, 3])
      assert.match(ps, new RegExp(`\\sweb\\.${slot}\\s+busybox:latest\\s+\\S+\\s+Running\\s+Running `));
    const pretty = await docker('service', 'inspect', '--pretty', 'web');
    assert.match(pretty, /^Name:\s+web$/m);
    assert.match(pretty, /^Service Mode:\s+Replicated$/m);
    assert.match(pretty, /^ Replicas:\s+3$/m);
  });

  it('scales to 10 and updates the environment', async () => {
    await docker('service', 'scale', 'web=10');
    assert.equal((await running('web')).length, 10);
    await docker('service', 'update', '--env-add', 'A=1', 'web');
    const env = await docker(
      'service',
      'inspect',
      'web',
      '--format',
      '{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
    );
    assert.equal(env.trim(), '["A=1"]');
    await eventually(async () => assert.equal((await running('web')).length, 10), {
      timeoutMs: 30_000,
      description: '10 running',
    });
    assert.equal(pidsOf('sleep 3601').length, 10, 'no process left behind by the update');
  });

  it('shows service logs from every task', async () => {
    await docker(
      'service',
      'create',
      '-d',
      '--name',
      'talker',
      '--replicas',
      '2',
      'busybox',
      'sh',
      '-c',
      'echo hello from $HOSTNAME; echo to-stderr >&2; sleep 3600',
    );
    await eventually(
      async () => {
        const { stdout, stderr } = await daemon.docker(['service', 'logs', 'talker']);
        const lines = (stdout + stderr)
          .split('\n')
          .filter((l) => /^talker\.[12]\.[0-9a-z]+@\S+\s+\| /.test(l));
        assert.equal(lines.filter((l) => l.includes('hello from')).length, 2, stdout + stderr);
        assert.equal(lines.filter((l) => l.includes('to-stderr')).length, 2, stdout + stderr);
      },
      { timeoutMs: 20_000, description: 'both tasks logged' },
    );
  });

  it('replaces a killed task after the restart delay and shows the failure', async () => {
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
    const [pid] = pidsOf('sleep 3602');
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await eventually(
      async () => {
        const all = await tasks('crashy');
        assert.equal(all.length, 2, JSON.stringify(all.map((t) => t.Status)));
        assert.ok(
          all.some((t) => t.Status.State === 'failed' && t.Status.Err === 'task: non-zero exit (137)'),
        );
        assert.ok(all.some((t) => t.Status.State === 'running'));
      },
      { timeoutMs: 20_000, description: 'a replacement running' },
    );
    const ps = await docker('service', 'ps', 'crashy');
    assert.match(
      ps,
      /\\_ crashy\.1\s+busybox:latest\s+\S+\s+Shutdown\s+Failed .* "task: non-zero exit \(137\)"/,
    );
  });

  it('does not restart with --restart-condition none, and stops after --restart-max-attempts', async () => {
    await docker(
      'service',
      'create',
      '-d',
      '--name',
      'once',
      '--restart-condition',
      'none',
      'busybox',
      'sh',
      '-c',
      'exit 1',
    );
    await docker(
      'service',
      'create',
      '-d',
      '--name',
      'twice',
      '--restart-delay',
      '100ms',
      '--restart-max-attempts',
      '2',
      'busybox',
      'sh',
      '-c',
      'exit 1',
    );
    // The orchestrator answers a failed task by setting its desired state to shutdown, and creates its
    // replacement, if any, in the same transaction: once every task is failed and shut down, no restart
    // is on its way (a delayed one is created at once and only started later).
    const settled = (ts: TaskRow[]): boolean =>
      ts.every((t) => t.Status.State === 'failed' && t.DesiredState === 'shutdown');
    await eventually(
      async () => {
        const twice = await tasks('twice');
        assert.ok(twice.length >= 3 && settled(twice), JSON.stringify(twice.map((t) => t.Status)));
        const once = await tasks('once');
        assert.ok(settled(once), JSON.stringify(once.map((t) => t.Status)));
      },
      { timeoutMs: 20_000, description: 'every task of `once` and `twice` failed and shut down' },
    );
    assert.equal((await tasks('twice')).length, 3, 'the first run and two restarts, no fourth attempt');
    const once = await tasks('once');
    assert.equal(once.length, 1, 'no restart');
    assert.equal(once[0]?.Status.Err, 'task: non-zero exit (1)');
  });

  it('runs one task per node for a global service, and a job to its completions', async () => {
    await docker('service', 'create', '--name', 'everywhere', '--mode', 'global', 'busybox', 'sleep', '3603');
    assert.match(await docker('service', 'ls', '--filter', 'name=everywhere'), /global\s+1\/1/);
    await docker(
      'service',
      'create',
      '--name',
      'batch',
      '--mode',
      'replicated-job',
      '--replicas',
      '3',
      '--max-concurrent',
      '2',
      'busybox',
      'true',
    );
    await eventually(
      async () =>
        assert.match(
          await docker('service', 'ls', '--filter', 'name=batch'),
          /replicated job\s+0\/2 \(3\/3 completed\)/,
        ),
      { timeoutMs: 20_000, description: 'the job completed' },
    );
  });

  it('keeps tasks pending when no node meets the constraints, until a label makes one match', async () => {
    await docker(
      'service',
      'create',
      '-d',
      '--name',
      'east',
      '--constraint',
      'node.labels.zone==east',
      'busybox',
      'sleep',
      '3604',
    );
    await eventually(
      async () => {
        const [task] = await tasks('east');
        assert.equal(task?.Status.State, 'pending');
        assert.equal(task?.Status.Err, 'no suitable node (scheduling constraints not satisfied on 1 node)');
      },
      { timeoutMs: 10_000, description: 'the pending explanation' },
    );
    await docker('node', 'update', '--label-add', 'zone=east', 'self');
    await eventually(async () => assert.equal((await running('east')).length, 1), {
      timeoutMs: 10_000,
      description: 'running',
    });
  });

  it('converges back after a kill -9 of shoald, without duplicates or orphans', async () => {
    const before = pidsOf('sleep 3601').sort();
    assert.equal(before.length, 10);
    const taskIds = (await tasks('web')).map((t) => t.ID).sort();
    await daemon.kill();
    await daemon.start();
    // A service created now runs only once the node is ready again (the scheduler places nothing on a
    // node that is not, and no task of a ready node is replaced as lost) and the restarted agent has
    // registered and applied its assignments in order: the complete set, with web's tasks, before the
    // sentinel's. Before that, a duplicate or a replacement of a web task could still be on its way.
    await docker('service', 'create', '-d', '--name', 'sentinel', 'busybox', 'sleep', '3609');
    await eventually(async () => assert.equal((await running('sentinel')).length, 1), {
      timeoutMs: 30_000,
      description: 'the service created after the restart to run',
    });
    assert.equal((await running('web')).length, 10);
    assert.deepEqual((await tasks('web')).map((t) => t.ID).sort(), taskIds, 'no task was created');
    assert.deepEqual(pidsOf('sleep 3601').sort(), before, 'the same processes, re-adopted, no others');
    const slots = (await running('web')).map((t) => t.Slot).sort((a, b) => a! - b!);
    assert.deepEqual(slots, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  describe("bad input gets Docker's answers", () => {
    const fails = async (args: string[], code: number, stderr: RegExp): Promise<void> => {
      const res = await daemon.docker(args);
      assert.equal(res.code, code, res.stderr);
      assert.match(res.stderr, stderr);
    };
    it('a duplicate name', () =>
      fails(
        ['service', 'create', '-d', '--name', 'web', 'busybox', 'sleep', '1'],
        1,
        /Error response from daemon: rpc error: code = AlreadyExists desc = name conflicts with an existing object: service web already exists/,
      ));
    it('replicas with global mode', () =>
      fails(
        ['service', 'create', '-d', '--mode', 'global', '--replicas', '2', 'busybox', 'sleep', '1'],
        1,
        /replicas can only be used with replicated or replicated-job mode/,
      ));
    it('a bad constraint expression', () =>
      fails(
        ['service', 'create', '-d', '--constraint', 'node.labels.x=y', 'busybox', 'sleep', '1'],
        1,
        /Error response from daemon: rpc error: code = Unknown desc = constraint expected one operator from ==, !=/,
      ));
    it('negative replicas', () =>
      fails(
        ['service', 'create', '-d', '--replicas', '-1', 'busybox', 'sleep', '1'],
        125,
        /invalid argument "-1" for "--replicas" flag: strconv.ParseUint: parsing "-1": invalid syntax/,
      ));
    it('scaling a service that does not exist', () =>
      fails(['service', 'scale', 'nosuch=3'], 1, /service nosuch not found/));
    it('a memory limit below the reservation', () =>
      fails(
        [
          'service',
          'create',
          '-d',
          '--limit-memory',
          '8m',
          '--reserve-memory',
          '16m',
          'busybox',
          'sleep',
          '1',
        ],
        1,
        /Minimum memory limit can not be less than memory reservation limit, see usage/,
      ));
  });

  it('removes services and their processes', async () => {
    await docker('service', 'rm', 'web', 'talker', 'crashy', 'everywhere', 'east', 'sentinel');
    const left = (): number[] =>
      ['sleep 3601', 'sleep 3602', 'sleep 3603', 'sleep 3604', 'sleep 3609'].flatMap(pidsOf);
    await eventually(async () => assert.deepEqual(left(), []), {
      timeoutMs: 30_000,
      description: 'no task processes left',
    });
  });
});

function readdirProc(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}
