// The docker executor's mapping of a task to the Engine API (src/agent/executor/docker/spec.ts, image.ts):
// each case is what moby's swarm executor (daemon/cluster/executor/container/container.go) gives its
// engine for the same task — container name, labels, Config, HostConfig — and its validation texts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Task, TaskSpec } from '../../../src/api/types.js';
import {
  containerCreateBody,
  containerLabels,
  containerName,
  engineMount,
  extraHosts,
  genericResourceEnv,
  joinSandbox,
  sandboxCreateBody,
  sandboxName,
  securityOptions,
  validateMounts,
  validateTask,
  volumeCreateRequests,
} from '../../../src/agent/executor/docker/spec.js';
import {
  containerImage,
  isImageId,
  parseImageReference,
  pullQuery,
} from '../../../src/agent/executor/docker/image.js';

const node = { hostname: 'node-a', os: 'linux', architecture: 'x86_64' };

function task(spec: TaskSpec, overrides: Partial<Task> = {}): Task {
  return {
    ID: 'taskid1',
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: spec,
    ServiceID: 'serviceid1',
    Slot: 2,
    NodeID: 'nodeid1',
    Status: { Timestamp: '', State: 'assigned', Message: '' },
    DesiredState: 'running',
    ServiceAnnotations: { Name: 'web', Labels: { tier: 'front' } },
    ...overrides,
  };
}

const SYSTEM_LABELS = {
  'com.docker.swarm.task': '',
  'com.docker.swarm.task.id': 'taskid1',
  'com.docker.swarm.task.name': 'web.2.taskid1',
  'com.docker.swarm.node.id': 'nodeid1',
  'com.docker.swarm.service.id': 'serviceid1',
  'com.docker.swarm.service.name': 'web',
};

describe('docker executor: a task as a container', () => {
  it('maps a plain service task as moby does: Command is the entrypoint, Args its arguments', () => {
    const t = task({ ContainerSpec: { Image: 'busybox', Command: ['sleep'], Args: ['1000'] } });
    assert.equal(containerName(t), 'web.2.taskid1');
    assert.deepEqual(containerCreateBody(t, node), {
      Image: 'busybox:latest',
      Entrypoint: ['sleep'],
      Cmd: ['1000'],
      Labels: SYSTEM_LABELS,
      ExposedPorts: {},
      HostConfig: { Ulimits: [], PortBindings: {}, Isolation: 'default' },
      NetworkingConfig: { EndpointsConfig: {} },
    });
  });

  it("passes Args alone to the image's entrypoint", () => {
    const body = containerCreateBody(
      task({ ContainerSpec: { Image: 'nginx:1.25', Args: ['-g', 'x'] } }),
      node,
    );
    assert.equal(body.Entrypoint, undefined);
    assert.deepEqual(body.Cmd, ['-g', 'x']);
    assert.equal(body.Image, 'nginx:1.25');
  });

  it("runs the image's own command when the spec has none", () => {
    const body = containerCreateBody(task({ ContainerSpec: { Image: 'nginx' } }), node);
    assert.equal(body.Entrypoint, undefined);
    assert.equal(body.Cmd, undefined);
  });

  it('names a global task after its node, and uses the task name when the orchestrator set one', () => {
    assert.equal(containerName(task({}, { Slot: 0 })), 'web.nodeid1.taskid1');
    assert.equal(containerName(task({}, { Name: 'given' })), 'given');
  });

  it("labels: the spec's, then the task's, then Docker's swarm labels over both", () => {
    const t = task(
      {
        ContainerSpec: {
          Image: 'busybox',
          Labels: { a: 'spec', b: 'spec', 'com.docker.swarm.task.id': 'forged' },
        },
      },
      { Labels: { b: 'task' } },
    );
    assert.deepEqual(containerLabels(t, t.Spec.ContainerSpec!), { a: 'spec', b: 'task', ...SYSTEM_LABELS });
  });

  it('maps every ContainerSpec field to its place in Config and HostConfig', () => {
    const t = task({
      ContainerSpec: {
        Image: 'registry.test:5000/app:2',
        Command: ['/app'],
        Hostname: '{{.Node.Hostname}}-{{.Task.Slot}}',
        Env: ['A=1', 'SLOT={{.Task.Slot}}'],
        Dir: '/work',
        User: 'nobody',
        Groups: ['audio', 'video'],
        TTY: true,
        OpenStdin: true,
        ReadOnly: true,
        Init: true,
        StopSignal: 'SIGINT',
        StopGracePeriod: 20e9,
        Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Timeout: 2e9, Retries: 3, StartPeriod: 4e9 },
        Hosts: ['10.0.0.1 db alias', '10.0.0.2 cache', 'bad'],
        DNSConfig: { Nameservers: ['10.0.0.53'], Search: ['example.org'], Options: ['ndots:2'] },
        Isolation: 'default',
        Sysctls: { 'net.core.somaxconn': '1024' },
        CapabilityAdd: ['CAP_NET_ADMIN'],
        CapabilityDrop: ['CAP_CHOWN'],
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
        OomScoreAdj: 500,
        Privileges: { NoNewPrivileges: true, SELinuxContext: { Disable: true } },
      },
      Resources: {
        Limits: { NanoCPUs: 1.5e9, MemoryBytes: 64 * 2 ** 20, Pids: 100 },
        Reservations: { NanoCPUs: 0.5e9, MemoryBytes: 32 * 2 ** 20 },
      },
    });
    const body = containerCreateBody(
      { ...t, LogDriver: { Name: 'json-file', Options: { 'max-size': '1m' } } } as Task,
      node,
    );
    assert.deepEqual(body, {
      Image: 'registry.test:5000/app:2',
      Entrypoint: ['/app'],
      Hostname: 'node-a-2',
      Env: ['A=1', 'SLOT=2'],
      WorkingDir: '/work',
      User: 'nobody',
      Tty: true,
      OpenStdin: true,
      StopSignal: 'SIGINT',
      Healthcheck: {
        Test: ['CMD', 'true'],
        Interval: 1e9,
        Timeout: 2e9,
        Retries: 3,
        StartPeriod: 4e9,
        StartInterval: 0,
      },
      Labels: SYSTEM_LABELS,
      ExposedPorts: {},
      HostConfig: {
        // Limits only: reservations are for the scheduler.
        Memory: 64 * 2 ** 20,
        NanoCpus: 1.5e9,
        PidsLimit: 100,
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
        GroupAdd: ['audio', 'video'],
        PortBindings: {},
        ReadonlyRootfs: true,
        Isolation: 'default',
        Init: true,
        Sysctls: { 'net.core.somaxconn': '1024' },
        CapAdd: ['CAP_NET_ADMIN'],
        CapDrop: ['CAP_CHOWN'],
        OomScoreAdj: 500,
        Dns: ['10.0.0.53'],
        DnsSearch: ['example.org'],
        DnsOptions: ['ndots:2'],
        SecurityOpt: ['label=disable', 'no-new-privileges=true'],
        ExtraHosts: ['db:10.0.0.1', 'cache:10.0.0.2'],
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
      },
      NetworkingConfig: { EndpointsConfig: {} },
    });
  });

  it('keeps Init false when the spec says so, and leaves it to the engine when unset', () => {
    assert.equal(
      containerCreateBody(task({ ContainerSpec: { Image: 'a', Init: false } }), node).HostConfig.Init,
      false,
    );
    assert.equal(
      'Init' in containerCreateBody(task({ ContainerSpec: { Image: 'a', Init: null } }), node).HostConfig,
      false,
    );
  });

  it('inherits the image healthcheck when the spec has one without a test', () => {
    const body = containerCreateBody(
      task({ ContainerSpec: { Image: 'a', Healthcheck: { Interval: 5e9 } } }),
      node,
    );
    assert.deepEqual(body.Healthcheck, {
      Interval: 5e9,
      Timeout: 0,
      Retries: 0,
      StartPeriod: 0,
      StartInterval: 0,
    });
  });

  it('adds the generic resources assigned to the task to its environment', () => {
    const t = task(
      { ContainerSpec: { Image: 'a', Env: ['X=1'] } },
      {
        AssignedGenericResources: [
          { NamedResourceSpec: { Kind: 'gpu', Value: 'UUID1' } },
          { NamedResourceSpec: { Kind: 'gpu', Value: 'UUID2' } },
          { DiscreteResourceSpec: { Kind: 'ssd', Value: 2 } },
        ],
      },
    );
    assert.deepEqual(containerCreateBody(t, node).Env, [
      'X=1',
      'DOCKER_RESOURCE_GPU=UUID1,UUID2',
      'DOCKER_RESOURCE_SSD=2',
    ]);
    assert.deepEqual(genericResourceEnv(undefined), []);
  });

  it("converts hosts entries to the engine's name:IP form, dropping aliases", () => {
    assert.deepEqual(extraHosts(['10.0.0.1\tdb  db.local', '::1 v6', 'lonely']), ['db:10.0.0.1', 'v6:::1']);
  });

  it('turns privileges into security options as moby does', () => {
    const profile = '{"defaultAction":"SCMP_ACT_ALLOW"}';
    assert.deepEqual(
      securityOptions({
        CredentialSpec: { File: 'spec.json' },
        SELinuxContext: { User: 'u', Role: 'r', Level: 'l', Type: 't' },
        Seccomp: { Mode: 'custom', Profile: Buffer.from(profile).toString('base64') },
        AppArmor: { Mode: 'disabled' },
      }),
      [
        'credentialspec=file://spec.json',
        'label=user:u',
        'label=role:r',
        'label=level:l',
        'label=type:t',
        `seccomp=${profile}`,
        'apparmor=unconfined',
      ],
    );
    assert.deepEqual(securityOptions({ Seccomp: { Mode: 'unconfined' }, AppArmor: { Mode: 'default' } }), [
      'seccomp=unconfined',
    ]);
    assert.deepEqual(securityOptions({ Seccomp: { Mode: 'default' } }), []);
    assert.deepEqual(securityOptions(undefined), []);
  });
});

describe('docker executor: mounts', () => {
  it('converts bind, volume and tmpfs mounts, with their options', () => {
    assert.deepEqual(engineMount({ Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true }), {
      Type: 'bind',
      Source: '/srv',
      Target: '/data',
      ReadOnly: true,
    });
    // swarmkit keeps propagation as an enum whose zero value is rprivate.
    assert.deepEqual(
      engineMount({ Type: 'bind', Source: '/srv', Target: '/d', BindOptions: {} }).BindOptions,
      {
        Propagation: 'rprivate',
      },
    );
    assert.deepEqual(
      engineMount({
        Type: 'bind',
        Source: '/srv',
        Target: '/d',
        BindOptions: { Propagation: 'rshared', NonRecursive: true },
      }).BindOptions,
      { Propagation: 'rshared', NonRecursive: true },
    );
    assert.deepEqual(
      engineMount({
        Type: 'volume',
        Source: 'data',
        Target: '/data',
        VolumeOptions: {
          NoCopy: true,
          Labels: { a: 'b' },
          DriverConfig: { Name: 'local', Options: { type: 'tmpfs' } },
        },
      }),
      {
        Type: 'volume',
        Source: 'data',
        Target: '/data',
        VolumeOptions: {
          NoCopy: true,
          Labels: { a: 'b' },
          DriverConfig: { Name: 'local', Options: { type: 'tmpfs' } },
        },
      },
    );
    assert.deepEqual(
      engineMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20, Mode: 0o1777 } }),
      {
        Type: 'tmpfs',
        Target: '/t',
        TmpfsOptions: { SizeBytes: 1 << 20, Mode: 0o1777 },
      },
    );
    assert.equal(engineMount({ Source: 'named', Target: '/x' }).Type, 'volume');
  });

  it('creates named volumes that have a driver config before the container, as moby does', () => {
    assert.deepEqual(
      volumeCreateRequests({
        Mounts: [
          { Type: 'volume', Source: 'plain', Target: '/a' },
          { Type: 'volume', Source: 'opts', Target: '/b', VolumeOptions: { NoCopy: true } },
          {
            Type: 'volume',
            Source: 'driven',
            Target: '/c',
            VolumeOptions: { Labels: { x: 'y' }, DriverConfig: { Name: 'local', Options: { o: 'size=1m' } } },
          },
          { Type: 'volume', Target: '/anonymous', VolumeOptions: { DriverConfig: { Name: 'local' } } },
          { Type: 'bind', Source: '/srv', Target: '/d' },
        ],
      }),
      [{ Name: 'driven', Driver: 'local', DriverOpts: { o: 'size=1m' }, Labels: { x: 'y' } }],
    );
  });

  it("refuses malformed mounts with moby's texts", () => {
    const refuse = (mount: object, message: string): void =>
      assert.throws(() => validateMounts([mount]), { message });
    refuse(
      { Type: 'bind', Source: '/a', Target: 'rel' },
      'invalid mount target, must be an absolute path: rel',
    );
    refuse(
      { Type: 'bind', Source: 'rel', Target: '/x' },
      'invalid bind mount source, must be an absolute path: rel',
    );
    refuse(
      { Type: 'volume', Source: '/abs', Target: '/x' },
      'invalid volume mount source, must not be an absolute path: /abs',
    );
    refuse({ Type: 'tmpfs', Source: 'x', Target: '/x' }, 'invalid tmpfs source, source must be empty');
    refuse({ Type: 'npipe', Target: '/x' }, 'invalid npipe source, source must not be empty');
    refuse({ Type: 'cluster', Source: 'v', Target: '/x' }, 'invalid mount type: cluster');
    validateMounts([
      { Type: 'bind', Source: '/a', Target: '/a' },
      { Type: 'volume', Source: 'v', Target: '/v' },
      { Type: 'volume', Target: '/anonymous' },
      { Type: 'tmpfs', Target: '/t' },
    ]);
  });

  it("refuses a task without an image with moby's text", () => {
    assert.throws(() => validateTask(task({ ContainerSpec: { Command: ['true'] } })), {
      message: 'dockerexec: image required',
    });
  });
});

describe('docker executor: image references', () => {
  it('creates containers from the familiar name, tagged latest when untagged', () => {
    assert.equal(containerImage('busybox'), 'busybox:latest');
    assert.equal(containerImage('docker.io/library/busybox:1.36'), 'busybox:1.36');
    assert.equal(containerImage('index.docker.io/library/busybox'), 'busybox:latest');
    assert.equal(containerImage('docker.io/me/app'), 'me/app:latest');
    assert.equal(containerImage('library/busybox'), 'busybox:latest');
    assert.equal(containerImage('registry.test:5000/busybox'), 'registry.test:5000/busybox:latest');
    assert.equal(containerImage('localhost/app:1'), 'localhost/app:1');
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(containerImage(`busybox@${digest}`), `busybox@${digest}`);
    assert.equal(containerImage(`busybox:1@${digest}`), `busybox:1@${digest}`);
    // Not a reference: as written, for the engine to word the error.
    assert.equal(containerImage('Busy Box'), 'Busy Box');
    assert.equal(containerImage('UPPER'), 'UPPER');
  });

  it('pulls by digest when there is one, else by tag', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    assert.deepEqual(pullQuery(parseImageReference('busybox')!), { fromImage: 'busybox', tag: 'latest' });
    assert.deepEqual(pullQuery(parseImageReference(`registry.test:5000/a/b:1@${digest}`)!), {
      fromImage: 'registry.test:5000/a/b',
      tag: digest,
    });
  });

  it('never pulls an image named by its ID', () => {
    assert.equal(isImageId(`sha256:${'c'.repeat(64)}`), true);
    assert.equal(isImageId('busybox'), false);
  });
});

describe('docker executor: a task on overlay networks', () => {
  const files = {
    hostsFile: '/data/network/tasks/taskid1/hosts',
    resolvConf: '/data/network/tasks/taskid1/resolv.conf',
    hostnameFile: '/data/network/tasks/taskid1/hostname',
  };

  it('gets a sandbox: busybox sleeping, no network of the engine, the task’s hostname, labels of its own', () => {
    const t = task({ ContainerSpec: { Image: 'nginx' } });
    assert.equal(sandboxName(t), 'web.2.taskid1.sandbox');
    assert.deepEqual(sandboxCreateBody(t, 'nodeid1', 'taskid1'), {
      Hostname: 'taskid1',
      Image: 'busybox:latest',
      Entrypoint: ['sleep'],
      Cmd: ['2147483647'],
      // Not the task labels: nothing that looks for the task's container takes the sandbox for it.
      Labels: { 'shoal.sandbox.task.id': 'taskid1', 'shoal.sandbox.node.id': 'nodeid1' },
      ExposedPorts: {},
      HostConfig: {
        Ulimits: [],
        PortBindings: {},
        Isolation: 'default',
        NetworkMode: 'none',
        RestartPolicy: { Name: 'no' },
      },
      NetworkingConfig: { EndpointsConfig: {} },
    });
  });

  it('joins the sandbox’s namespace, without what the engine refuses with it, its files bound over /etc’s', () => {
    const t = task({
      ContainerSpec: {
        Image: 'busybox',
        Hostname: 'web-{{.Task.Slot}}',
        DNSConfig: { Nameservers: ['198.18.0.53'], Search: ['example.test'], Options: ['ndots:2'] },
        Hosts: ['198.18.0.7 db'],
        Mounts: [{ Type: 'tmpfs', Target: '/cache' }],
      },
    });
    const body = containerCreateBody(t, node);
    assert.equal(body.Hostname, 'web-2');
    const joined = joinSandbox(body, 'sandboxid', files);
    assert.equal(joined.Hostname, undefined);
    assert.equal(joined.HostConfig.NetworkMode, 'container:sandboxid');
    for (const key of ['Dns', 'DnsSearch', 'DnsOptions', 'ExtraHosts'] as const)
      assert.equal(joined.HostConfig[key], undefined, key);
    assert.deepEqual(joined.HostConfig.Mounts, [
      body.HostConfig.Mounts![0],
      { Type: 'bind', Source: files.hostsFile, Target: '/etc/hosts' },
      { Type: 'bind', Source: files.resolvConf, Target: '/etc/resolv.conf' },
      { Type: 'bind', Source: files.hostnameFile, Target: '/etc/hostname' },
    ]);
    // Everything else as it was.
    const { Hostname: _hostname, ...others } = body;
    assert.deepEqual({ ...joined, HostConfig: {} }, { ...others, HostConfig: {} });
  });
});
