// The address book: serial allocation within a network's subnets, exhaustion, release, several holders,
// and — what a restarted manager relies on — the book followed change by change equals the book built
// from the store afterwards.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import type { Network, Node, Task, TaskState } from '../../../src/api/types.js';
import {
  AddressBook,
  GATEWAY_HOLDER,
  nodeHolder,
  taskHolder,
} from '../../../src/manager/allocator/address-book.js';
import type { ObjectEvent } from '../../../src/store/objects.js';
import { makeService, makeTask } from '../orchestrator/support/fixtures.js';
import { allocated, network, withSubnet } from './support.js';

const web = makeService('web');

function taskOn(net: Network, address: string | undefined, state: TaskState = 'running', id?: string): Task {
  const task = makeTask(web, { state, ...(id ? { id } : {}) });
  if (address) task.NetworksAttachments = [{ Network: net, Addresses: [address] }];
  return task;
}

describe('address book', () => {
  it('gives out addresses serially after the gateway, and says who holds them', () => {
    const [net] = allocated(network());
    const book = AddressBook.build([net!], [], []);
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.1/24'), [GATEWAY_HOLDER]);
    assert.equal(book.take(net!.ID, taskHolder('a')), '10.0.0.2/24');
    assert.equal(book.take(net!.ID, taskHolder('b')), '10.0.0.3/24');
    // Serial: a released address is not handed out again at once.
    book.release(net!.ID, '10.0.0.2/24', taskHolder('a'));
    assert.equal(book.take(net!.ID, taskHolder('c')), '10.0.0.4/24');
    assert.equal(book.take('unknown', taskHolder('d')), undefined);
  });

  it('runs out, and wraps around to what was freed', () => {
    // A /29: network .0, gateway .1, broadcast .7 → .2 to .6 for tasks.
    const [net] = allocated(network(withSubnet('10.9.0.0/29')));
    const book = AddressBook.build([net!], [], []);
    const got = ['a', 'b', 'c', 'd', 'e'].map((id) => book.take(net!.ID, taskHolder(id)));
    assert.deepEqual(got, ['10.9.0.2/29', '10.9.0.3/29', '10.9.0.4/29', '10.9.0.5/29', '10.9.0.6/29']);
    assert.equal(book.take(net!.ID, taskHolder('f')), undefined);
    book.release(net!.ID, '10.9.0.3/29', taskHolder('b'));
    assert.equal(book.take(net!.ID, taskHolder('f')), '10.9.0.3/29');
  });

  it('only within the range, when the network has one', () => {
    const [net] = allocated(network(withSubnet('10.9.0.0/24', '10.9.0.64/30')));
    const book = AddressBook.build([net!], [], []);
    // The gateway is the range's first address; tasks get the rest of it (only the subnet's own network
    // and broadcast addresses are kept back, not the range's ends).
    assert.equal(net!.IPAMOptions?.Configs?.[0]?.Gateway, '10.9.0.64');
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((id) => book.take(net!.ID, taskHolder(id))),
      ['10.9.0.65/24', '10.9.0.66/24', '10.9.0.67/24', undefined],
    );
  });

  it('an address held twice is free only once both let go', () => {
    const [net] = allocated(network());
    const book = AddressBook.build([net!], [], []);
    book.reserve(net!.ID, '10.0.0.2/24', taskHolder('a'));
    book.reserve(net!.ID, '10.0.0.2/24', nodeHolder('n'));
    book.release(net!.ID, '10.0.0.2/24', taskHolder('a'));
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.2/24'), [nodeHolder('n')]);
    assert.notEqual(book.take(net!.ID, taskHolder('b')), '10.0.0.2/24');
  });

  it('built from the store: gateways, tasks not done yet, nodes’ attachments; done tasks hold nothing', () => {
    const [net] = allocated(network());
    const running = taskOn(net!, '10.0.0.5/24', 'running');
    const pending = taskOn(net!, '10.0.0.6/24', 'pending');
    const done = taskOn(net!, '10.0.0.7/24', 'shutdown');
    const node: Node = {
      ...({} as Node),
      ID: 'n1',
      Status: { State: 'ready', Addr: '192.0.2.1' },
      Attachments: [{ Network: net!, Addresses: ['10.0.0.9/24'] }],
    };
    const book = AddressBook.build([net!], [running, pending, done], [node]);
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.5/24'), [taskHolder(running.ID)]);
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.6/24'), [taskHolder(pending.ID)]);
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.7/24'), []);
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.9/24'), [nodeHolder('n1')]);
    // Serial from after the newest address taken, as a fresh allocator would go on.
    assert.equal(book.take(net!.ID, taskHolder('x')), '10.0.0.10/24');
  });

  it('follows changes: a task ending frees its address, a removed network takes its addresses with it', () => {
    const [net] = allocated(network());
    const book = AddressBook.build([net!], [], []);
    const task = taskOn(net!, '10.0.0.2/24', 'running');
    assert.equal(book.applyEvent({ action: 'create', kind: 'task', object: task }), false);
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.2/24'), [taskHolder(task.ID)]);
    const ended = { ...task, Status: { ...task.Status, State: 'complete' as const } };
    assert.equal(book.applyEvent({ action: 'update', kind: 'task', object: ended, old: task }), true);
    assert.deepEqual(book.holdersOf(net!.ID, '10.0.0.2/24'), []);
    assert.equal(book.applyEvent({ action: 'delete', kind: 'network', object: net! }), true);
    assert.equal(book.has(net!.ID), false);
  });

  it('a book followed change by change equals the book built from the store (a restart)', () => {
    const nets = allocated(network(withSubnet('10.9.0.0/28')), network(withSubnet('10.9.1.0/28')));
    const states: TaskState[] = ['new', 'pending', 'running', 'complete', 'failed'];
    const step = fc.record({
      task: fc.integer({ min: 0, max: 7 }),
      net: fc.integer({ min: 0, max: 1 }),
      state: fc.constantFrom(...states),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const followed = AddressBook.build(nets, [], []);
        const store = new Map<string, Task>();
        for (const s of steps) {
          const id = `t${s.task}`;
          const old = store.get(id);
          let event: ObjectEvent;
          if (s.remove) {
            if (!old) continue;
            store.delete(id);
            event = { action: 'delete', kind: 'task', object: old };
          } else {
            const net = nets[s.net]!;
            // Each task has its own address on each network (the allocator's doing); the store only
            // changes the task's state, or removes and makes it again.
            const base = old ?? taskOn(net, `10.9.${s.net}.${s.task + 2}/28`, s.state, id);
            const next: Task = { ...base, Status: { ...base.Status, State: s.state } };
            store.set(id, next);
            event = old
              ? { action: 'update', kind: 'task', object: next, old }
              : { action: 'create', kind: 'task', object: next };
          }
          followed.applyEvent(event);
        }
        const rebuilt = AddressBook.build(nets, store.values(), []);
        assert.deepEqual(followed.entries(), rebuilt.entries());
      }),
      { numRuns: 200 },
    );
  });
});
