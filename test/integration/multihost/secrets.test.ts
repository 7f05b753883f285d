// Issue 11's delivery across hosts: a secret reaches only the node of a task that uses it. One manager and
// two workers (each a host of the netns harness), on the process executor and, with engines, on the
// docker executor. While worker1 runs the task that uses the secret, worker2 — which runs a task of
// another service — has nothing of it: not in its data dir or its daemon's log, no mount of it in its task
// runner, in its tasks' namespaces or (docker executor) among its tmpfs mounts or in its engine's dir; and
// what every tmpfs its runner and tasks see holds is read, file by file, for the value (which the same
// reading finds in the task that uses it). When the task moves to worker2, worker2 has it and worker1 lets
// go of it. The managers' data dir holds it sealed only. A templated config renders, on each worker, its own
// task's slot and that worker's hostname.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { TASK_FILES_ROOT, taskFilesDir } from '../../../src/agent/executor/docker/host-files.js';
import { EXECUTOR_DIR_NAME } from '../../../src/agent/executor/process/paths.js';
import {
  dockerdMissing,
  eventually,
  machineTmpfsDevices,
  TestCluster,
  tmpfsFiles,
} from '../../harness/index.js';

interface TaskRow {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { PID?: number } };
}
interface NodeRow {
  ID: string;
  Description: { Hostname: string };
}

const mountInfo = (pid: number): string[] =>
  readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean);
const mountPoints = (pid: number): string[] => mountInfo(pid).map((line) => line.split(' ')[4]!);

/** Every regular file's bytes under `dir` (latin1), but for the files `skip` names. */
function contents(dir: string, skip: (path: string) => boolean = () => false): string {
  let text = '';
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return '';
  }
  for (const name of names) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) text += contents(path, skip);
    else if (stat?.isFile() && !skip(path)) text += readFileSync(path).toString('latin1');
  }
  return text;
}

/** A process task's output, which holds what the task printed (until the task is removed). */
const taskLog = (path: string): boolean => path.endsWith('/log.jsonl');
/** A container's output as its engine keeps it (json-file), likewise. */
const containerLog = (path: string): boolean => path.endsWith('-json.log');

/** What a process's memory-backed mounts hold, but for the machine's own (/dev/shm and the like). */
const tmpfsText = (pid: number): string =>
  tmpfsFiles(pid, machineTmpfsDevices(TASK_FILES_ROOT))
    .map((file) => file.text)
    .join('');

function runnerPid(dataDir: string): number | undefined {
  const root = join(dataDir, EXECUTOR_DIR_NAME);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('runner-main.js')) && argv[argv.indexOf('--root') + 1] === root)
        return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

function scenario(executor: 'process' | 'docker'): void {
  const VALUE = `multihost-s3cret-${executor}-6620`;
  const needles = [VALUE, Buffer.from(VALUE).toString('base64')];
  const leaked = (text: string): string[] => needles.filter((n) => text.includes(n));
  let cluster: TestCluster;
  const ids = new Map<string, string>();

  before(async () => {
    cluster = await TestCluster.create({
      hosts: ['manager', 'worker1', 'worker2'],
      daemon: { debug: true },
      ...(executor === 'docker' ? { dockerEngines: true } : {}),
    });
    await cluster.init('manager');
    await cluster.join(['worker1', 'worker2']);
    for (const node of (await cluster.waitForNodes()) as unknown as NodeRow[])
      ids.set(node.Description.Hostname, node.ID);
  });
  afterEach((t) => cluster.reportOnFailure(t));
  after(() => cluster?.destroy());

  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await cluster.manager.docker(args, { timeoutMs: 120_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  /** The service's running task, once there is one on `host`. */
  const runningOn = (service: string, host: string): Promise<TaskRow> =>
    eventually(
      async () => {
        const rows = await cluster.manager.apiOk<TaskRow[]>(
          'GET',
          `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
        );
        const found = rows.find(
          (t) => t.DesiredState === 'running' && t.Status.State === 'running' && t.NodeID === ids.get(host),
        );
        assert.ok(
          found,
          `${service} runs on ${host}: ${JSON.stringify(rows.map((r) => [r.NodeID, r.Status.State]))}`,
        );
        return found;
      },
      { timeoutMs: 90_000, description: `${service} running on ${host}` },
    );
  const printed = (service: string, expected: string): Promise<void> =>
    eventually(
      async () => assert.ok((await docker('service', 'logs', '--raw', service)).includes(expected)),
      { timeoutMs: 30_000, description: `${service} to print ${expected}` },
    );

  /**
   * Asserts that `host` has nothing of the secret: files, log, mounts of its runner and tasks, tmpfs. With
   * `printedBefore`, a task there printed it, and its output is left out until the task is removed.
   */
  function hasNothing(host: string, taskPids: number[], printedBefore = false): void {
    const daemon = cluster.daemon(host);
    assert.deepEqual(
      leaked(contents(daemon.dataDir, printedBefore ? taskLog : undefined)),
      [],
      `${host}: its data dir`,
    );
    assert.deepEqual(leaked(daemon.logs()), [], `${host}: its daemon's log`);
    for (const pid of taskPids) {
      assert.ok(
        !mountPoints(pid).some((p) => p === '/run/secrets' || p === '/run/secrets/db_pw'),
        `${host}: a task's namespace has no secrets mounted`,
      );
      assert.deepEqual(leaked(tmpfsText(pid)), [], `${host}: a task's memory-backed mounts`);
    }
    if (executor === 'process') {
      const runner = runnerPid(daemon.dataDir);
      if (runner !== undefined) {
        assert.ok(
          !mountInfo(runner).some(
            (line) => line.includes('shoal-task-files') || line.includes(' /run/secrets '),
          ),
          `${host}: its task runner has no task's files mounted`,
        );
        assert.deepEqual(leaked(tmpfsText(runner)), [], `${host}: its task runner's memory-backed mounts`);
      }
    } else {
      const dir = taskFilesDir(daemon.dataDir);
      assert.equal(contents(dir), '', `${host}: no task files on the host`);
      assert.ok(
        !mountPoints(process.pid).some((p) => p.startsWith(`${dir}/`)),
        `${host}: no tmpfs of its tasks' files mounted`,
      );
      // Its engine's log and containers (their configs, mounts and — but for a task that printed the value
      // — their logs).
      const engine = cluster.engine(host);
      assert.deepEqual(
        leaked(readFileSync(join(engine.workDir, 'dockerd.log'), 'latin1')),
        [],
        `${host}: its Docker Engine's log`,
      );
      assert.deepEqual(
        leaked(
          contents(join(engine.workDir, 'data', 'containers'), printedBefore ? containerLog : undefined),
        ),
        [],
        `${host}: its Docker Engine's containers`,
      );
    }
  }

  it('reaches only the node of the task that uses it, and leaves a node the task leaves', async () => {
    const created = await cluster.manager.docker(['secret', 'create', 'db_pw', '-'], { input: VALUE });
    assert.equal(created.code, 0, created.stderr);
    await docker(
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      'app',
      '--secret',
      'db_pw',
      '--constraint',
      'node.hostname==worker1',
      'busybox',
      'sh',
      '-c',
      'cat /run/secrets/db_pw; echo; sleep 1d',
    );
    await docker(
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      'plain',
      '--mode',
      'global',
      '--constraint',
      'node.role==worker',
      'busybox',
      'sh',
      '-c',
      'ls /run/secrets 2>&1; sleep 1d',
    );
    const onWorker1 = await runningOn('app', 'worker1');
    const plainOnWorker2 = await runningOn('plain', 'worker2');
    const plainOnWorker1 = await runningOn('plain', 'worker1');
    await printed('app', VALUE);
    // The positive control: worker1's task has it mounted in its own namespace, its other task does not.
    const appPid = onWorker1.Status.ContainerStatus!.PID!;
    assert.ok(mountPoints(appPid).some((p) => p === '/run/secrets' || p === '/run/secrets/db_pw'));
    assert.ok(tmpfsText(appPid).includes(VALUE), "the value is in the task's memory-backed mounts");
    assert.ok(!mountPoints(plainOnWorker1.Status.ContainerStatus!.PID!).includes('/run/secrets/db_pw'));
    hasNothing('worker2', [plainOnWorker2.Status.ContainerStatus!.PID!]);
    // The manager stores it sealed, and has no task of it.
    assert.deepEqual(leaked(contents(cluster.daemon('manager').dataDir)), [], "the manager's data dir");

    // The task moves to worker2: worker2 has it now, and worker1 lets go of it.
    await docker(
      'service',
      'update',
      '-d',
      '--constraint-rm',
      'node.hostname==worker1',
      '--constraint-add',
      'node.hostname==worker2',
      'app',
    );
    const onWorker2 = await runningOn('app', 'worker2');
    assert.ok(mountPoints(onWorker2.Status.ContainerStatus!.PID!).some((p) => p.startsWith('/run/secrets')));
    assert.ok(tmpfsText(onWorker2.Status.ContainerStatus!.PID!).includes(VALUE));
    await eventually(() => hasNothing('worker1', [plainOnWorker1.Status.ContainerStatus!.PID!], true), {
      timeoutMs: 60_000,
      description: 'worker1 to let go of the secret',
    });
  });

  it("renders a templated config on each task's own node: its slot and its node's hostname", async () => {
    const created = await cluster.manager.docker(
      ['config', 'create', '--template-driver', 'golang', 'tpl', '-'],
      { input: 'slot={{.Task.Slot}} node={{.Node.Hostname}}\n' },
    );
    assert.equal(created.code, 0, created.stderr);
    await docker(
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      'tpl',
      '--replicas',
      '2',
      '--replicas-max-per-node',
      '1',
      '--constraint',
      'node.role==worker',
      '--config',
      'source=tpl,target=/etc/tpl.conf',
      'busybox',
      'sh',
      '-c',
      'cat /etc/tpl.conf; sleep 1d',
    );
    const one = await runningOn('tpl', 'worker1');
    const two = await runningOn('tpl', 'worker2');
    const slots = new Map<string, number>();
    for (const task of await cluster.manager.apiOk<(TaskRow & { Slot: number })[]>(
      'GET',
      `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { tpl: true } }))}`,
    ))
      slots.set(task.ID, task.Slot);
    for (const [task, host] of [
      [one, 'worker1'],
      [two, 'worker2'],
    ] as const) {
      await eventually(
        async () =>
          assert.equal(
            await docker('service', 'logs', '--raw', task.ID),
            `slot=${slots.get(task.ID)} node=${host}\n`,
          ),
        { timeoutMs: 30_000, description: `the task on ${host} to print its own slot and node` },
      );
    }
    assert.notEqual(slots.get(one.ID), slots.get(two.ID));
  });

  it('leaves nothing anywhere once the services are gone', async () => {
    await docker('service', 'rm', 'app', 'plain', 'tpl');
    await eventually(
      async () => assert.deepEqual(await cluster.manager.apiOk<unknown[]>('GET', '/tasks'), []),
      { timeoutMs: 60_000, description: 'every task removed' },
    );
    await eventually(
      () => {
        for (const host of ['manager', 'worker1', 'worker2']) hasNothing(host, []);
      },
      { timeoutMs: 60_000, description: 'nothing of the secret on any host' },
    );
  });
}

describe('secrets across hosts: the process executor', { timeout: 600_000 }, () => {
  scenario('process');
});

describe('secrets across hosts: the docker executor', { timeout: 600_000, skip: dockerdMissing() }, () => {
  scenario('docker');
});
