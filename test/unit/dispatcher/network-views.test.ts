// The dispatcher pushes each node its network view in the assignments stream: whole with the COMPLETE set,
// then changes as the store changes — pushed on commits, never polled.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import type { AssignmentsMessage } from '../../../src/api/dispatcher.js';
import type { Network, Task } from '../../../src/api/types.js';
import { Recorder, settle, taskFixture } from './helpers.js';
import { harness, register, type Harness } from './setup.js';

const app: Network = {
  ID: 'appnet',
  Version: { Index: 0 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name: 'app', Labels: {}, DriverConfiguration: { Name: 'overlay' } },
  DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' } },
  IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] },
};

function onApp(task: Task, address: string): Task {
  return {
    ...task,
    ServiceAnnotations: { Name: 'web' },
    NetworksAttachments: [{ Network: app, Addresses: [address] }],
  };
}

describe('dispatcher network views', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('sends the view with the COMPLETE set, then peers and endpoints as they change, down nodes dropped', async () => {
    h = await harness({ nodes: 2 });
    const [node, other] = h.nodes as [(typeof h.nodes)[0], (typeof h.nodes)[0]];
    await h.store.update((tx) => {
      tx.create('network', app);
      for (const n of [node, other]) {
        const next = structuredClone(tx.get('node', n.ID)!);
        next.Attachments = [{ Network: app, Addresses: [n === node ? '10.0.1.200/24' : '10.0.1.201/24'] }];
        next.Status = { ...next.Status, Addr: n === node ? '192.0.2.1' : '192.0.2.2' };
        tx.update('node', next);
      }
      tx.create('task', onApp(taskFixture({ id: 'mine', nodeId: node.ID, state: 'running' }), '10.0.1.2/24'));
      tx.create(
        'task',
        onApp(taskFixture({ id: 'theirs', nodeId: other.ID, state: 'running' }), '10.0.1.3/24'),
      );
    });
    const client = h.dispatcher.localClient(node.ID);
    const { sessionId } = await register(h, client);
    const stream = new Recorder<AssignmentsMessage>();
    client.assignments(sessionId, stream.onMessage, stream.onEnd);
    await settle();
    const complete = stream.messages[0]!;
    assert.equal(complete.type, 'complete');
    assert.deepEqual(
      complete.network?.changes.map((c) => c.action),
      ['update-network', 'update-peer', 'update-peer', 'update-endpoint', 'update-endpoint'],
    );
    assert.equal(complete.network?.dataPathPort, 4789);

    // Another task starts on the other node: one endpoint, in an INCREMENTAL message, with no polling.
    await h.store.update((tx) => {
      tx.create(
        'task',
        onApp(taskFixture({ id: 'new', nodeId: other.ID, state: 'starting' }), '10.0.1.4/24'),
      );
    });
    await h.clock.advance(20);
    await settle();
    const added = stream.messages.at(-1)!;
    assert.equal(added.type, 'incremental');
    assert.deepEqual(added.network?.changes, [
      {
        action: 'update-endpoint',
        networkId: 'appnet',
        endpoint: {
          taskId: 'new',
          taskName: `web.1.new`,
          serviceId: 'service1',
          serviceName: 'web',
          nodeId: other.ID,
          serving: false,
          addresses: ['10.0.1.4/24'],
          aliases: [],
        },
      },
    ]);
    assert.ok(added.network!.version > complete.network!.version);

    // The other node goes down: its peer and its tasks leave the view.
    const before = stream.messages.length;
    await h.store.update((tx) => {
      const next = structuredClone(tx.get('node', other.ID)!);
      next.Status = { ...next.Status, State: 'down' };
      tx.update('node', next);
    });
    await h.clock.advance(20);
    await settle();
    const down = stream.messages.slice(before).flatMap((m) => m.network?.changes ?? []);
    assert.deepEqual(down.map((c) => c.action).sort(), ['remove-endpoint', 'remove-endpoint', 'remove-peer']);

    // Nothing about networks changed: nothing sent.
    const count = stream.messages.length;
    await h.clock.advance(1_000);
    await settle();
    assert.equal(stream.messages.length, count);
  });
});
