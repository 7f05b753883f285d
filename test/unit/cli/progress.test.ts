// The converge display, fed with recorded sequences of service/task/node states and compared with
// what the docker CLI drew for the same sequences (docs/reference/docker-observed.md E.5, G.1–G.6).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service, Task } from '../../../src/api/types.js';
import { ProgressDisplay, progressBar } from '../../../src/cli/progress/display.js';
import { rootRotationUpdate } from '../../../src/cli/progress/root-rotation.js';
import { serviceProgress, truncError, type ConvergeSource } from '../../../src/cli/progress/service.js';
import { BufferStream } from '../../../src/cli/streams.js';

const NODE_ID = 'l0pl6nytqwwsqiwj349vxd6vp';
const NODES = [{ ID: NODE_ID, Status: { State: 'ready' } } as unknown as Node];

interface Poll {
  service: Partial<Service>;
  tasks: Partial<Task>[];
}

function replicated(n: number, extra: Partial<Service> = {}): Partial<Service> {
  return {
    ID: 'stlbd7tv2aga5jehbhix733y7',
    Spec: { Name: 'prog', Mode: { Replicated: { Replicas: n } } },
    ...extra,
  };
}

function tasks(states: string[], desired = 'running', extra: Partial<Task> = {}): Partial<Task>[] {
  return states.map((state, i) => ({
    ID: `task${i}`,
    Slot: i + 1,
    NodeID: NODE_ID,
    DesiredState: desired as Task['DesiredState'],
    Status: { State: state as Task['Status']['State'], Timestamp: '', Message: '' },
    ...extra,
  }));
}

/**
 * Replays the polls (the last one repeats forever) with a clock that moves 200 ms per wait and
 * 1 ms per request, as real polls do, and returns what the display drew.
 */
async function replay(
  polls: Poll[],
  tty = false,
  ref = 'stlbd7tv2aga5jehbhix733y7',
): Promise<{ text: string; error?: Error }> {
  let now = 0;
  let i = -1;
  const current = (): Poll => polls[Math.min(i, polls.length - 1)]!;
  const source: ConvergeSource = {
    service: async () => {
      i++;
      now += 1;
      return current().service as Service;
    },
    upToDateTasks: async () => {
      now += 1;
      return current().tasks as Task[];
    },
    nodes: async () => {
      now += 1;
      return NODES;
    },
  };
  const out = new BufferStream(tty, 120);
  const display = new ProgressDisplay(out);
  let error: Error | undefined;
  try {
    await serviceProgress(ref, source, (u) => display.write(u), {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
        return false;
      },
    });
  } catch (e) {
    error = e as Error;
  }
  return { text: out.text, error };
}

const verifyLines = (ref: string): string =>
  [5, 4, 3, 2, 1]
    .map((n) => `verify: Waiting ${n} seconds to verify that tasks are stable...\n`.repeat(5))
    .join('') + `verify: Service ${ref} converged\n`;

test('replicated service, no terminal: the lines the docker CLI printed (G.1)', async () => {
  const r = await replay([
    { service: replicated(3), tasks: [] },
    { service: replicated(3), tasks: tasks(['pending', 'pending', 'pending']) },
    { service: replicated(3), tasks: tasks(['running', 'running', 'running']) },
  ]);
  assert.equal(r.error, undefined);
  assert.equal(
    r.text,
    'overall progress: 0 out of 3 tasks\n1/3:  \n2/3:  \n3/3:  \n' +
      'overall progress: 0 out of 3 tasks\n'.repeat(2) +
      'overall progress: 3 out of 3 tasks\n' +
      verifyLines('stlbd7tv2aga5jehbhix733y7'),
  );
});

test('replicated service on a terminal: the raw bytes of G.1 (rows redrawn in place)', async () => {
  const r = await replay(
    [
      { service: replicated(3), tasks: [] },
      { service: replicated(3), tasks: tasks(['pending', 'pending', 'pending']) },
      { service: replicated(3), tasks: tasks(['running', 'running', 'running']) },
    ],
    true,
  );
  const E = '\x1b';
  const bar = (state: string, n: number): string =>
    `${state.padEnd(9)} [${'='.repeat(n)}>${' '.repeat(50 - n)}] `;
  const row = (up: number, text: string): string => `${E}[${up}A${E}[2K\r${text} \r${E}[${up}B`;
  const expectedStart =
    // New rows get a line each (drawn one line up, then the cursor comes back down).
    `\n${E}[1A${E}[2K\roverall progress: 0 out of 3 tasks \r${E}[1B` +
    `\n${E}[1A${E}[2K\r1/3:   \r${E}[1B` +
    `\n${E}[1A${E}[2K\r2/3:   \r${E}[1B` +
    `\n${E}[1A${E}[2K\r3/3:   \r${E}[1B` +
    row(4, 'overall progress: 0 out of 3 tasks') +
    row(3, `1/3: ${bar('pending', 16)}`.trimEnd()) +
    row(2, `2/3: ${bar('pending', 16)}`.trimEnd()) +
    row(1, `3/3: ${bar('pending', 16)}`.trimEnd()) +
    row(4, 'overall progress: 0 out of 3 tasks') +
    row(3, `1/3: ${bar('running', 50)}`.trimEnd()) +
    row(2, `2/3: ${bar('running', 50)}`.trimEnd()) +
    row(1, `3/3: ${bar('running', 50)}`.trimEnd()) +
    row(4, 'overall progress: 3 out of 3 tasks') +
    `\n${E}[1A${E}[2K\rverify: Waiting 5 seconds to verify that tasks are stable... \r${E}[1B`;
  assert.ok(r.text.startsWith(expectedStart), JSON.stringify(r.text.slice(0, expectedStart.length)));
  assert.ok(r.text.endsWith(`${E}[1A${E}[2K\rverify: Service stlbd7tv2aga5jehbhix733y7 converged \r${E}[1B`));
});

test('the bar is only drawn on terminals wider than 110 columns', () => {
  const running = { id: '1/3', action: 'running  ', current: 9, total: 9, hideCounts: true };
  assert.equal(progressBar(running, 120), `[${'='.repeat(50)}>] `);
  assert.equal(progressBar(running, 80), '');
  assert.equal(
    progressBar({ id: 'x', current: 2, total: 3, units: 'nodes' }, 200),
    `[${'='.repeat(33)}>${' '.repeat(17)}] 2/3 nodes`,
  );
});

test('a rollback: the rollback message and "rolling back update" (G.4)', async () => {
  const rolling = replicated(2, {
    UpdateStatus: { State: 'rollback_started', Message: 'manually requested rollback' },
  });
  const r = await replay(
    [
      { service: rolling, tasks: [] },
      { service: rolling, tasks: tasks(['running', 'starting']) },
      { service: rolling, tasks: tasks(['running', 'running']) },
    ],
    false,
    'prog',
  );
  assert.equal(
    r.text,
    'rollback: manually requested rollback\n' +
      'overall progress: rolling back update: 0 out of 2 tasks\n1/2:  \n2/2:  \n' +
      'overall progress: rolling back update: 0 out of 2 tasks\n' +
      'overall progress: rolling back update: 1 out of 2 tasks\n' +
      'overall progress: rolling back update: 2 out of 2 tasks\n' +
      verifyLines('prog'),
  );
});

test("a paused update ends the display with Docker's error", async () => {
  const r = await replay([
    {
      service: replicated(2, { UpdateStatus: { State: 'updating' } }),
      tasks: tasks(['running', 'starting']),
    },
    {
      service: replicated(2, {
        UpdateStatus: {
          State: 'paused',
          Message: 'update paused due to failure or early termination of task mz575nd7gavg1xgv2b5r9uw7j',
        },
      }),
      tasks: [],
    },
  ]);
  assert.equal(
    r.error?.message,
    'service update paused: update paused due to failure or early termination of task mz575nd7gavg1xgv2b5r9uw7j',
  );
});

test('task errors appear in their rows; a failure after convergence restarts the verification', async () => {
  const failing = tasks(['running', 'failed']);
  failing[1]!.Status!.Err = 'task: non-zero exit (1)';
  const r = await replay([
    { service: replicated(2), tasks: tasks(['running', 'running']) },
    { service: replicated(2), tasks: tasks(['running', 'running']) },
    { service: replicated(2), tasks: failing },
    { service: replicated(2), tasks: tasks(['running', 'running']) },
  ]);
  const lines = r.text.split('\n');
  assert.deepEqual(lines.slice(0, 7), [
    'overall progress: 0 out of 2 tasks',
    '1/2:  ',
    '2/2:  ',
    'overall progress: 2 out of 2 tasks',
    'verify: Waiting 5 seconds to verify that tasks are stable...',
    'verify: Waiting 5 seconds to verify that tasks are stable...',
    '2/2: task: non-zero exit (1)',
  ]);
  assert.equal(lines[7], 'overall progress: 1 out of 2 tasks');
  assert.equal(lines[8], 'verify: Detected task failure');
  assert.equal(truncError('x'.repeat(80)), 'x'.repeat(74) + '…');
});

test('a replicated job: active tasks, no verification, "job complete" (E.5)', async () => {
  const job = (index: number): Partial<Service> => ({
    ID: 'jobid',
    Spec: { Name: 'job', Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 3 } } },
    JobStatus: { JobIteration: { Index: index } },
  });
  const jobTasks = (states: string[]): Partial<Task>[] =>
    states.map((state, slot) => ({
      ID: `t${slot}`,
      Slot: slot,
      NodeID: NODE_ID,
      JobIteration: { Index: 1 },
      DesiredState: 'complete',
      Status: { State: state as Task['Status']['State'], Timestamp: '', Message: '' },
    }));
  const r = await replay(
    [
      { service: job(1), tasks: [] },
      { service: job(1), tasks: jobTasks(['running']) },
      { service: job(1), tasks: jobTasks(['complete', 'running']) },
      { service: job(1), tasks: jobTasks(['complete', 'complete', 'running']) },
      { service: job(1), tasks: jobTasks(['complete', 'complete', 'complete']) },
    ],
    false,
    'job',
  );
  assert.equal(
    r.text,
    'active tasks: 0 out of 1 tasks\n1/3:  \n2/3:  \n3/3:  \n' +
      'active tasks: 0 out of 1 tasks\n' +
      'active tasks: 1 out of 1 tasks\n'.repeat(3) +
      'active tasks: 0 out of 0 tasks\njob complete\n',
  );
});

test('a global service: one row per node, named by the node ID', async () => {
  const global: Partial<Service> = {
    ID: 'k00qs3xyn3e97oxq942bx9ocx',
    Spec: { Name: 'gsvc', Mode: { Global: {} } },
  };
  const one = (state: string): Partial<Task>[] => tasks([state]).map((t) => ({ ...t, Slot: 0 }));
  const r = await replay(
    [
      { service: global, tasks: [] },
      { service: global, tasks: one('assigned') },
      { service: global, tasks: one('running') },
    ],
    true,
    'gsvc',
  );
  assert.ok(r.text.includes('overall progress: waiting for new tasks'));
  assert.ok(r.text.includes(`l0pl6nytqwws: assigned  [======================>`));
  assert.ok(r.text.includes('overall progress: 1 out of 1 tasks'));
});

test('CA rotation rows count nodes with the new certificate and root', () => {
  const out: string[] = [];
  const desired = { TrustRoot: 'ROOT2', CertIssuerSubject: 'S2', CertIssuerPublicKey: 'K2' };
  const node = (tls: object): Node => ({ ID: 'n', Description: { TLSInfo: tls } }) as unknown as Node;
  const done = rootRotationUpdate(
    (u) => out.push(`${u.id}: ${u.action} ${u.current}/${u.total}`),
    desired,
    [node(desired), node({ TrustRoot: 'ROOT1', CertIssuerSubject: 'S2', CertIssuerPublicKey: 'K2' })],
    false,
  );
  assert.equal(done, false);
  assert.deepEqual(out.slice(1), ['  rotated TLS certificates:  2/2', '  rotated CA certificates:   1/2']);
  assert.match(out[0]!, /^desired root digest: sha256:[0-9a-f]{64} /);
});
