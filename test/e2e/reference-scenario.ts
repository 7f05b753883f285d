// The scenario of scripts/dev/record-docker-reference.sh, played with the real docker CLI against a shoald:
// the reference in test/e2e/reference/docker-20.10/ was recorded from a real Docker 20.10 engine with the
// same commands. Shared by the tests that compare shoal with that recording (events-docker-cli.test.ts,
// docker-json.test.ts).
//
// It plays the script from `swarm init` up to the last `docker node update`, where the script takes its
// snapshots (inspect output) and then removes `fails` (events). Synchronisation is on states, never on
// sleeps: each `wait_for` of the script becomes a wait on `docker service ps`, with the same condition.

import assert from 'node:assert/strict';
import type { ShoalDaemon } from '../harness/index.js';
import { freePort, waitFor } from '../harness/index.js';

export interface ReferenceScenario {
  /** The node's ID (`docker node ls -q`). */
  node: string;
}

export interface ReferenceScenarioOptions {
  /** Called right after `swarm init` (e.g. to start following events). */
  afterInit?: () => void | Promise<void>;
}

/** Runs a docker command against the daemon and returns its stdout; a failure fails the test. */
export async function dockerOk(daemon: ShoalDaemon, ...args: string[]): Promise<string> {
  const { stdout, stderr, code } = await daemon.docker(args, { timeoutMs: 120_000 });
  assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
  return stdout;
}

const count = (text: string, pattern: RegExp): number =>
  text.split('\n').filter((l) => pattern.test(l)).length;

/**
 * `swarm init` (advertising 127.0.0.1, on a free cluster port: other test daemons may hold 2377), three
 * services — `web` (2 replicas, a label, an env), `job` (a replicated job), `fails` (exits 3, restart
 * condition none) — `web` updated (`--env-add B=2`) and scaled to 1, the node labelled, paused and made
 * active again.
 */
export async function playReferenceScenario(
  daemon: ShoalDaemon,
  options: ReferenceScenarioOptions = {},
): Promise<ReferenceScenario> {
  const docker = (...args: string[]): Promise<string> => dockerOk(daemon, ...args);
  const converge = (what: string, check: () => Promise<boolean>): Promise<boolean> =>
    waitFor(check, { timeoutMs: 60_000, intervalMs: 100, description: what });

  await docker(
    'swarm',
    'init',
    '--advertise-addr',
    '127.0.0.1',
    '--listen-addr',
    `127.0.0.1:${await freePort()}`,
  );
  await options.afterInit?.();
  const node = (await docker('node', 'ls', '-q')).trim();

  await docker(
    'service',
    'create',
    '-d',
    '--no-resolve-image',
    '--name',
    'web',
    '--replicas',
    '2',
    '--label',
    'team=a',
    '--env',
    'A=1',
    'busybox:latest',
    'sleep',
    '3600',
  );
  await converge(
    'web running',
    async () =>
      count(
        await docker(
          'service',
          'ps',
          'web',
          '--filter',
          'desired-state=running',
          '--format',
          '{{.CurrentState}}',
        ),
        /^Running/,
      ) === 2,
  );
  await docker(
    'service',
    'create',
    '-d',
    '--no-resolve-image',
    '--name',
    'job',
    '--mode',
    'replicated-job',
    'busybox:latest',
    'true',
  );
  await converge('job complete', async () =>
    /Complete/.test(await docker('service', 'ps', 'job', '--format', '{{.CurrentState}}')),
  );
  await docker(
    'service',
    'create',
    '-d',
    '--no-resolve-image',
    '--name',
    'fails',
    '--restart-condition',
    'none',
    'busybox:latest',
    'sh',
    '-c',
    'exit 3',
  );
  await converge('fails failed', async () =>
    /Failed/.test(await docker('service', 'ps', 'fails', '--format', '{{.CurrentState}}')),
  );
  await docker('service', 'update', '-d', '--env-add', 'B=2', 'web');
  await converge('web updated', async () => {
    const ps = await docker('service', 'ps', 'web', '--format', '{{.DesiredState}} {{.CurrentState}}');
    return count(ps, /^Shutdown Shutdown/) === 2 && count(ps, /^Running Running/) === 2;
  });
  // The update is "completed" one monitor period (5 s) after its last task came up. The recording scaled
  // within that period (its `sleep`, PID 1 of a container, ignores SIGTERM: each old task took the 10 s
  // grace to stop, and the scale came 23 s after the update, as the last new task had just come up), and
  // so does this scenario (the scale follows at once). The scale clears the update status (a new spec),
  // so there is no updatestate=completed event and no UpdateStatus in `service inspect`.
  await docker('service', 'scale', '-d', 'web=1');
  await converge(
    'web scaled',
    async () =>
      (await docker('service', 'ps', 'web', '--filter', 'desired-state=running', '-q')).trim().split('\n')
        .length === 1,
  );
  await docker('node', 'update', '--label-add', 'zone=a', node);
  await docker('node', 'update', '--availability', 'pause', node);
  await docker('node', 'update', '--availability', 'active', node);
  return { node };
}
