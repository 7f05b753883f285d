// Objects as the Engine API shows them: Docker's fields, in the order its daemon writes them, with Go's
// omitempty rules, and none of shoal's bookkeeping (test/e2e/docker-json.test.ts compares whole objects
// with a real Docker 20.10 engine's; these are the rules one at a time).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, Service, Task } from '../../../src/api/types.js';
import { presentNode, presentService, presentTask } from '../../../src/manager/controlapi/present.js';

function storedTask(overrides: Partial<Task> = {}): Task {
  // Keys in the order shoal's orchestrator and agent happen to write them, internal ones among them.
  return {
    ID: 'task1',
    Version: { Index: 7 },
    CreatedAt: '2026-12-06T23:26:57.465739395Z',
    UpdatedAt: '2026-12-06T23:26:58.1541111Z',
    Spec: {
      ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '1'], Isolation: 'default' },
      ForceUpdate: 0,
      Runtime: 'container',
    },
    ServiceID: 'svc1',
    ServiceAnnotations: { Name: 'web' },
    Slot: 1,
    Status: {
      State: 'running',
      Message: 'started',
      Timestamp: '2026-12-06T23:26:57.868368974Z',
      ContainerStatus: { ContainerID: 'c1', PID: 42 },
    },
    DesiredState: 'running',
    Endpoint: { Spec: { Mode: 'vip' } },
    SpecVersion: { Index: 3 },
    AppliedAt: '2026-12-06T23:26:57.9Z',
    LogDriver: { Name: 'json-file' },
    Health: { Status: 'healthy', FailingStreak: 0, Log: [] },
    NodeID: 'node1',
    ...overrides,
  };
}

describe('presenting tasks', () => {
  it('writes the fields of moby’s swarm.Task, in its order, and nothing else', () => {
    const shown = presentTask(storedTask());
    assert.deepEqual(Object.keys(shown), [
      'ID',
      'Version',
      'CreatedAt',
      'UpdatedAt',
      'Labels',
      'Spec',
      'ServiceID',
      'Slot',
      'NodeID',
      'Status',
      'DesiredState',
    ]);
    assert.deepEqual(Object.keys(shown.Status), [
      'Timestamp',
      'State',
      'Message',
      'ContainerStatus',
      'PortStatus',
    ]);
    assert.deepEqual(shown.Labels, {});
  });

  it('leaves Runtime out of the spec (Docker writes it into services only)', () => {
    const shown = presentTask(storedTask());
    assert.deepEqual(shown.Spec, {
      ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '1'], Isolation: 'default' },
      ForceUpdate: 0,
    });
  });

  it('always has PortStatus, and all three container status fields', () => {
    const running = presentTask(storedTask());
    assert.deepEqual(running.Status.ContainerStatus, { ContainerID: 'c1', PID: 42, ExitCode: 0 });
    assert.deepEqual(running.Status.PortStatus, {});
    const exited = presentTask(
      storedTask({
        Status: {
          Timestamp: 't',
          State: 'failed',
          Message: 'started',
          Err: 'task: non-zero exit (3)',
          ContainerStatus: { ContainerID: 'c1', ExitCode: 3 },
        },
      }),
    );
    assert.deepEqual(exited.Status.ContainerStatus, { ContainerID: 'c1', PID: 0, ExitCode: 3 });
    assert.deepEqual(Object.keys(exited.Status), [
      'Timestamp',
      'State',
      'Message',
      'Err',
      'ContainerStatus',
      'PortStatus',
    ]);
    // Before it starts, a task has no container status at all.
    const pending = presentTask(
      storedTask({ Status: { Timestamp: 't', State: 'pending', Message: 'pending task scheduling' } }),
    );
    assert.equal(pending.Status.ContainerStatus, undefined);
    assert.deepEqual(pending.Status.PortStatus, {});
  });

  it('shows a job’s slot 0 and first iteration as Go omits them', () => {
    const shown = presentTask(storedTask({ Slot: 0, JobIteration: { Index: 0 } }));
    assert.equal('Slot' in shown, false);
    assert.deepEqual(shown.JobIteration, {});
    assert.deepEqual(Object.keys(shown).slice(-2), ['DesiredState', 'JobIteration']);
    assert.deepEqual(presentTask(storedTask({ JobIteration: { Index: 4 } })).JobIteration, { Index: 4 });
    assert.equal('JobIteration' in presentTask(storedTask()), false);
  });

  it('never shows registry credentials, and leaves the stored task as it is', () => {
    const stored = storedTask();
    stored.Spec.ContainerSpec!.PullOptions = { RegistryAuth: 'eyJ1c2VybmFtZSI6InUifQ==' };
    const shown = presentTask(stored);
    assert.deepEqual(shown.Spec, {
      ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '1'], Isolation: 'default' },
      ForceUpdate: 0,
    });
    assert.equal(stored.Spec.ContainerSpec!.PullOptions?.RegistryAuth, 'eyJ1c2VybmFtZSI6InUifQ==');
    // Without a Runtime too (a spec written before Runtime was stored).
    const { Runtime: _runtime, ...noRuntime } = stored.Spec;
    assert.equal(JSON.stringify(presentTask(storedTask({ Spec: noRuntime }))).includes('PullOptions'), false);
  });

  it('leaves out an unassigned task’s node', () => {
    const shown = presentTask(storedTask({ NodeID: undefined }));
    assert.equal('NodeID' in shown, false);
  });
});

describe('presenting services', () => {
  const service = (overrides: Partial<Service> = {}): Service => ({
    ID: 'svc1',
    Version: { Index: 5 },
    CreatedAt: 'c',
    UpdatedAt: 'u',
    Spec: { Name: 'job', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } },
    SpecVersion: { Index: 4 },
    ...overrides,
  });

  it('shows an endpoint the allocator never made as Docker does, `{"Spec": {}}`', () => {
    assert.deepEqual(presentService(service()).Endpoint, { Spec: {} });
    assert.deepEqual(presentService(service({ Endpoint: { Spec: {} } })).Endpoint, { Spec: {} });
  });

  it('never shows registry credentials, of the spec or the previous spec', () => {
    const withAuth = (auth: string): Service['Spec'] => ({
      Name: 'private',
      TaskTemplate: {
        ContainerSpec: { Image: 'registry.test:5000/app:1', PullOptions: { RegistryAuth: auth } },
      },
    });
    const stored = service({ Spec: withAuth('CURRENT-AUTH'), PreviousSpec: withAuth('PREVIOUS-AUTH') });
    const shown = presentService(stored);
    assert.deepEqual(shown.Spec.TaskTemplate?.ContainerSpec, {
      Image: 'registry.test:5000/app:1',
      Isolation: 'default',
    });
    assert.equal(JSON.stringify(shown).includes('PullOptions'), false);
    assert.equal(JSON.stringify(shown).includes('AUTH'), false);
    assert.equal(stored.Spec.TaskTemplate?.ContainerSpec?.PullOptions?.RegistryAuth, 'CURRENT-AUTH');
  });

  it('writes the fields in Docker’s order, without the spec versions', () => {
    const shown = presentService(
      service({
        JobStatus: { JobIteration: { Index: 0 }, LastExecution: 'l' },
        UpdateStatus: { State: 'completed' },
        Endpoint: { Spec: {} },
        PreviousSpec: { Name: 'job' },
        PreviousSpecVersion: { Index: 2 },
      }),
      { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0 },
    );
    assert.deepEqual(Object.keys(shown), [
      'ID',
      'Version',
      'CreatedAt',
      'UpdatedAt',
      'Spec',
      'PreviousSpec',
      'Endpoint',
      'UpdateStatus',
      'ServiceStatus',
      'JobStatus',
    ]);
    assert.deepEqual(shown.JobStatus, { JobIteration: {}, LastExecution: 'l' });
  });
});

describe('presenting nodes', () => {
  const node: Node = {
    ID: 'node1',
    Version: { Index: 9 },
    CreatedAt: 'c',
    UpdatedAt: 'u',
    Spec: { Role: 'manager', Availability: 'active' },
    Description: {
      Hostname: 'vm',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: {},
      Engine: { EngineVersion: '1' },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
    Role: 'manager',
  };

  it('writes Docker’s fields in its order: labels always, the observed role never', () => {
    const shown = presentNode(node, 'node1');
    assert.deepEqual(Object.keys(shown), [
      'ID',
      'Version',
      'CreatedAt',
      'UpdatedAt',
      'Spec',
      'Description',
      'Status',
      'ManagerStatus',
    ]);
    assert.deepEqual(shown.Spec, { Labels: {}, Role: 'manager', Availability: 'active' });
    assert.deepEqual(Object.keys(shown.ManagerStatus!), ['Leader', 'Reachability', 'Addr']);
  });

  it('says Leader only for the leader', () => {
    assert.deepEqual(presentNode(node, 'other').ManagerStatus, {
      Reachability: 'reachable',
      Addr: '127.0.0.1:2377',
    });
  });
});
