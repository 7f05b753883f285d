// Issue 5 as a user would try it with the unmodified docker CLI: rolling updates batch by batch,
// start-first without a dip, failure actions, rollback, and health checks gating what counts as up —
// on each executor: the process executor, and the docker executor on a real dockerd (issue 10), where the
// health checks are the engine's own. On docker, services run with `--init` so that a stop signal ends
// their `sleep` at once, as on the process executor (a PID 1 without init ignores SIGTERM and is killed at
// the end of the grace period), and the flag file of the late health check is bind-mounted in.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  dockerCli,
  dockerdMissing,
  eventually,
  ShoalDaemon,
  TestDockerd,
  waitFor,
} from '../harness/index.js';
import { freePort } from '../harness/ports.js';

interface TaskRow {
  ID: string;
  Slot?: number;
  DesiredState: string;
  CreatedAt: string;
  Spec: { ContainerSpec?: { Env?: string[]; Args?: string[] } };
  Status: { State: string; Err?: string; Timestamp: string };
}

interface ServiceRow {
  Spec: { TaskTemplate: { ContainerSpec: { Env?: string[]; Args?: string[] } } };
  PreviousSpec?: object;
  UpdateStatus?: { State: string; Message: string };
}

for (const executor of ['process', 'docker'] as const) {
  describe(
    `rolling updates with the docker CLI (${executor} executor)`,
    { timeout: 600_000, skip: executor === 'docker' && dockerdMissing() },
    () => {
      let daemon: ShoalDaemon;
      let engine: TestDockerd | undefined;
      let scratch: string;
      /** What `service create` needs on this executor, before the image. */
      const createFlags = executor === 'docker' ? ['--init'] : [];

      before(async () => {
        dockerCli(); // these tests run the real docker CLI: fail here, at once, when it is missing
        scratch = mkdtempSync(join(tmpdir(), 'shoal-e2e-'));
        if (executor === 'docker') {
          engine = await TestDockerd.onLoopback();
          await engine.importBusybox();
        }
        daemon = ShoalDaemon.onLoopback({
          extraArgs: engine
            ? ['--executor', 'docker', '--engine-host', engine.apiHost]
            : ['--executor', 'process'],
        });
        await daemon.start();
        await daemon.apiOk('POST', '/v1.41/swarm/init', {
          ListenAddr: `127.0.0.1:${await freePort()}`,
          AdvertiseAddr: '127.0.0.1',
        });
      });
      afterEach((t) => daemon.reportOnFailure(t));
      after(async () => {
        await daemon?.destroy();
        await engine?.destroy();
        rmSync(scratch, { recursive: true, force: true });
      });

      const docker = async (...args: string[]): Promise<string> => {
        const { stdout, stderr, code } = await daemon.docker(args, { timeoutMs: 120_000 });
        assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
        return stdout;
      };
      const tasks = (service: string): Promise<TaskRow[]> =>
        daemon.apiOk<TaskRow[]>(
          'GET',
          `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
        );
      const service = (name: string): Promise<ServiceRow> =>
        daemon.apiOk<ServiceRow>('GET', `/v1.41/services/${name}`);
      const envOf = (t: TaskRow): string => (t.Spec.ContainerSpec?.Env ?? []).join(',');

      /** Samples the service's tasks every 20 ms while `action` runs, until `done` holds. */
      async function sample(name: string, action: () => Promise<unknown>, done: (ts: TaskRow[]) => boolean) {
        const samples: { at: number; tasks: TaskRow[] }[] = [];
        const started = Date.now();
        const run = action();
        for (;;) {
          const ts = await tasks(name);
          samples.push({ at: Date.now() - started, tasks: ts });
          if (done(ts)) break;
          if (Date.now() - started > 120_000) throw new Error('sampling timed out');
          await new Promise((r) => setTimeout(r, 20));
        }
        await run;
        return samples;
      }

      it('replaces two tasks at a time with the delay between batches', async () => {
        await docker(
          'service',
          'create',
          ...createFlags,
          '--name',
          'batches',
          '--replicas',
          '10',
          '--update-parallelism',
          '2',
          '--update-delay',
          '1s',
          '--env',
          'V=1',
          'busybox',
          'sleep',
          '3700',
        );
        const samples = await sample(
          'batches',
          () => docker('service', 'update', '--env-add', 'V=2', 'batches'),
          (ts) =>
            ts.filter(
              (t) => t.DesiredState === 'running' && t.Status.State === 'running' && envOf(t) === 'V=2',
            ).length === 10,
        );
        // When did each slot's new task first appear? Slots must appear in pairs, a second or more apart.
        const firstSeen = new Map<number, number>();
        for (const s of samples) {
          for (const t of s.tasks)
            if (envOf(t) === 'V=2' && !firstSeen.has(t.Slot!)) firstSeen.set(t.Slot!, s.at);
        }
        assert.equal(firstSeen.size, 10);
        const starts = [...firstSeen.values()].sort((a, b) => a - b);
        const batches: number[][] = [];
        for (const at of starts) {
          const last = batches.at(-1);
          if (last && at - last[0]! < 500) last.push(at);
          else batches.push([at]);
        }
        assert.deepEqual(
          batches.map((b) => b.length),
          [2, 2, 2, 2, 2],
          `slot start times ${starts.join(', ')}`,
        );
        for (let i = 1; i < batches.length; i++) {
          assert.ok(
            batches[i]![0]! - batches[i - 1]![0]! >= 1000,
            `batch ${i} started ${batches[i]![0]! - batches[i - 1]![0]!} ms after the previous one`,
          );
        }
        // Never more than two slots in flight (old stopped or stopping, new not yet running).
        for (const s of samples) {
          const inFlight = new Set(
            s.tasks.filter((t) => envOf(t) === 'V=2' && t.Status.State !== 'running').map((t) => t.Slot),
          );
          assert.ok(inFlight.size <= 2, `${inFlight.size} slots in flight at ${s.at} ms`);
        }
        // The update completes one monitor period after its last task came up.
        await eventually(
          async () => assert.equal((await service('batches')).UpdateStatus?.State, 'completed'),
          {
            timeoutMs: 15_000,
            description: 'update completed',
          },
        );
      });

      it('keeps all replicas running during a start-first update', async () => {
        await docker(
          'service',
          'create',
          ...createFlags,
          '--name',
          'nodip',
          '--replicas',
          '10',
          '--update-parallelism',
          '3',
          '--update-order',
          'start-first',
          '--env',
          'V=1',
          'busybox',
          'sleep',
          '3701',
        );
        const samples = await sample(
          'nodip',
          () => docker('service', 'update', '--env-add', 'V=2', 'nodip'),
          (ts) =>
            ts.filter(
              (t) => t.DesiredState === 'running' && t.Status.State === 'running' && envOf(t) === 'V=2',
            ).length === 10,
        );
        for (const s of samples) {
          const running = s.tasks.filter((t) => t.Status.State === 'running').length;
          assert.ok(running >= 10, `only ${running} running at ${s.at} ms`);
        }
      });

      it("pauses a failing update with Docker's message", async () => {
        await docker(
          'service',
          'create',
          ...createFlags,
          '--name',
          'pauses',
          '--replicas',
          '3',
          'busybox',
          'sleep',
          '3702',
        );
        await docker('service', 'update', '-d', '--args', 'sh -c "exit 1"', 'pauses');
        await eventually(
          async () => {
            const s = await service('pauses');
            assert.equal(s.UpdateStatus?.State, 'paused');
            assert.match(
              s.UpdateStatus?.Message ?? '',
              /^update paused due to failure or early termination of task [0-9a-z]{25}$/,
            );
          },
          { timeoutMs: 30_000, description: 'paused' },
        );
        const pretty = await docker('service', 'inspect', '--pretty', 'pauses');
        assert.match(pretty, /UpdateStatus:\n State:\s+paused\n/);
      });

      it('rolls back by itself with --update-failure-action rollback', async () => {
        await docker(
          'service',
          'create',
          ...createFlags,
          '--name',
          'rollsback',
          '--replicas',
          '3',
          '--update-failure-action',
          'rollback',
          '--env',
          'V=1',
          'busybox',
          'sleep',
          '3703',
        );
        await docker('service', 'update', '-d', '--env-add', 'V=2', '--args', 'sh -c "exit 1"', 'rollsback');
        await eventually(
          async () => {
            const s = await service('rollsback');
            assert.equal(s.UpdateStatus?.State, 'rollback_completed');
            assert.equal(s.PreviousSpec, undefined, 'an automatic rollback clears PreviousSpec');
            const current = (await tasks('rollsback')).filter((t) => t.DesiredState === 'running');
            assert.equal(current.length, 3);
            assert.ok(current.every((t) => envOf(t) === 'V=1' && t.Status.State === 'running'));
          },
          { timeoutMs: 60_000, description: 'rollback_completed with the old spec running' },
        );
      });

      it('goes on past failures with continue and a failure ratio of 0.5', async () => {
        await docker(
          'service',
          'create',
          ...createFlags,
          '--name',
          'goeson',
          '--replicas',
          '4',
          '--update-failure-action',
          'continue',
          '--update-max-failure-ratio',
          '0.5',
          '--restart-condition',
          'none',
          'busybox',
          'sleep',
          '3704',
        );
        await docker('service', 'update', '-d', '--args', 'sh -c "exit 1"', 'goeson');
        await eventually(
          async () => {
            const s = await service('goeson');
            assert.equal(s.UpdateStatus?.State, 'completed');
            const replaced = (await tasks('goeson')).filter((t) =>
              (t.Spec.ContainerSpec?.Args ?? []).includes('exit 1'),
            );
            assert.equal(new Set(replaced.map((t) => t.Slot)).size, 4, 'every slot was updated');
          },
          { timeoutMs: 60_000, description: 'completed despite failures' },
        );
      });

      it('toggles between two specs with service rollback', async () => {
        await docker(
          'service',
          'create',
          ...createFlags,
          '--name',
          'toggle',
          '--env',
          'V=1',
          'busybox',
          'sleep',
          '3705',
        );
        await docker('service', 'update', '--env-add', 'V=2', 'toggle');
        const first = await docker('service', 'rollback', 'toggle');
        assert.match(first, /rollback: manually requested rollback/);
        assert.deepEqual((await service('toggle')).Spec.TaskTemplate.ContainerSpec.Env, ['V=1']);
        await docker('service', 'rollback', 'toggle');
        assert.deepEqual((await service('toggle')).Spec.TaskTemplate.ContainerSpec.Env, ['V=2']);
        assert.equal((await service('toggle')).UpdateStatus?.State, 'rollback_completed');
      });

      it('keeps a task whose health check never passes from running', async () => {
        await docker(
          'service',
          'create',
          ...createFlags,
          '-d',
          '--name',
          'sick',
          '--health-cmd',
          'false',
          '--health-interval',
          '500ms',
          '--health-retries',
          '2',
          '--restart-delay',
          '200ms',
          'busybox',
          'sleep',
          '3706',
        );
        // Sampled until two tasks have failed their health check: each went through the whole of its life
        // (starting, then failed where a healthy one would have been running), and was replaced.
        const seen = new Set<string>();
        const failed = await waitFor(
          async () => {
            const all = await tasks('sick');
            for (const t of all) seen.add(t.Status.State);
            return all.filter((t) => t.Status.State === 'failed');
          },
          { until: (f) => f.length >= 2, intervalMs: 50, timeoutMs: 30_000, description: 'two failed tasks' },
        );
        assert.ok(!seen.has('running'), `states seen: ${[...seen].join(', ')}`);
        assert.ok(seen.has('starting'));
        for (const t of failed) assert.match(t.Status.Err ?? '', /unhealthy container/);
      });

      it('replaces a task whose health check starts failing later', async () => {
        const flag = join(scratch, 'sick-later');
        await docker(
          'service',
          'create',
          ...createFlags,
          '--name',
          'laterSick',
          '--health-cmd',
          `test ! -e ${flag}`,
          '--health-interval',
          '300ms',
          '--health-retries',
          '1',
          '--restart-delay',
          '200ms',
          ...(executor === 'docker' ? ['--mount', `type=bind,source=${scratch},target=${scratch}`] : []),
          'busybox',
          'sleep',
          '3707',
        );
        const [healthy] = await tasks('laterSick');
        assert.equal(healthy?.Status.State, 'running');
        writeFileSync(flag, '');
        await eventually(
          async () => {
            const all = await tasks('laterSick');
            assert.ok(
              all.some((t) => t.ID === healthy!.ID && t.Status.State === 'failed'),
              'the unhealthy task failed',
            );
            assert.ok(
              all.some((t) => t.ID !== healthy!.ID),
              'a replacement was created',
            );
          },
          { timeoutMs: 15_000, description: 'replacement after turning unhealthy' },
        );
        assert.ok(existsSync(flag));
      });

      describe("bad input gets Docker's answers", () => {
        const fails = async (args: string[], code: number, stderr: RegExp): Promise<void> => {
          const res = await daemon.docker(args);
          assert.equal(res.code, code, `${res.stdout}\n${res.stderr}`);
          assert.match(res.stderr, stderr);
        };
        it('negative parallelism', () =>
          fails(
            ['service', 'update', '--update-parallelism', '-1', 'toggle'],
            125,
            /invalid argument "-1" for "--update-parallelism" flag: strconv.ParseUint: parsing "-1": invalid syntax/,
          ));
        it('a failure ratio outside 0..1', () =>
          fails(
            ['service', 'update', '-d', '--update-max-failure-ratio', '2', 'toggle'],
            1,
            /TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1/,
          ));
        it('an unknown failure action', () =>
          fails(
            ['service', 'update', '-d', '--update-failure-action', 'bogus', 'toggle'],
            1,
            /Error response from daemon: unrecognized update failure action bogus/,
          ));
        it('an unknown order', () =>
          fails(
            ['service', 'update', '-d', '--update-order', 'bogus', 'toggle'],
            1,
            /Error response from daemon: unrecognized update order bogus/,
          ));
        it('a rollback without a previous spec', async () => {
          await docker(
            'service',
            'create',
            ...createFlags,
            '-d',
            '--name',
            'fresh',
            'busybox',
            'sleep',
            '3708',
          );
          await fails(
            ['service', 'rollback', 'fresh'],
            1,
            /Error response from daemon: rpc error: code = FailedPrecondition desc = service [0-9a-z]{25} does not have a previous spec/,
          );
        });
        it('an update of a removed service', async () => {
          await docker('service', 'rm', 'fresh');
          await fails(
            ['service', 'update', '-d', '--env-add', 'A=1', 'fresh'],
            1,
            /Error response from daemon: service fresh not found/,
          );
        });
      });
    },
  );
}
