// The scheduler places a task on networks on a node whose executor can attach it to them: both executors
// can, so such a task goes to either; what else it asks for still decides (the executor filter says why).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionFor, node, schedule, task } from './fixtures.js';

describe('tasks on networks', () => {
  const onNet = (id: string, container: Record<string, unknown> = {}) => {
    const t = task(id);
    t.Spec = {
      ...t.Spec,
      ContainerSpec: { ...t.Spec.ContainerSpec, ...container },
      Networks: [{ Target: 'n1' }],
    };
    t.NetworksAttachments = [
      {
        Network: { ID: 'n1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: { Name: 'app' } },
        Addresses: ['10.0.1.2/24'],
      },
    ];
    return t;
  };
  const docker = { engineLabels: { 'shoal.executor': 'docker' } };
  const processExecutor = { engineLabels: { 'shoal.executor': 'process' } };

  it('go to nodes of either executor', () => {
    for (const options of [docker, processExecutor]) {
      const decisions = schedule({ nodes: [node('a', options)], tasks: [onNet('net')] });
      assert.equal(decisionFor(decisions, 'net')?.kind, 'assign');
    }
  });

  it('wait, saying why, when what else they ask for no node’s executor does', () => {
    const decisions = schedule({
      nodes: [node('a', processExecutor), node('b', processExecutor)],
      tasks: [onNet('net', { ReadOnly: true }), task('plain', { service: 'other' })],
    });
    assert.deepEqual(decisionFor(decisions, 'net'), {
      kind: 'unschedulable',
      taskId: 'net',
      error: "no suitable node (executor cannot honour the task's spec on 2 nodes)",
    });
    assert.equal(decisionFor(decisions, 'plain')?.kind, 'assign');
  });
});
