// The network view protocol: what the dispatcher sends a node (complete, then changes) and how the agent
// applies it. The property that matters: whatever the sequence of views, applying the diffs in order gives
// the last view, and applying them twice changes nothing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import {
  applyNetworkUpdate,
  diffNetworkViews,
  emptyViewState,
  viewOf,
} from '../../../src/api/network-view.js';
import type { NodeNetworkView, OverlayNetwork, OverlayTask } from '../../../src/api/networks.js';

const endpoint = (taskId: string, nodeId: string, ip: string, serving = true): OverlayTask => ({
  taskId,
  taskName: `web.1.${taskId}`,
  serviceId: 'svc',
  serviceName: 'web',
  nodeId,
  serving,
  addresses: [`${ip}/24`],
  aliases: [],
});

const net = (id: string, tasks: OverlayTask[], peers: string[]): OverlayNetwork => ({
  id,
  name: id,
  internal: false,
  attachable: false,
  ingress: false,
  subnets: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1', vxlanId: 4097 }],
  peers: peers.map((nodeId, i) => ({
    nodeId,
    underlayAddr: `192.0.2.${i + 1}`,
    address: `10.0.1.${200 + i}/24`,
  })),
  tasks,
  vips: [],
});

const view = (networks: OverlayNetwork[]): NodeNetworkView => ({
  nodeId: 'n1',
  dataPathPort: 4789,
  networks,
});

describe('network view protocol', () => {
  it('a fresh stream gets every network, peer and endpoint; then only what changed', () => {
    const v1 = view([
      net('a', [endpoint('t1', 'n1', '10.0.1.2'), endpoint('t2', 'n2', '10.0.1.3')], ['n1', 'n2']),
    ]);
    const first = diffNetworkViews(undefined, v1);
    assert.deepEqual(
      first.map((c) => c.action),
      ['update-network', 'update-peer', 'update-peer', 'update-endpoint', 'update-endpoint'],
    );
    const v2 = view([
      net('a', [endpoint('t1', 'n1', '10.0.1.2'), endpoint('t3', 'n2', '10.0.1.4')], ['n1', 'n2']),
    ]);
    assert.deepEqual(diffNetworkViews(v1, v2), [
      { action: 'remove-endpoint', networkId: 'a', taskId: 't2' },
      { action: 'update-endpoint', networkId: 'a', endpoint: endpoint('t3', 'n2', '10.0.1.4') },
    ]);
    // A task being stopped stays for forwarding but leaves DNS: one endpoint update.
    const v3 = view([
      net('a', [endpoint('t1', 'n1', '10.0.1.2'), endpoint('t3', 'n2', '10.0.1.4', false)], ['n1', 'n2']),
    ]);
    assert.deepEqual(
      diffNetworkViews(v2, v3).map((c) => c.action),
      ['update-endpoint'],
    );
    assert.deepEqual(diffNetworkViews(v3, view([])), [{ action: 'remove-network', networkId: 'a' }]);
    assert.deepEqual(diffNetworkViews(v3, v3), []);
  });

  it('applying the diffs of any sequence of views gives the last view; applying twice changes nothing', () => {
    const task = fc.record({
      id: fc.constantFrom('t1', 't2', 't3', 't4'),
      node: fc.constantFrom('n1', 'n2', 'n3'),
      ip: fc.integer({ min: 2, max: 9 }),
      serving: fc.boolean(),
    });
    const network = fc.record({
      id: fc.constantFrom('a', 'b', 'c'),
      tasks: fc.uniqueArray(task, { selector: (t) => t.id, maxLength: 4 }),
      peers: fc.uniqueArray(fc.constantFrom('n1', 'n2', 'n3'), { maxLength: 3 }),
    });
    const views = fc.array(fc.uniqueArray(network, { selector: (n) => n.id, maxLength: 3 }), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(views, (sequence) => {
        const built = sequence.map((networks) =>
          view(
            networks
              .map((n) =>
                net(
                  n.id,
                  n.tasks
                    .map((t) => endpoint(t.id, t.node, `10.0.1.${t.ip}`, t.serving))
                    .sort((x, y) => (x.taskId < y.taskId ? -1 : 1)),
                  [...n.peers].sort(),
                ),
              )
              .sort((x, y) => (x.id < y.id ? -1 : 1)),
          ),
        );
        const state = emptyViewState(4789);
        let previous: NodeNetworkView | undefined;
        for (const [i, next] of built.entries()) {
          const update = { version: i + 1, dataPathPort: 4789, changes: diffNetworkViews(previous, next) };
          applyNetworkUpdate(state, update, previous === undefined);
          applyNetworkUpdate(state, update, previous === undefined);
          previous = next;
        }
        assert.deepEqual(viewOf('n1', state), built.at(-1));
      }),
    );
  });

  it('a complete update replaces what the agent had and names every network it touched', () => {
    const state = emptyViewState(4789);
    applyNetworkUpdate(
      state,
      { version: 1, dataPathPort: 4789, changes: diffNetworkViews(undefined, view([net('a', [], ['n1'])])) },
      true,
    );
    const touched = applyNetworkUpdate(
      state,
      { version: 2, dataPathPort: 7777, changes: diffNetworkViews(undefined, view([net('b', [], ['n1'])])) },
      true,
    );
    assert.deepEqual([...touched].sort(), ['a', 'b']);
    assert.deepEqual([...state.networks.keys()], ['b']);
    assert.equal(state.dataPathPort, 7777);
    assert.equal(state.version, 2);
  });
});
