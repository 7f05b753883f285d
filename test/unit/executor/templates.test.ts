import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Task } from '../../../src/api/types.js';
import { expandContainerSpec } from '../../../src/agent/executor/templates.js';

const task = (overrides: Partial<Task> = {}): Task => ({
  ID: 'taskid1',
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: {},
  ServiceID: 'serviceid1',
  Slot: 2,
  NodeID: 'nodeid1',
  Status: { Timestamp: '', State: 'assigned', Message: '' },
  DesiredState: 'running',
  ServiceAnnotations: { Name: 'web', Labels: { tier: 'front' } },
  ...overrides,
});
const node = { hostname: 'host-a', os: 'linux', architecture: 'x86_64' };

describe('expandContainerSpec (swarmkit templates)', () => {
  it('expands Hostname and Env values with the service, node and task fields', () => {
    const spec = expandContainerSpec(
      {
        Hostname: '{{.Node.Hostname}}-{{.Task.Slot}}',
        Env: [
          'TASK={{.Task.Name}}',
          'SERVICE={{ .Service.Name }}/{{.Service.ID}}',
          'NODE={{.Node.ID}} {{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}',
          'TIER={{index .Service.Labels "tier"}}',
          '{{.Task.ID}}=keys are not expanded',
          'PLAIN',
        ],
        Command: ['{{.Task.ID}}'],
      },
      task(),
      node,
    );
    assert.equal(spec.Hostname, 'host-a-2');
    assert.deepEqual(spec.Env, [
      'TASK=web.2.taskid1',
      'SERVICE=web/serviceid1',
      'NODE=nodeid1 linux/x86_64',
      'TIER=front',
      '{{.Task.ID}}=keys are not expanded',
      'PLAIN',
    ]);
    assert.deepEqual(
      spec.Command,
      ['{{.Task.ID}}'],
      'only Hostname, Env and mounts are templates, as in swarmkit',
    );
  });

  it("expands mounts' sources, targets, volume labels and driver options, as swarmkit does", () => {
    const spec = expandContainerSpec(
      {
        Mounts: [
          {
            Type: 'volume',
            Source: 'data-{{.Task.Slot}}',
            Target: '/data/{{.Service.Name}}',
            VolumeOptions: {
              Labels: { owner: '{{.Node.ID}}' },
              DriverConfig: { Name: 'local', Options: { device: '/srv/{{.Task.ID}}' } },
            },
          },
          { Type: 'tmpfs', Target: '/tmp' },
        ],
      },
      task(),
      node,
    );
    assert.deepEqual(spec.Mounts, [
      {
        Type: 'volume',
        Source: 'data-2',
        Target: '/data/web',
        VolumeOptions: {
          Labels: { owner: 'nodeid1' },
          DriverConfig: { Name: 'local', Options: { device: '/srv/taskid1' } },
        },
      },
      { Type: 'tmpfs', Target: '/tmp' },
    ]);
  });

  it('uses the node ID as the slot of a global task', () => {
    assert.equal(
      expandContainerSpec({ Hostname: '{{.Task.Slot}}' }, task({ Slot: 0 }), node).Hostname,
      'nodeid1',
    );
  });

  it('refuses templates it cannot expand', () => {
    assert.throws(
      () => expandContainerSpec({ Env: ['X={{.Task.Labels}}'] }, task(), node),
      /unsupported template/,
    );
  });
});
