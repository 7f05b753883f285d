// The scheduler places a task on networks only on a node whose executor can attach it to them: no
// executor can yet, so such a task waits with the executor filter's explanation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionFor, node, schedule, task } from './fixtures.js';

describe('tasks on networks', () => {
  it('go to no node whose executor cannot attach them (docker, for now), and say why', () => {
    const onNet = task('net');
    onNet.Spec = { ...onNet.Spec, Networks: [{ Target: 'n1' }] };
    onNet.NetworksAttachments = [
      {
        Network: { ID: 'n1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: { Name: 'app' } },
        Addresses: ['10.0.1.2/24'],
      },
    ];
    const docker = { engineLabels: { 'shoal.executor': 'docker' } };
    const decisions = schedule({
      nodes: [node('a', docker), node('b', docker)],
      tasks: [onNet, task('plain', { service: 'other' })],
    });
    assert.deepEqual(decisionFor(decisions, 'net'), {
      kind: 'unschedulable',
      taskId: 'net',
      error: "no suitable node (executor cannot honour the task's spec on 2 nodes)",
    });
    assert.equal(decisionFor(decisions, 'plain')?.kind, 'assign');
    // The process executor attaches them.
    const placed = schedule({ nodes: [node('a', docker), node('p')], tasks: [onNet] });
    assert.deepEqual(decisionFor(placed, 'net')?.kind, 'assign');
  });
});
