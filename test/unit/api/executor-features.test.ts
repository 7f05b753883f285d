// What a spec asks for, what each executor honours, and the control API's refusals that follow.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { executorOf, specNeeds, unhonoured } from '../../../src/api/executor-features.js';
import type { Network, Node, ServiceSpec } from '../../../src/api/types.js';
import type { ReadTx } from '../../../src/store/objects.js';
import {
  checkDefaultLogDriver,
  checkHonoured,
  checkNetworks,
} from '../../../src/manager/controlapi/honoured.js';

const spec = (container: Record<string, unknown>, extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  Name: 'web',
  TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '1'], ...container } },
  ...extra,
});
const processNode = {
  Description: { Engine: { Labels: { 'shoal.executor': 'process' } } },
} as unknown as Node;
const dockerNode = {
  Description: { Engine: { Labels: { 'shoal.executor': 'docker' } } },
} as unknown as Node;

describe('executor features', () => {
  it('a plain command with env, user, dir, hostname, limits and health asks for nothing special', () => {
    const needs = specNeeds({
      ContainerSpec: {
        Image: 'busybox',
        Command: ['sleep'],
        Env: ['A=1'],
        User: 'nobody',
        Dir: '/tmp',
        Hostname: 'h',
        Init: false,
        DNSConfig: {},
        Isolation: 'default',
        Healthcheck: { Test: ['CMD', 'true'] },
      },
      Resources: { Limits: { MemoryBytes: 2 ** 26 } },
    });
    assert.deepEqual(needs, []);
  });

  it('names every field a spec asks for beyond that', () => {
    const needs = specNeeds(
      {
        ContainerSpec: {
          Mounts: [
            { Type: 'bind', Source: '/a', Target: '/b' },
            { Type: 'tmpfs', Target: '/t' },
          ],
          ReadOnly: true,
          Init: true,
          TTY: true,
          Hosts: ['1.2.3.4 x'],
          DNSConfig: { Nameservers: ['1.1.1.1'] },
          Sysctls: { 'net.ipv4.ip_forward': '1' },
          CapabilityAdd: ['NET_ADMIN'],
          Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }],
          OomScoreAdj: 10,
        },
      },
      { Name: 'syslog', Options: { tag: 'x' } },
    );
    assert.deepEqual(
      needs.map((n) => `${n.field} ${n.feature}`),
      [
        'ContainerSpec.Mounts[0] mount:bind',
        'ContainerSpec.Mounts[1] mount:tmpfs',
        'ContainerSpec.ReadOnly read-only',
        'ContainerSpec.Init init',
        'ContainerSpec.TTY tty',
        'ContainerSpec.Hosts extra-hosts',
        'ContainerSpec.DNSConfig dns-config',
        'ContainerSpec.Sysctls sysctls',
        'ContainerSpec.CapabilityAdd capabilities',
        'ContainerSpec.Ulimits ulimits',
        'ContainerSpec.OomScoreAdj oom-score-adj',
        'LogDriver.Name log-driver:syslog',
        'LogDriver.Options.tag log-opt:syslog:tag',
      ],
    );
    assert.equal(unhonoured('process', needs).length, needs.length);
    assert.deepEqual(
      unhonoured('process', [{ feature: 'log-driver:json-file', field: 'LogDriver.Name' }]),
      [],
    );
  });

  it('privileges with every member empty ask for nothing (docker stack deploy sends them so)', () => {
    const asked = (privileges: Record<string, unknown>) =>
      specNeeds({ ContainerSpec: { Image: 'busybox', Privileges: privileges } }).map((n) => n.feature);
    assert.deepEqual(asked({ CredentialSpec: null, SELinuxContext: null, NoNewPrivileges: false }), []);
    assert.deepEqual(asked({ NoNewPrivileges: true }), ['privileges']);
    assert.deepEqual(asked({ CredentialSpec: { File: 'spec.json' } }), ['privileges']);
    assert.deepEqual(
      asked({ SELinuxContext: { Disable: false, User: '', Role: '', Type: '', Level: '' } }),
      [],
    );
  });

  it('reads the executor from the node’s engine labels; own keys only', () => {
    assert.equal(executorOf({ 'shoal.executor': 'process' }), 'process');
    assert.equal(executorOf(undefined), 'process');
    assert.equal(executorOf(JSON.parse('{"shoal.executor":"constructor"}')), 'process');
  });
});

describe('the control API refuses what no node can honour', () => {
  it('a read-only root filesystem, naming the field and why', () => {
    assert.throws(
      () => checkHonoured(spec({ ReadOnly: true }), [processNode], undefined),
      (err: Error & { status?: number }) =>
        err.status === 400 &&
        /^ContainerSpec\.ReadOnly \(read-only\) cannot be honoured by any node of this swarm: the process executor runs the task as a process on the host/.test(
          err.message,
        ),
    );
  });

  it('mounts, secrets and log drivers alike', () => {
    assert.throws(
      () =>
        checkHonoured(
          spec({ Mounts: [{ Type: 'bind', Source: '/', Target: '/x' }] }),
          [processNode],
          undefined,
        ),
      /ContainerSpec\.Mounts\[0\] \(mount:bind\) cannot be honoured/,
    );
    assert.throws(
      () =>
        checkHonoured(
          { ...spec({}), TaskTemplate: { ...spec({}).TaskTemplate, LogDriver: { Name: 'syslog' } } },
          [processNode],
          undefined,
        ),
      /LogDriver\.Name \(log-driver:syslog\) cannot be honoured/,
    );
    assert.doesNotThrow(() => checkHonoured(spec({ Env: ['A=1'] }), [processNode], undefined));
  });

  it('networks, honoured by both executors; published ports, which shoal does not build yet', () => {
    const app: Network = {
      ID: 'n1appappappappappappappapp',
      Version: { Index: 1 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: { Name: 'app', Labels: {} },
    };
    const networks = [app];
    const tx = {
      get: (kind: string, id: string) => (kind === 'network' ? networks.find((n) => n.ID === id) : undefined),
      list: (kind: string) => (kind === 'network' ? networks : []),
    } as unknown as ReadTx;
    const onApp = spec(
      {},
      { TaskTemplate: { ContainerSpec: { Image: 'x' }, Networks: [{ Target: 'app' }] } },
    );
    checkNetworks(tx, onApp);
    // Stored by ID, as Docker's daemon resolves it; both executors attach tasks to networks.
    assert.deepEqual(onApp.TaskTemplate?.Networks, [{ Target: app.ID }]);
    assert.doesNotThrow(() => checkHonoured(onApp, [processNode], undefined));
    assert.doesNotThrow(() => checkHonoured(onApp, [dockerNode], undefined));
    assert.deepEqual(
      specNeeds({ Networks: [{ Target: app.ID }] }).map((n) => n.feature),
      ['networks'],
    );
    // Ingress mode (the routing mesh) is built, with or without a published port.
    checkHonoured(
      spec({}, { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } }),
      [processNode],
      undefined,
    );
    checkHonoured(spec({}, { EndpointSpec: { Ports: [{ TargetPort: 80 }] } }), [processNode], undefined);
    // Host mode with a published port is built; without one, or SCTP, it is refused naming the port.
    checkHonoured(
      spec({}, { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] } }),
      [processNode],
      undefined,
    );
    assert.throws(
      () =>
        checkHonoured(
          spec(
            {},
            {
              EndpointSpec: {
                Ports: [
                  { TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
                  { TargetPort: 81, PublishMode: 'host' },
                ],
              },
            },
          ),
          [processNode],
          undefined,
        ),
      /EndpointSpec\.Ports\[1\]: shoal cannot publish a host-mode port without a published port yet/,
    );
    assert.throws(
      () =>
        checkHonoured(
          spec(
            {},
            {
              EndpointSpec: {
                Ports: [{ TargetPort: 80, PublishedPort: 80, PublishMode: 'host', Protocol: 'sctp' }],
              },
            },
          ),
          [processNode],
          undefined,
        ),
      /EndpointSpec\.Ports\[0\]: shoal publishes TCP and UDP ports only, not SCTP/,
    );
    assert.throws(
      () =>
        checkNetworks(
          tx,
          spec({}, { TaskTemplate: { ContainerSpec: { Image: 'x' }, Networks: [{ Target: 'other' }] } }),
        ),
      (err: Error & { status?: number }) => err.status === 404 && err.message === 'network other not found',
    );
  });

  it('a swarm default log driver no node has', () => {
    assert.throws(
      () =>
        checkDefaultLogDriver({ Name: 'json-file', Options: { 'max-size': '10m' } }, new Set(['process'])),
      /TaskDefaults\.LogDriver\.Options\.max-size \(log-opt:json-file:max-size\) cannot be honoured/,
    );
    assert.doesNotThrow(() => checkDefaultLogDriver({ Name: 'json-file' }, new Set(['process'])));
  });
});
