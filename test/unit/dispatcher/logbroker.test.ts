import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';

import type { LogLine } from '../../../src/agent/executor/executor.js';
import type { LogStreamOptions } from '../../../src/api/dispatcher.js';
import type { Node, Task } from '../../../src/api/types.js';
import type { LogMessage } from '../../../src/api/control.js';
import { logStreamOptions } from '../../../src/manager/logbroker/options.js';
import { FakeExecutor } from '../agent/fake-executor.js';
import { removeStateDirs, startAgent, type RunningAgent } from '../agent/setup.js';
import { getTask, settle, taskFixture, until } from './helpers.js';
import { harness, type Harness } from './setup.js';

const line = (text: string, stream: LogLine['stream'] = 'stdout'): LogLine => ({
  stream,
  timestamp: '2024-05-01T12:00:00.000000001Z',
  data: Buffer.from(text + '\n'),
});

const ALL: LogStreamOptions = { follow: false, stdout: true, stderr: true };

const describeMessage = (m: LogMessage) =>
  `${m.context.nodeId}/${m.context.taskId}/${m.stream}:${m.line.toString().trim()}`;

async function collect(messages: AsyncIterable<LogMessage>): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const message of messages) out.push(message);
  return out;
}

describe('log broker', () => {
  let h: Harness;
  const agents: RunningAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.agent.stop();
    await h.close();
  });
  after(removeStateDirs);

  /** Two nodes with an agent each; a task of `web` on each, running, with some output. */
  async function twoNodes(withAgents = [true, true]) {
    h = await harness({ nodes: 2 });
    const [n1, n2] = h.nodes as [Node, Node];
    const t1 = taskFixture({ id: 'task1', nodeId: n1.ID, serviceId: 'web' });
    const t2 = taskFixture({ id: 'task2', nodeId: n2.ID, serviceId: 'web' });
    const other = taskFixture({ id: 'other', nodeId: n1.ID, serviceId: 'db' });
    await h.store.update((tx) => [t1, t2, other].forEach((t) => tx.create('task', t)));
    const executors = [new FakeExecutor(), new FakeExecutor()] as const;
    executors[0].output.set(t1.ID, [line('one-a'), line('one-b')]);
    executors[0].output.set(other.ID, [line('db says hi')]);
    executors[1].output.set(t2.ID, [line('two-a'), line('two-oops', 'stderr')]);
    for (const [i, node] of [n1, n2].entries()) {
      if (withAgents[i]) agents.push(await startAgent(h, node, { executor: executors[i] }));
    }
    const running = (t: Task) => getTask(h.store, t.ID).Status.State === 'running';
    await until(h.clock, () => [t1, t2].filter((_, i) => withAgents[i]).every(running));
    return { n1, n2, t1, t2, executors };
  }

  it("merges a service's output from the agents of two nodes, and ends when both are done", async () => {
    const { n1, n2 } = await twoNodes();
    const messages = await collect(
      h.broker.subscribe({ serviceId: 'web' }, ALL, new AbortController().signal),
    );
    assert.deepEqual(
      messages.map(describeMessage).sort(),
      [
        `${n1.ID}/task1/stdout:one-a`,
        `${n1.ID}/task1/stdout:one-b`,
        `${n2.ID}/task2/stderr:two-oops`,
        `${n2.ID}/task2/stdout:two-a`,
      ].sort(),
    );
    assert.equal(messages[0]!.context.serviceId, 'web');
  });

  it('applies the options on every node: tail per task, streams', async () => {
    await twoNodes();
    const options = logStreamOptions({
      follow: false,
      stdout: true,
      stderr: false,
      timestamps: false,
      details: false,
      tail: '1',
      since: 0,
      until: 0,
    });
    const messages = await collect(
      h.broker.subscribe({ taskIds: ['task1', 'task2'] }, options, new AbortController().signal),
    );
    assert.deepEqual(messages.map((m) => m.line.toString().trim()).sort(), ['one-b']);
  });

  it('follows: takes in tasks of the service that start later, until aborted', async () => {
    const { n2, executors } = await twoNodes();
    const abort = new AbortController();
    const received: LogMessage[] = [];
    const done = (async () => {
      for await (const message of h.broker.subscribe(
        { serviceId: 'web' },
        { ...ALL, follow: true },
        abort.signal,
      )) {
        received.push(message);
      }
    })();
    await until(h.clock, () => received.length === 4);

    const late = taskFixture({ id: 'task3', nodeId: n2.ID, serviceId: 'web' });
    executors[1].output.set(late.ID, [line('late-comer')]);
    await h.store.update((tx) => tx.create('task', late));
    await until(h.clock, () => received.some((m) => m.context.taskId === 'task3'));

    abort.abort();
    await done;
    assert.equal(received.length, 5);
  });

  it("warns, after what it could get, when a node's agent is not connected", async () => {
    const { n2 } = await twoNodes([true, false]);
    await updateRunning(h, 'task2');
    const messages = h.broker.subscribe({ serviceId: 'web' }, ALL, new AbortController().signal);
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const message of messages) got.push(message.line.toString().trim());
      })(),
      {
        message: `warning: incomplete log stream. some logs could not be retrieved for the following reasons: node ${n2.ID} is not available`,
      },
    );
    assert.deepEqual(got.sort(), ['one-a', 'one-b']);
    await settle();
  });
});

/** Pretends the task on the agent-less node is running, so a non-follow request selects it. */
async function updateRunning(h: Harness, taskId: string): Promise<void> {
  await h.store.update((tx) => {
    const task = structuredClone(tx.get('task', taskId)!);
    task.Status.State = 'running';
    tx.update('task', task);
  });
}
