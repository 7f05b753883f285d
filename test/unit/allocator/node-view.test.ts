// What a node is told of its overlay networks: subnets, gateways, VXLAN IDs, MTU, its own address, the
// nodes that have each network (where to tunnel), the tasks on it (forwarding entries, DNS) and the
// services' virtual IPs (DNS, balancing).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Node, Task } from '../../../src/api/types.js';
import { nodeNetworkViews } from '../../../src/manager/allocator/node-view.js';
import { makeNode, makeService, makeTask } from '../orchestrator/support/fixtures.js';
import { allocated, network } from './support.js';

describe('node network view', () => {
  it('per network: subnets with gateway and VXLAN ID, peers, tasks not done yet', () => {
    const [app, other] = allocated(
      network({
        Name: 'app',
        DriverConfiguration: { Name: 'overlay', Options: { 'com.docker.network.driver.mtu': '1400' } },
      }),
      network({ Name: 'other', Internal: true }),
    );
    const n1: Node = {
      ...makeNode('n1'),
      Status: { State: 'ready', Addr: '192.0.2.1' },
      Attachments: [{ Network: app!, Addresses: ['10.0.0.9/24'] }],
    };
    const n2: Node = {
      ...makeNode('n2'),
      Status: { State: 'ready', Addr: '192.0.2.2' },
      Attachments: [
        { Network: app!, Addresses: ['10.0.0.10/24'] },
        { Network: other!, Addresses: ['10.0.1.9/24'] },
      ],
    };
    const web = makeService('web', {
      taskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        Networks: [{ Target: app!.ID, Aliases: ['www'] }],
      },
    });
    web.Endpoint = { Spec: {}, VirtualIPs: [{ NetworkID: app!.ID, Addr: '10.0.0.20/24' }] };
    // A dnsrr service keeps no VIP in the view (even one left in its endpoint).
    const rr = makeService('rr');
    rr.Spec.EndpointSpec = { Mode: 'dnsrr' };
    rr.Endpoint = { Spec: {}, VirtualIPs: [{ NetworkID: app!.ID, Addr: '10.0.0.21/24' }] };
    const on = (id: string, nodeId: string, address: string, state: Task['Status']['State']): Task => {
      const task = makeTask(web, { id, node: nodeId, state, slot: 1 });
      task.NetworksAttachments = [{ Network: app!, Addresses: [address], Aliases: ['www'] }];
      return task;
    };
    const tasks = [on('ta', 'n1', '10.0.0.2/24', 'running'), on('tb', 'n2', '10.0.0.3/24', 'shutdown')];
    const views = nodeNetworkViews({
      network: (id) => [app!, other!].find((n) => n.ID === id),
      nodes: () => [n1, n2],
      tasks: () => tasks,
      services: () => [web, rr],
    });
    assert.deepEqual(views.get('n1'), {
      nodeId: 'n1',
      dataPathPort: 4789,
      networks: [
        {
          id: app!.ID,
          name: 'app',
          internal: false,
          attachable: false,
          ingress: false,
          mtu: 1400,
          subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1', vxlanId: 4096 }],
          address: '10.0.0.9/24',
          peers: [
            { nodeId: 'n1', underlayAddr: '192.0.2.1', address: '10.0.0.9/24' },
            { nodeId: 'n2', underlayAddr: '192.0.2.2', address: '10.0.0.10/24' },
          ],
          tasks: [
            {
              taskId: 'ta',
              taskName: 'web.1.ta',
              serviceId: 'web',
              serviceName: 'web',
              nodeId: 'n1',
              serving: true,
              addresses: ['10.0.0.2/24'],
              aliases: ['www'],
            },
          ],
          vips: [{ serviceId: 'web', serviceName: 'web', address: '10.0.0.20/24', aliases: ['www'] }],
        },
      ],
    });
    // Every network the node has, in ID order.
    assert.deepEqual(
      views.get('n2')?.networks.map((n) => [n.name, n.internal]),
      [app!, other!]
        .sort((a, b) => (a.ID < b.ID ? -1 : 1))
        .map((n) => [n.Spec.Name, n.Spec.Internal ?? false]),
    );
    assert.deepEqual(
      [
        ...nodeNetworkViews({ network: () => undefined, nodes: () => [n1, n2], tasks: () => [] }, [
          'n2',
        ]).keys(),
      ],
      ['n2'],
    );
  });
});
