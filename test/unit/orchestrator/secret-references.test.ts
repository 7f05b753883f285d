// `service update --secret-add/--secret-rm` and `--config-add/--config-rm` change the task template, so the
// update replaces the tasks (swarmkit's IsTaskDirty compares the whole TaskSpec): the dirty check sees a
// reference change, and a rolling update over the real store and orchestrator replaces every task with one
// carrying the new references — the rotation `--secret-rm db_pw --secret-add source=db_pw2,target=db_pw`.
//
// No executor delivers secrets yet, so the control API refuses such a spec; the update is written to the
// store the way updateService writes it (PreviousSpec, SpecVersion), as the control API will once delivery
// exists.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { ConfigReference, SecretReference, TaskSpec } from '../../../src/api/types.js';
import { createSecretOrConfig } from '../../../src/manager/controlapi/secrets.js';
import { isTaskDirty } from '../../../src/manager/orchestrator/dirty.js';
import { makeNode, makeService, makeTask, updated } from './support/fixtures.js';
import { liveTasks, runningTasks, serviceSpec, UpdateHarness } from './support/update-harness.js';

const file = (name: string) => ({ Name: name, UID: '0', GID: '0', Mode: 0o444 });
const secretRef = (id: string, name: string, target = name): SecretReference => ({
  File: file(target),
  SecretID: id,
  SecretName: name,
});
const configRef = (id: string, name: string, target: string): ConfigReference => ({
  File: file(target),
  ConfigID: id,
  ConfigName: name,
});

describe('the dirty check and secret and config references', () => {
  const node = makeNode('n1');
  const withRefs =
    (secrets: SecretReference[], configs: ConfigReference[] = []) =>
    (spec: TaskSpec): TaskSpec => ({
      ...spec,
      ContainerSpec: { ...spec.ContainerSpec, Secrets: secrets, Configs: configs },
    });
  const base = updated(makeService('web', { taskTemplate: { ContainerSpec: { Image: 'app:1' } } }), (s) => s);

  it('adding, removing or retargeting a secret makes a task dirty', () => {
    const task = makeTask(base, { node: 'n1', state: 'running' });
    assert.equal(isTaskDirty(updated(base, withRefs([secretRef('s1', 'db_pw')])), task, node), true);
    const withSecret = updated(base, withRefs([secretRef('s1', 'db_pw')]));
    const taskWithSecret = makeTask(withSecret, { node: 'n1', state: 'running' });
    assert.equal(isTaskDirty(updated(withSecret, withRefs([])), taskWithSecret, node), true);
    // Rotation: same target, another secret.
    assert.equal(
      isTaskDirty(updated(withSecret, withRefs([secretRef('s2', 'db_pw2', 'db_pw')])), taskWithSecret, node),
      true,
    );
    // Unchanged references under a new spec version: clean.
    assert.equal(
      isTaskDirty(updated(withSecret, withRefs([secretRef('s1', 'db_pw')])), taskWithSecret, node),
      false,
    );
  });

  it('adding or removing a config makes a task dirty', () => {
    const task = makeTask(base, { node: 'n1', state: 'running' });
    assert.equal(
      isTaskDirty(updated(base, withRefs([], [configRef('c1', 'app', '/etc/app.conf')])), task, node),
      true,
    );
  });
});

describe('an update of secret references replaces the tasks', () => {
  let h: UpdateHarness;

  beforeEach(async () => {
    h = await UpdateHarness.open();
  });
  afterEach(async () => {
    await h.close();
  });

  /** What `docker service update` writes, without the executor check that refuses secrets today. */
  async function changeReferences(
    serviceId: string,
    secrets: SecretReference[],
    configs: ConfigReference[],
  ): Promise<void> {
    await h.store.update((tx) => {
      const current = tx.get('service', serviceId)!;
      const next = structuredClone(current);
      next.PreviousSpec = structuredClone(current.Spec);
      next.PreviousSpecVersion = current.SpecVersion ? { ...current.SpecVersion } : { Index: 0 };
      const container = next.Spec.TaskTemplate!.ContainerSpec!;
      container.Secrets = secrets;
      container.Configs = configs;
      next.SpecVersion = { Index: current.Version.Index };
      delete next.UpdateStatus;
      tx.update('service', next);
    });
  }

  const targets = (tasks: ReturnType<UpdateHarness['tasks']>): string[] =>
    liveTasks(tasks).map((t) =>
      [
        ...(t.Spec.ContainerSpec?.Secrets ?? []).map((s) => `${s.SecretName}->${s.File!.Name}`),
        ...(t.Spec.ContainerSpec?.Configs ?? []).map((c) => `${c.ConfigName}->${c.File!.Name}`),
      ].join(','),
    );

  it('--secret-add and --config-add, then the rotation --secret-rm db_pw --secret-add source=db_pw2,target=db_pw', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3, update: { Parallelism: 0 } }));
    const [pw, pw2, app] = await h.store.update((tx) => [
      createSecretOrConfig(tx, 'secret', { Name: 'db_pw', Data: 'czNjcmV0' }),
      createSecretOrConfig(tx, 'secret', { Name: 'db_pw2', Data: 'bmV3' }),
      createSecretOrConfig(tx, 'config', { Name: 'app', Data: 'YT0x' }),
    ]);
    const original = new Set(liveTasks(h.tasks(web)).map((t) => t.ID));
    assert.equal(original.size, 3);

    await changeReferences(web, [secretRef(pw.ID, 'db_pw')], [configRef(app.ID, 'app', '/etc/app.conf')]);
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    let live = liveTasks(h.tasks(web));
    assert.equal(runningTasks(live).length, 3);
    assert.ok(
      live.every((t) => !original.has(t.ID)),
      'every task was replaced',
    );
    assert.deepEqual(targets(h.tasks(web)), Array(3).fill('db_pw->db_pw,app->/etc/app.conf'));

    const second = new Set(live.map((t) => t.ID));
    await changeReferences(
      web,
      [secretRef(pw2.ID, 'db_pw2', 'db_pw')],
      [configRef(app.ID, 'app', '/etc/app.conf')],
    );
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    live = liveTasks(h.tasks(web));
    assert.equal(runningTasks(live).length, 3);
    assert.ok(
      live.every((t) => !second.has(t.ID)),
      'every task was replaced again',
    );
    assert.deepEqual(targets(h.tasks(web)), Array(3).fill('db_pw2->db_pw,app->/etc/app.conf'));
  });
});
