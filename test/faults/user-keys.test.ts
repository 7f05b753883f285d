// Issue 8, class A: user-keyed maps are not objects. A constraint on `node.labels.toString` used to
// stop orchestration for every service (`actual.toLowerCase is not a function`), and one on
// `node.labels.__proto__` did so again after every restart. Labels, constraints and filters named
// after prototype properties are now names like any other: a constraint that matches no node leaves
// its own service pending with Docker's explanation, and everything else carries on — before and after
// a restart.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ShoalDaemon } from '../harness/index.js';
import { waitFor } from '../harness/index.js';
import {
  API,
  assertAnswering,
  assertConverges,
  createSleepService,
  errorLogLines,
  runningTasks,
  startSwarm,
  waitForRunning,
} from './support.js';

const NO_MATCH = 'no suitable node (scheduling constraints not satisfied on 1 node)';

/** Node labels set with `docker node update --label-add`: every prototype name, with its own value. */
const NODE_LABELS: Record<string, string> = JSON.parse(
  '{"__proto__":"p","constructor":"c","toString":"t"}',
) as Record<string, string>;

/** Services whose constraints match no node (the label is missing, or has another value). */
const PENDING = [
  { name: 'c-tostring', constraint: 'node.labels.toString==x' },
  { name: 'c-proto', constraint: 'node.labels.__proto__==x' },
  { name: 'c-hasown', constraint: 'node.labels.hasOwnProperty==x' },
  { name: 'c-valueof', constraint: 'node.labels.valueOf==x' },
  { name: 'c-engine-ctor', constraint: 'engine.labels.constructor==x' },
  { name: 'c-engine-proto', constraint: 'engine.labels.__proto__==x' },
];

/** Services whose constraints the node satisfies through its own labels (or their absence). */
const RUNNING = [
  { name: 'r-proto', constraint: 'node.labels.__proto__==p' },
  { name: 'r-tostring', constraint: 'node.labels.toString==T' },
  { name: 'r-valueof', constraint: 'node.labels.valueOf!=x' },
];

interface TaskRow {
  DesiredState: string;
  Status: { State: string; Err?: string };
}

async function tasksOf(daemon: ShoalDaemon, service: string): Promise<TaskRow[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
  return daemon.apiOk<TaskRow[]>('GET', `${API}/tasks?filters=${filters}`);
}

async function docker(daemon: ShoalDaemon, args: string[]): Promise<string> {
  const result = await daemon.docker(args);
  assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** What must hold at any time: pending services explain why, the others run, the API answers. */
async function assertCluster(daemon: ShoalDaemon, what: string): Promise<void> {
  await assertAnswering(daemon, what);
  for (const { name } of PENDING) {
    await waitFor(
      async () => (await tasksOf(daemon, name)).map((t) => `${t.Status.State}: ${t.Status.Err}`),
      {
        until: (states) => states.length === 1 && states[0] === `pending: ${NO_MATCH}`,
        timeoutMs: 15_000,
        description: `${name} to stay pending with the scheduler's explanation (${what})`,
      },
    );
  }
  for (const { name } of RUNNING) await waitForRunning(daemon, name, 1);
  // The node labels are all there, as the user set them.
  const labels = JSON.parse(
    await docker(daemon, ['node', 'inspect', 'self', '--format', '{{json .Spec.Labels}}']),
  );
  assert.deepEqual(Object.entries(labels as object).sort(), Object.entries(NODE_LABELS).sort());
  // Label filters see own labels only.
  assert.match(await docker(daemon, ['node', 'ls', '-q', '--filter', 'node.label=__proto__=p']), /\S/);
  assert.match(await docker(daemon, ['node', 'ls', '-q', '--filter', 'node.label=toString']), /\S/);
  assert.equal(await docker(daemon, ['node', 'ls', '-q', '--filter', 'node.label=valueOf']), '');
  assert.equal(
    (
      await docker(daemon, ['service', 'ls', '--format', '{{.Name}}', '--filter', 'label=constructor'])
    ).trim(),
    'r-proto',
  );
  assert.deepEqual(errorLogLines(daemon, 'scheduler'), [], 'no failed scheduler pass');
}

describe('labels and constraints named after prototype properties', { timeout: 240_000 }, () => {
  let daemon: ShoalDaemon;

  before(async () => {
    daemon = await startSwarm();
    await createSleepService(daemon, 'steady');
    await waitForRunning(daemon, 'steady', 1);
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  it('leaves only the poisoned services pending, and everything else converging', async () => {
    const add = Object.entries(NODE_LABELS).flatMap(([k, v]) => ['--label-add', `${k}=${v}`]);
    await docker(daemon, ['node', 'update', ...add, 'self']);
    for (const { name, constraint } of [...PENDING, ...RUNNING]) {
      const labels = name === 'r-proto' ? ['--label', 'constructor=yes'] : [];
      await docker(daemon, [
        'service',
        'create',
        '-d',
        '--no-resolve-image',
        '--name',
        name,
        '--constraint',
        constraint,
        ...labels,
        'busybox',
        'sleep',
        '3600',
      ]);
    }
    await assertCluster(daemon, 'after the services were created');
    await assertConverges(daemon, 'steady', 2);
    const ps = await docker(daemon, ['service', 'ps', '--no-trunc', '--format', '{{.Error}}', 'c-tostring']);
    assert.equal(ps.trim(), `"${NO_MATCH}"`);
  });

  it('still does after a restart', async () => {
    await daemon.restart();
    await assertCluster(daemon, 'after a restart');
    await assertConverges(daemon, 'steady', 1);
    await createSleepService(daemon, 'after-restart');
    await waitForRunning(daemon, 'after-restart', 1);
    assert.equal((await runningTasks(daemon, 'steady')).length, 1);
  });
});
