// `docker service create --with-registry-auth` as a user runs it against shoal, and where the credentials go.
//
// `docker login` needs a registry, so the credentials are written into a private DOCKER_CONFIG's
// config.json, as `docker login` leaves them. The daemon runs the process executor on loopback (the image
// is not pulled: the spec keeps the credentials all the same). Two more nodes join the swarm over the
// cluster port: in-process agents with a scripted executor (test/unit/agent/fake-executor.ts), whose
// assignment streams are recorded — a node running a task of the service gets the credentials in its
// assignment, a node running none never sees them. Then every other way out is searched for them: service
// and task inspect, the lists, `docker events`, the service logs, the daemon's log (at debug level), the raw
// files of the data dir (the sealed store, the agent DB) and the joined agents' state dirs.
// The digest resolution part: without a container engine the docker CLI prints its warning and the service
// keeps the tag.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { ClusterClient } from '../../src/agent/transport/cluster-client.js';
import { joinCluster } from '../../src/agent/transport/join.js';
import type { AssignmentsMessage, StreamHandle } from '../../src/api/dispatcher.js';
import type { Service, Task } from '../../src/api/types.js';
import { eventually, ShoalDaemon } from '../harness/index.js';
import { freePort } from '../harness/ports.js';
import { FakeExecutor } from '../unit/agent/fake-executor.js';

const REGISTRY = 'registry.test:5000';
const IMAGE = `${REGISTRY}/busybox:1`;

/** The docker CLI's warning when the daemon cannot pin the image to a digest (printed with Fprintln). */
const digestWarning = (image: string): string =>
  `image ${image} could not be accessed on a registry to record\nits digest. Each node will access ${image} independently,\npossibly leading to different nodes running different\nversions of the image.\n\n`;

/** A ClusterClient that keeps every assignments message its node receives. */
class RecordingClient extends ClusterClient {
  readonly messages: AssignmentsMessage[] = [];
  override assignments(
    sessionId: string,
    onMessage: (message: AssignmentsMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    return super.assignments(
      sessionId,
      (message) => {
        this.messages.push(structuredClone(message));
        onMessage(message);
      },
      onEnd,
    );
  }
}

interface JoinedNode {
  id: string;
  client: RecordingClient;
  executor: FakeExecutor;
  agent: Agent;
  stateDir: string;
}

/** Every file below `dir`, as raw bytes, with its path. */
function filesBelow(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue; // gone meanwhile (a -shm file)
    }
    if (stat.isDirectory()) out.push(...filesBelow(path));
    else if (stat.isFile()) {
      try {
        out.push({ path, bytes: readFileSync(path) });
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

describe('--with-registry-auth with the docker CLI', { timeout: 300_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const user = `shoaluser${suffix}`;
  let password = `s3cret-${suffix}`;
  const configDir = mkdtempSync(join(tmpdir(), 'shoal-docker-config-'));
  const basic = (pw: string) => Buffer.from(`${user}:${pw}`).toString('base64');
  /** What the docker CLI sends as X-Registry-Auth for those credentials (base64url, padded). */
  const header = (pw: string) =>
    Buffer.from(`{"username":"${user}","password":"${pw}","serveraddress":"${REGISTRY}"}`)
      .toString('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
  /** Everything that would give the credentials away, for the searches. */
  const leaks = (pw: string): string[] => [
    user,
    pw,
    basic(pw),
    header(pw),
    header(pw).replace(/=+$/, ''),
    Buffer.from(header(pw), 'base64url').toString('base64'),
  ];
  const login = (pw: string): void =>
    writeFileSync(
      join(configDir, 'config.json'),
      JSON.stringify({ auths: { [REGISTRY]: { auth: basic(pw) } } }),
    );

  let daemon: ShoalDaemon;
  let managerAddr: string;
  const nodes: JoinedNode[] = [];
  const startedAt = Math.floor(Date.now() / 1000) - 1;

  const docker = async (...args: string[]): Promise<{ stdout: string; stderr: string }> => {
    const { stdout, stderr, code } = await daemon.docker(args, {
      env: { DOCKER_CONFIG: configDir },
      timeoutMs: 120_000,
    });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return { stdout, stderr };
  };
  const tasksOf = (service: string): Promise<Task[]> =>
    daemon.apiOk<Task[]>(
      'GET',
      `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
    );
  /** The credentials each node was given for a service's tasks, by task ID, from its assignments. */
  const assigned = (node: JoinedNode, serviceId: string): Map<string, string | undefined> => {
    const out = new Map<string, string | undefined>();
    for (const message of node.client.messages) {
      for (const change of message.changes) {
        if (change.action !== 'update' || change.task.ServiceID !== serviceId) continue;
        out.set(change.task.ID, change.task.Spec.ContainerSpec?.PullOptions?.RegistryAuth);
      }
    }
    return out;
  };
  const serviceId = async (name: string): Promise<string> =>
    (await daemon.apiOk<Service>('GET', `/v1.41/services/${name}`)).ID;

  before(async () => {
    login(password);
    daemon = ShoalDaemon.onLoopback({ debug: true });
    await daemon.start();
    const port = await freePort();
    managerAddr = `127.0.0.1:${port}`;
    await daemon.apiOk('POST', '/v1.41/swarm/init', { ListenAddr: managerAddr, AdvertiseAddr: '127.0.0.1' });
    const { JoinTokens } = await daemon.apiOk<{ JoinTokens: { Worker: string } }>('GET', '/v1.41/swarm');
    for (let i = 0; i < 2; i++) {
      const credentials = await joinCluster({ managerAddr, token: JoinTokens.Worker });
      const client = new RecordingClient({ managerAddr, credentials });
      const executor = new FakeExecutor();
      const stateDir = mkdtempSync(join(tmpdir(), 'shoal-joined-agent-'));
      const agent = new Agent({ client, executor, stateDir });
      await agent.start();
      nodes.push({ id: credentials.nodeId, client, executor, agent, stateDir });
    }
    await eventually(
      async () => {
        const all = await daemon.apiOk<{ Status: { State: string } }[]>('GET', '/v1.41/nodes');
        assert.deepEqual(
          all.map((n) => n.Status.State),
          ['ready', 'ready', 'ready'],
        );
      },
      { description: 'three ready nodes', timeoutMs: 30_000 },
    );
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(async () => {
    for (const node of nodes) {
      await node.agent.stop();
      node.client.close();
      rmSync(node.stateDir, { recursive: true, force: true });
    }
    await daemon?.destroy();
    rmSync(configDir, { recursive: true, force: true });
  });

  it("creates services with the credentials, printing Docker's digest warning", async () => {
    const [a, b] = nodes as [JoinedNode, JoinedNode];
    const remote = await docker(
      'service',
      'create',
      '-d',
      '--with-registry-auth',
      '--name',
      'regremote',
      '--replicas',
      '2',
      '--constraint',
      `node.id==${a.id}`,
      IMAGE,
      'sleep',
      '3600',
    );
    assert.equal(remote.stderr, digestWarning(IMAGE));
    assert.match(remote.stdout, /^[0-9a-z]{25}\n$/);
    await docker(
      'service',
      'create',
      '-d',
      '--with-registry-auth',
      '--name',
      'reglocal',
      '--constraint',
      'node.role==manager',
      IMAGE,
      'sleep',
      '3600',
    );
    await docker(
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      'regother',
      '--constraint',
      `node.id==${b.id}`,
      'busybox:1',
      'sleep',
      '3600',
    );
    for (const name of ['regremote', 'reglocal', 'regother']) {
      await eventually(
        async () => {
          const tasks = await tasksOf(name);
          assert.ok(tasks.length > 0 && tasks.every((t) => t.Status.State === 'running'), name);
        },
        { description: `${name} running`, timeoutMs: 30_000 },
      );
    }
    const image = await docker(
      'service',
      'inspect',
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
      'regremote',
    );
    assert.equal(image.stdout, `${IMAGE}\n`, 'the tag is kept');
  });

  it('the node running the tasks gets the credentials in its assignments, and only it', async () => {
    const [a, b] = nodes as [JoinedNode, JoinedNode];
    const remoteId = await serviceId('regremote');
    const onA = assigned(a, remoteId);
    assert.equal(onA.size, 2);
    for (const auth of onA.values()) assert.equal(auth, header(password));
    for (const controller of a.executor.controllers.values()) {
      if (controller.task.ServiceID !== remoteId) continue;
      const decoded = JSON.parse(
        Buffer.from(controller.task.Spec.ContainerSpec!.PullOptions!.RegistryAuth!, 'base64url').toString(),
      ) as Record<string, string>;
      assert.deepEqual(decoded, { username: user, password, serveraddress: REGISTRY });
    }
    // The other joined node runs a task of another service: its assignments never hold them.
    assert.ok(assigned(b, await serviceId('regother')).size > 0, 'control: the node has assignments');
    const seenByB = JSON.stringify(b.client.messages);
    for (const text of [...leaks(password), 'RegistryAuth', 'PullOptions']) {
      assert.ok(!seenByB.includes(text), `${text} reached a node without a task of the service`);
    }
  });

  it('nothing the Engine API returns shows them: inspect, lists, task inspect, events, logs', async () => {
    const taskIds = [
      ...(await tasksOf('regremote')).map((t) => t.ID),
      ...(await tasksOf('reglocal')).map((t) => t.ID),
    ];
    const outputs = [
      (await docker('service', 'inspect', 'regremote', 'reglocal')).stdout,
      (await docker('service', 'inspect', '--pretty', 'regremote')).stdout,
      (await docker('service', 'ls')).stdout,
      (await docker('service', 'ps', '--no-trunc', 'regremote', 'reglocal')).stdout,
      (await docker('node', 'ps', '--no-trunc', 'self')).stdout,
      (await docker('inspect', ...taskIds)).stdout,
      // Until the next whole second (the CLI sends whole seconds): the stream ends once it has passed.
      (
        await docker(
          'events',
          '--since',
          String(startedAt),
          '--until',
          String(Math.floor(Date.now() / 1000) + 1),
          '--format',
          '{{json .}}',
        )
      ).stdout,
      (await docker('service', 'logs', '--details', 'reglocal')).stdout,
      JSON.stringify(await daemon.apiOk('GET', '/v1.41/services?status=true')),
      JSON.stringify(await daemon.apiOk('GET', '/v1.41/services/regremote?insertDefaults=true')),
      JSON.stringify(await daemon.apiOk('GET', '/v1.41/tasks')),
    ];
    const all = outputs.join('\n');
    assert.ok(all.includes(IMAGE), 'control: the outputs are about the services');
    assert.ok(outputs[6]!.includes('"Type":"service"'), `control: the events are there: ${outputs[6]}`);
    for (const text of [...leaks(password), 'RegistryAuth', 'PullOptions']) {
      assert.ok(!all.includes(text), `${text} is shown by the API`);
    }
  });

  it('an update without --with-registry-auth keeps them; a credentials-only update restarts nothing', async () => {
    const [a] = nodes as [JoinedNode];
    const remoteId = await serviceId('regremote');
    await docker('service', 'update', '-d', '--env-add', 'UPDATED=1', 'regremote');
    await docker('service', 'scale', '-d', 'regremote=3');
    await eventually(
      async () => {
        const running = (await tasksOf('regremote')).filter(
          (t) => t.DesiredState === 'running' && t.Status.State === 'running',
        );
        assert.equal(running.length, 3);
        assert.ok(running.every((t) => t.Spec.ContainerSpec?.Env?.includes('UPDATED=1')));
      },
      { description: 'regremote updated and scaled', timeoutMs: 60_000 },
    );
    const afterUpdate = assigned(a, remoteId);
    assert.ok(afterUpdate.size >= 5, `old and new tasks were assigned (${afterUpdate.size})`);
    for (const auth of afterUpdate.values()) assert.equal(auth, header(password));

    // New credentials ("docker login" again), sent with an update that changes nothing else.
    const before = new Set(
      (await tasksOf('reglocal')).filter((t) => t.DesiredState === 'running').map((t) => t.ID),
    );
    const remoteBefore = new Set(
      (await tasksOf('regremote')).filter((t) => t.DesiredState === 'running').map((t) => t.ID),
    );
    password = `n3w-${password}`;
    login(password);
    await docker('service', 'update', '-d', '--with-registry-auth', 'reglocal');
    await docker('service', 'update', '-d', '--with-registry-auth', 'regremote');
    // Let the orchestrators see the updates, then check nothing was replaced.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stillLocal = (await tasksOf('reglocal')).filter((t) => t.DesiredState === 'running');
    assert.deepEqual(new Set(stillLocal.map((t) => t.ID)), before, 'reglocal was not restarted');
    assert.ok(stillLocal.every((t) => t.Status.State === 'running'));
    const stillRemote = (await tasksOf('regremote')).filter((t) => t.DesiredState === 'running');
    assert.deepEqual(new Set(stillRemote.map((t) => t.ID)), remoteBefore, 'regremote was not restarted');
    const state = await daemon.apiOk<Service>('GET', '/v1.41/services/regremote');
    assert.equal(state.UpdateStatus?.State ?? 'completed', 'completed');

    // A new task carries the new credentials.
    await docker('service', 'scale', '-d', 'regremote=4');
    await eventually(
      () => {
        const fresh = [...assigned(a, remoteId)].filter(([id]) => !afterUpdate.has(id));
        assert.equal(fresh.length, 1);
        assert.equal(fresh[0]![1], header(password));
      },
      { description: 'the fourth task assigned', timeoutMs: 30_000 },
    );
  });

  it("neither the daemon's log nor any file of its data dir or of the nodes' state holds them", async () => {
    const oldPassword = password.replace(/^n3w-/, '');
    const log = daemon.logs();
    assert.ok(log.includes('/services/create'), 'control: the debug log has the API requests');
    const files = [...filesBelow(daemon.dataDir), ...nodes.flatMap((node) => filesBelow(node.stateDir))];
    assert.ok(
      files.some((f) => f.path.endsWith('store.db') || f.path.endsWith('store.db-wal')),
      'control: the store is searched',
    );
    assert.ok(
      files.some((f) => f.path.endsWith('agent.db')),
      'control: the agent DBs are searched',
    );
    assert.ok(
      files.some((f) => f.bytes.includes(IMAGE)),
      'control: the files hold the services',
    );
    for (const text of [...leaks(password), ...leaks(oldPassword)]) {
      assert.ok(!log.includes(text), `${text} is in the daemon's log`);
      for (const file of files) assert.ok(!file.bytes.includes(text), `${text} is in ${file.path}`);
    }
  });

  it('digest resolution without an engine: the warning, and the tag (`:latest` added) is kept', async () => {
    const created = await docker('service', 'create', '-d', '--name', 'regdigest', 'busybox', 'true');
    assert.equal(created.stderr, digestWarning('busybox:latest'));
    assert.equal(
      (
        await docker(
          'service',
          'inspect',
          '--format',
          '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
          'regdigest',
        )
      ).stdout,
      'busybox:latest\n',
    );
    const updated = await docker('service', 'update', '-d', '--image', 'busybox:1.36', 'regdigest');
    assert.equal(updated.stderr, digestWarning('busybox:1.36'));
    const quiet = await docker(
      'service',
      'update',
      '-d',
      '--no-resolve-image',
      '--image',
      'busybox:1.37',
      'regdigest',
    );
    assert.equal(quiet.stderr, '');
  });
});
