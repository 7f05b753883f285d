// What every fault test checks after it has hurt a daemon: it is still up, it answers within a second,
// the rest of the cluster keeps converging, and what was acknowledged before is still there. One
// definition, so every class of failure is held to the same standard.

import assert from 'node:assert/strict';
import { ShoalDaemon, waitFor, type ShoalDaemonOptions } from '../harness/index.js';
import { freePort } from '../harness/ports.js';

export const API = '/v1.41';

/** The API must answer within this long while a fault is going on (the bar). */
export const ANSWER_WITHIN_MS = 1_000;

interface ServiceRow {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Mode?: { Replicated?: { Replicas?: number } } } & Record<string, unknown>;
}

interface TaskRow {
  ID: string;
  DesiredState: string;
  Status: { State: string };
}

/** A one-node swarm on loopback: shoald started and `swarm init` done. */
export async function startSwarm(options: ShoalDaemonOptions = {}): Promise<ShoalDaemon> {
  const daemon = ShoalDaemon.onLoopback(options);
  await daemon.start();
  await daemon.apiOk('POST', `${API}/swarm/init`, {
    ListenAddr: `127.0.0.1:${await freePort()}`,
    AdvertiseAddr: '127.0.0.1',
  });
  return daemon;
}

/** A replicated service whose tasks run `sleep` from the host (the process executor). */
export async function createSleepService(daemon: ShoalDaemon, name: string, replicas = 1): Promise<string> {
  const created = await daemon.apiOk<{ ID: string }>('POST', `${API}/services/create`, {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '3600'] } },
    Mode: { Replicated: { Replicas: replicas } },
  });
  return created.ID;
}

/** Resolves once the daemon answers `GET /_ping` and `GET /services`, each within `ANSWER_WITHIN_MS`. */
export async function assertAnswering(daemon: ShoalDaemon, what = 'the API'): Promise<void> {
  assert.ok(daemon.running, `shoald exited (${what})\n${daemon.logTail(40)}`);
  for (const path of ['/_ping', `${API}/services`]) {
    const started = Date.now();
    const response = await daemon.api('GET', path);
    const took = Date.now() - started;
    assert.ok(response.status < 500, `${path} answered ${response.status}: ${response.text}`);
    assert.ok(took <= ANSWER_WITHIN_MS, `${path} took ${took} ms (${what})`);
  }
}

export async function runningTasks(daemon: ShoalDaemon, service: string): Promise<TaskRow[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
  const tasks = await daemon.apiOk<TaskRow[]>('GET', `${API}/tasks?filters=${filters}`);
  return tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
}

/** Waits until `service` has exactly `replicas` running tasks. */
export async function waitForRunning(
  daemon: ShoalDaemon,
  service: string,
  replicas: number,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(async () => (await runningTasks(daemon, service)).length, {
    until: (n) => n === replicas,
    timeoutMs,
    description: `${service} to have ${replicas} running tasks`,
  });
}

/**
 * Proves the control loops still work for everyone else: scales `service` to `replicas` and waits for
 * exactly that many running tasks.
 */
export async function assertConverges(
  daemon: ShoalDaemon,
  service: string,
  replicas: number,
  timeoutMs = 30_000,
): Promise<void> {
  const current = await daemon.apiOk<ServiceRow>('GET', `${API}/services/${service}`);
  const spec = structuredClone(current.Spec);
  spec.Mode = { Replicated: { Replicas: replicas } };
  await daemon.apiOk('POST', `${API}/services/${current.ID}/update?version=${current.Version.Index}`, spec);
  await waitForRunning(daemon, service, replicas, timeoutMs);
}

/** The daemon's error-level log lines mentioning `needle` (JSON lines; see src/daemon/logger.ts). */
export function errorLogLines(daemon: ShoalDaemon, needle: string): string[] {
  return daemon
    .logs()
    .split('\n')
    .filter((line) => line.includes('"level":"error"') && line.includes(needle));
}

/** How many cases a fuzzer runs: a bounded number in the test suite, many more with `npm run fuzz`. */
export function fuzzRuns(inSuite: number): number {
  const fromEnv = Number(process.env.SHOAL_FUZZ_RUNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : inSuite;
}
