// The agent's side of secret and config delivery (issue 11, item 3): what the managers send is kept in
// memory only, each task's controller may use what its spec references and nothing else, the node forgets
// a secret when the managers take it back, nothing of it reaches the state DB, and a restarted agent has it
// again from the managers' first complete set.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';

import type { Secret, Task } from '../../../src/api/types.js';
import { getTask, taskFixture, until, updateTask } from '../dispatcher/helpers.js';
import { harness, type Harness } from '../dispatcher/setup.js';
import { FakeExecutor } from './fake-executor.js';
import { removeStateDirs, startAgent, type RunningAgent } from './setup.js';

const VALUE = 'agent-test-s3cret-9173';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

const secret = (id: string, data: string): Secret => ({
  ID: id,
  Version: { Index: 0 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name: `name-${id}`, Data: b64(data) },
});

function using(options: Parameters<typeof taskFixture>[0], secrets: string[]): Task {
  const task = taskFixture(options);
  task.Spec.ContainerSpec!.Secrets = secrets.map((id) => ({
    SecretID: id,
    SecretName: `name-${id}`,
    File: { Name: id, UID: '0', GID: '0', Mode: 0o444 },
  }));
  return task;
}

/** Every byte under `dir`, as one string (latin1, so that any file can be searched). */
function everything(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    text += statSync(path).isDirectory() ? everything(path) : readFileSync(path).toString('latin1');
  }
  return text;
}

describe('agent: secrets and configs', () => {
  let h: Harness;
  const agents: RunningAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.agent.stop();
    await h.close();
  });
  after(removeStateDirs);

  const stateOf = (id: string) => getTask(h.store, id).Status.State;

  it('gives a task the secrets it references, keeps them in memory only, and forgets them when taken back', async () => {
    h = await harness({ nodes: 2 });
    const [node, other] = h.nodes as [(typeof h.nodes)[0], (typeof h.nodes)[0]];
    await h.store.update((tx) => {
      tx.create('secret', secret('s1', VALUE));
      tx.create('secret', secret('s2', 'unused-by-this-task'));
      tx.create('task', using({ id: 'a', nodeId: node.ID }, ['s1']));
      tx.create('task', using({ id: 'b', nodeId: other.ID }, []));
    });
    const a = await startAgent(h, node);
    const b = await startAgent(h, other);
    agents.push(a, b);
    await until(h.clock, () => stateOf('a') === 'running' && stateOf('b') === 'running');

    const deps = a.executor.get('a').dependencies!;
    assert.equal(Buffer.from(deps.secret('s1').Data, 'base64').toString(), VALUE);
    assert.throws(() => deps.secret('s2'), /task not authorized to access secret s2/);
    assert.deepEqual(a.agent.heldDependencies(), { secrets: ['s1'], configs: [] });
    assert.deepEqual(b.agent.heldDependencies(), { secrets: [], configs: [] }, 'the other node has nothing');
    assert.ok(!everything(a.stateDir).includes(VALUE), 'not in the state DB');
    assert.ok(!everything(a.stateDir).includes(b64(VALUE)), 'not in the state DB, encoded either');

    a.executor.get('a').exit(0);
    await until(h.clock, () => stateOf('a') === 'complete');
    await until(h.clock, () => a.agent.heldDependencies().secrets.length === 0);
    assert.throws(() => deps.secret('s1'), /secret s1 not found/);
  });

  it('has them again after a restart, from the first complete set, and says when that has arrived', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    await h.store.update((tx) => {
      tx.create('secret', secret('s1', VALUE));
      tx.create('task', using({ id: 'a', nodeId: node.ID }, ['s1']));
    });
    const executor = new FakeExecutor();
    const first = await startAgent(h, node, { executor });
    await until(h.clock, () => stateOf('a') === 'running');
    await first.agent.stop();
    assert.deepEqual(first.agent.heldDependencies(), { secrets: [], configs: [] }, 'forgotten at stop');

    executor.recovered = [{ taskId: 'a', running: true, status: { State: 'running' } }];
    executor.controllers.clear();
    // The task is changed while the agent is down, so that the new agent makes a controller for it.
    await updateTask(h.store, 'a', (t) => (t.Spec.ContainerSpec!.Env = ['X=1']));
    const second = await startAgent(h, node, { executor, stateDir: first.stateDir });
    agents.push(second);
    const deps = executor.get('a').dependencies!;
    await until(h.clock, () => deps.complete);
    await deps.ready();
    assert.deepEqual(second.agent.heldDependencies(), { secrets: ['s1'], configs: [] });
    assert.ok(!everything(first.stateDir).includes(VALUE));
  });
});
