// Nothing accepted and then ignored (issue 9), as a user of the unmodified docker CLI meets it: every field
// shoal cannot honour yet is refused when the service is created or updated, naming the field; unknown
// networks and secrets get Docker's own errors; nothing of a refused spec reaches the store. What is
// honoured shows how: the node says which executor runs its tasks, and a running task says that its
// command runs from the host, not from the image.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, ShoalDaemon } from '../harness/index.js';
import { freePort } from '../harness/ports.js';
import { waitFor } from '../harness/wait.js';

describe('specs shoal cannot honour, with the docker CLI', { timeout: 120_000 }, () => {
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

  const refused = async (args: string[], message: RegExp): Promise<void> => {
    const { code, stdout, stderr } = await daemon.docker(
      [
        'service',
        'create',
        '-d',
        '--no-resolve-image',
        '--name',
        'refused',
        ...args,
        'busybox',
        'sleep',
        '60',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(code, 1, `accepted: ${stdout}`);
    assert.match(stderr, message);
    const ls = await daemon.docker(['service', 'ls', '-q', '--filter', 'name=refused']);
    assert.equal(ls.stdout.trim(), '', 'nothing was stored');
  };

  it('refuses a host-mode port without a published one, SCTP, and (over the API) an unknown protocol or a port out of range', async () => {
    await refused(
      ['--publish', 'target=80,mode=host'],
      /^Error response from daemon: EndpointSpec\.Ports\[0\]: shoal cannot publish a host-mode port without a published port yet/m,
    );
    await refused(
      ['--publish', '8080:80/sctp'],
      /^Error response from daemon: EndpointSpec\.Ports\[0\]: shoal publishes TCP and UDP ports only, not SCTP$/m,
    );
    const raw = (port: object) =>
      daemon.api('POST', '/v1.41/services/create', {
        Name: 'rawport',
        TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
        EndpointSpec: { Ports: [port] },
      });
    for (const [port, message] of [
      [
        { Protocol: 'icmp', TargetPort: 80 },
        'EndpointSpec.Ports[0]: invalid protocol "icmp": use tcp, udp or sctp',
      ],
      [
        { TargetPort: 80, PublishMode: 'mesh' },
        'EndpointSpec.Ports[0]: invalid publish mode "mesh": use ingress or host',
      ],
      [
        { TargetPort: 80, PublishedPort: 70000 },
        'EndpointSpec.Ports[0]: invalid published port 70000: ports go from 1 to 65535',
      ],
      [{ PublishedPort: 8080 }, 'EndpointSpec.Ports[0]: a target port is required'],
    ] as const) {
      const response = await raw(port);
      assert.equal(response.status, 400, JSON.stringify(port));
      assert.deepEqual(response.body, { message });
    }
  });

  it('refuses mounts, a read-only root filesystem, init, extra hosts, DNS, sysctls, capabilities and ulimits', async () => {
    const cases: [string[], string][] = [
      [['--mount', 'type=bind,source=/tmp,target=/data'], 'ContainerSpec.Mounts[0] (mount:bind)'],
      [['--mount', 'type=volume,source=data,target=/data'], 'ContainerSpec.Mounts[0] (mount:volume)'],
      [['--mount', 'type=tmpfs,target=/tmp'], 'ContainerSpec.Mounts[0] (mount:tmpfs)'],
      [['--read-only'], 'ContainerSpec.ReadOnly (read-only)'],
      [['--init'], 'ContainerSpec.Init (init)'],
      [['--host', 'db:10.0.0.2'], 'ContainerSpec.Hosts (extra-hosts)'],
      [['--dns', '10.0.0.53'], 'ContainerSpec.DNSConfig (dns-config)'],
      [['--sysctl', 'net.ipv4.ip_forward=1'], 'ContainerSpec.Sysctls (sysctls)'],
      [['--cap-add', 'NET_ADMIN'], 'ContainerSpec.CapabilityAdd (capabilities)'],
      [['--ulimit', 'nofile=1024:2048'], 'ContainerSpec.Ulimits (ulimits)'],
      [['--log-driver', 'syslog'], 'LogDriver.Name (log-driver:syslog)'],
      [
        ['--log-driver', 'json-file', '--log-opt', 'max-size=10m'],
        'LogDriver.Options.max-size (log-opt:json-file:max-size)',
      ],
    ];
    for (const [flags, field] of cases) {
      const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await refused(
        flags,
        new RegExp(
          `^Error response from daemon: ${escaped} cannot be honoured by any node of this swarm: the process executor runs the task as a process on the host, from the host filesystem \\(the image is not used\\)`,
          'm',
        ),
      );
    }
  });

  it('refuses the same on update, and leaves the service as it was', async () => {
    const created = await daemon.docker([
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      'kept',
      'busybox',
      'sleep',
      '3600',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const before = await daemon.apiOk<{ Version: { Index: number } }>('GET', '/v1.41/services/kept');
    const updated = await daemon.docker(['service', 'update', '-d', '--read-only', 'kept']);
    assert.equal(updated.code, 1);
    assert.match(updated.stderr, /ContainerSpec\.ReadOnly \(read-only\) cannot be honoured/);
    const published = await daemon.docker([
      'service',
      'update',
      '-d',
      '--publish-add',
      'target=80,mode=host',
      'kept',
    ]);
    assert.equal(published.code, 1);
    assert.match(
      published.stderr,
      /EndpointSpec\.Ports\[0\]: shoal cannot publish a host-mode port without a published port yet/,
    );
    const after = await daemon.apiOk<{ Version: { Index: number } }>('GET', '/v1.41/services/kept');
    assert.deepEqual(after.Version, before.Version);
  });

  it('an unknown network or secret gets Docker’s error', async () => {
    await refused(['--network', 'nosuch'], /^Error response from daemon: network nosuch not found$/m);
    await refused(['--secret', 'nosuch'], /^secret not found: nosuch$/m);
    const raw = await daemon.api('POST', '/v1.41/services/create', {
      Name: 'rawnet',
      TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'nosuch' }] },
    });
    assert.equal(raw.status, 404);
    assert.deepEqual(raw.body, { message: 'network nosuch not found' });
  });

  it('says which executor runs the tasks, and that the image is not used', async () => {
    const node = await daemon.docker(['node', 'inspect', 'self', '--format', '{{json .Description.Engine}}']);
    const engine = JSON.parse(node.stdout) as { Labels: Record<string, string>; Plugins: unknown[] };
    assert.equal(engine.Labels['shoal.executor'], 'process');
    assert.deepEqual(engine.Plugins, [{ Type: 'Log', Name: 'json-file' }]);
    const info = await daemon.docker(['info', '--format', '{{json .Labels}} {{json .Plugins.Network}}']);
    assert.equal(info.stdout.trim(), '["shoal.executor=process"] []');
    const running = await waitFor(
      async () =>
        (
          await daemon.apiOk<{ Status: { State: string; Message: string } }[]>(
            'GET',
            `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { kept: true } }))}`,
          )
        ).find((t) => t.Status.State === 'running'),
      { description: 'a running task of kept', timeoutMs: 20_000 },
    );
    assert.equal(
      running!.Status.Message,
      "started (process executor: the command runs from the host's filesystem, image busybox:latest not used)",
    );
  });
});
