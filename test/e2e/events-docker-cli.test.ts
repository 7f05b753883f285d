// Issue 9 (events) as a user would try it with the unmodified docker CLI: the scenario of
// scripts/dev/record-docker-reference.sh played against shoal, its swarm events compared with those a real
// Docker 20.10 engine emitted for it (test/e2e/reference/docker-20.10/events.jsonl); a live
// `docker events --filter type=service` following creates, updates and removals as they happen; replays
// with --since, --until closing the stream, Docker's error for a bad filter; and `shoal events` printing
// exactly what `docker events` prints.
//
// Synchronisation is on events and states, never on sleeps: the script's `sleep 1`s (there to let the
// last events land before `until`) are replaced by waiting for those events on a live stream and using
// the exact time of the last one as `until`.
//
// Normalisation for the comparison: object IDs become `<type>#<n>` in order of appearance, the node's name
// (its hostname: `vm` where the reference was recorded) becomes `<node>`, times are dropped (each is
// checked to lie in the window instead). What remains — the sequence of Type, Action, actor and
// attribute keys and values — must be equal. It is, with no allowance: one timing assumption is shared
// with the recording, see the comment at `service scale` in reference-scenario.ts.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dockerCli, ShoalDaemon } from '../harness/index.js';
import { dockerOk, playReferenceScenario } from './reference-scenario.js';

const REFERENCE = join(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../../test/e2e/reference/docker-20.10/events.jsonl',
);

interface Event {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
}

/** The exact `timeNano` of a JSON event line (JSON.parse would round it). */
function timeNano(line: string): bigint {
  const m = /"timeNano":(\d+)\}$/.exec(line);
  assert.ok(m, `no timeNano in ${line}`);
  return BigInt(m[1]!);
}

/** Unix nanoseconds as the `seconds.nanoseconds` the docker CLI passes through as it is. */
function unixArg(nanos: bigint): string {
  return `${nanos / 1_000_000_000n}.${String(nanos % 1_000_000_000n).padStart(9, '0')}`;
}

/** The time of a line in the docker CLI's text format (`2026-12-06T23:41:00.698000000Z service …`). */
function textLineTime(line: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})(Z|[+-]\d\d:\d\d) /.exec(line);
  assert.ok(m, `not an event line: ${line}`);
  return BigInt(Date.parse(m[1]! + m[3]!)) * 1_000_000n + BigInt(m[2]!);
}

/** Type, Action, actor and attributes, with IDs numbered per type in order of appearance and the node's name made generic. */
function normalise(lines: string[], nodeName: string): string[] {
  const ids = new Map<string, string>();
  const counts = new Map<string, number>();
  return lines.map((line) => {
    const e = JSON.parse(line) as Event;
    let id = ids.get(e.Actor.ID);
    if (!id) {
      const n = (counts.get(e.Type) ?? 0) + 1;
      counts.set(e.Type, n);
      id = `${e.Type}#${n}`;
      ids.set(e.Actor.ID, id);
    }
    const attributes = Object.entries(e.Actor.Attributes)
      .map(([k, v]) => `${k}=${k === 'name' && e.Type === 'node' && v === nodeName ? '<node>' : v}`)
      .join(', ');
    return `${e.scope} ${e.Type} ${e.Action} ${id} (${attributes})`;
  });
}

/** A long-running `docker events` whose output is read line by line as it comes. */
class EventStream {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private partial = '';
  private waiters: (() => void)[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(daemon: ShoalDaemon, args: string[]) {
    this.child = spawn(dockerCli(), ['events', ...args], {
      env: {
        ...process.env,
        NODE_TEST_CONTEXT: undefined,
        DOCKER_HOST: daemon.apiHost,
        DOCKER_CONFIG: join(daemon.workDir, 'docker-config'),
        DOCKER_CLI_HINTS: 'false',
        DOCKER_CONTEXT: undefined,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.partial += chunk;
      const parts = this.partial.split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.wake();
        resolve(code);
      }),
    );
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The first line (from index `from`) matching `pattern`, as soon as it is printed. */
  async waitForLine(pattern: RegExp, what: string, from = 0, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find((l) => pattern.test(l));
      if (found !== undefined) return found;
      if (this.child.exitCode !== null)
        throw new Error(`docker events exited before ${what}: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event for ${what}; seen:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGINT');
  }
}

describe('events with the docker CLI', { timeout: 300_000 }, () => {
  let daemon: ShoalDaemon;
  const streams: EventStream[] = [];
  /** The scenario's window: `since` taken before swarm init (as the script does), `until` = its last event. */
  let since: number;
  let until: bigint;

  before(async () => {
    dockerCli(); // these tests run the real docker CLI: fail here, at once, when it is missing
    daemon = ShoalDaemon.onLoopback();
    await daemon.start();
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(async () => {
    for (const s of streams) s.stop();
    await daemon?.destroy();
  });

  const docker = (...args: string[]): Promise<string> => dockerOk(daemon, ...args);
  const follow = (...args: string[]): EventStream => {
    const s = new EventStream(daemon, args);
    streams.push(s);
    return s;
  };

  it('has no swarm events outside a swarm', async () => {
    const { stdout, stderr, code } = await daemon.docker(['events', '--since', '1h', '--until', '0s']);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, '');
  });

  it('emits the events Docker 20.10 emitted for the reference scenario', async (t) => {
    const started = Date.now();
    since = Math.floor(Date.now() / 1000);
    // Everything, to wait on (in place of the script's sleeps); from `since`, so that nothing is missed
    // however late the stream is established.
    let all!: EventStream;
    await playReferenceScenario(daemon, {
      afterInit: () => {
        all = follow('--since', String(since), '--filter', 'scope=swarm', '--format', '{{json .}}');
      },
    });
    await all.waitForLine(/"availability\.new":"active"/, 'the node active again');
    await docker('service', 'rm', 'fails');
    const last = await all.waitForLine(/"Action":"remove".*"name":"fails"/, 'fails removed');
    until = timeNano(last);

    const replay = await docker(
      'events',
      '--since',
      String(since),
      '--until',
      unixArg(until),
      '--filter',
      'scope=swarm',
      '--format',
      '{{json .}}',
    );
    const got = replay.trimEnd().split('\n');
    const reference = readFileSync(REFERENCE, 'utf8').trimEnd().split('\n');
    const ours = normalise(got, hostname());
    const theirs = normalise(reference, 'vm');
    const same = ours.filter((line, i) => line === theirs[i]).length;
    t.diagnostic(
      `shoal emitted ${ours.length} events, Docker 20.10 ${theirs.length}; ${same} identical in sequence ` +
        `(scenario took ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    assert.deepEqual(ours, theirs);
    // The live stream saw the same events, in the same order.
    assert.deepEqual(all.lines.slice(0, got.length), got);
    // Times: in the window, `time` the whole seconds of `timeNano`.
    for (const line of got) {
      const nanos = timeNano(line);
      assert.ok(nanos >= BigInt(since) * 1_000_000_000n && nanos <= until, line);
      assert.equal(BigInt((JSON.parse(line) as Event).time), nanos / 1_000_000_000n);
    }
  });

  it('follows service creates, updates and removals live with --filter type=service', async () => {
    // From now on (a replay, then live): the first event is not missed while the stream is being set up.
    const services = follow('--filter', 'type=service', '--since', String(Math.floor(Date.now() / 1000)));
    const id = (
      await docker(
        'service',
        'create',
        '-d',
        '--no-resolve-image',
        '--name',
        'evsvc',
        'busybox:latest',
        'sleep',
        '3601',
      )
    ).trim();
    const create = await services.waitForLine(
      new RegExp(` service create ${id} \\(name=evsvc\\)$`),
      'evsvc created',
    );
    await docker('service', 'scale', '-d', 'evsvc=2');
    await services.waitForLine(
      new RegExp(` service update ${id} \\(name=evsvc, replicas\\.new=2, replicas\\.old=1\\)$`),
      'evsvc scaled',
    );
    await docker('service', 'update', '-d', '--no-resolve-image', '--image', 'busybox:1.36', 'evsvc');
    await services.waitForLine(
      new RegExp(
        ` service update ${id} \\(image\\.new=busybox:1\\.36, image\\.old=busybox:latest, name=evsvc\\)$`,
      ),
      'evsvc image changed',
    );
    await docker('node', 'update', '--label-add', 'live=1', 'self');
    await docker('service', 'rm', 'evsvc');
    const remove = await services.waitForLine(
      new RegExp(` service remove ${id} \\(name=evsvc\\)$`),
      'evsvc removed',
    );
    // Text lines as the docker CLI prints them; no node event got through the filter.
    for (const line of services.lines) {
      assert.match(
        line,
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) service (create|update|remove) \S+ \(.*name=/,
      );
    }
    const seen = services.lines.slice(services.lines.indexOf(create), services.lines.indexOf(remove) + 1);

    // --since replays exactly what was streamed; the command ends by itself at --until.
    const replayed = await docker(
      'events',
      '--filter',
      'type=service',
      '--since',
      unixArg(textLineTime(create)),
      '--until',
      unixArg(textLineTime(remove)),
    );
    assert.deepEqual(replayed.trimEnd().split('\n'), seen);
    services.stop();
  });

  it('streams until a future --until, then ends by itself', async () => {
    const sinceAt = String(Math.floor(Date.now() / 1000));
    const untilAt = ((Date.now() + 3000) / 1000).toFixed(3);
    const stream = follow('--filter', 'type=service', '--since', sinceAt, '--until', untilAt);
    const id = (
      await docker(
        'service',
        'create',
        '-d',
        '--no-resolve-image',
        '--name',
        'brief',
        'busybox:latest',
        'sleep',
        '3602',
      )
    ).trim();
    await stream.waitForLine(new RegExp(` service create ${id} \\(name=brief\\)$`), 'brief created');
    assert.equal(await stream.exited, 0, stream.stderr);
    assert.ok(Date.now() / 1000 >= Number(untilAt), 'ended at --until, not before');
    await docker('service', 'rm', 'brief');
  });

  it("refuses bad filters with Docker's errors", async () => {
    const unknown = await daemon.docker(['events', '--filter', 'foo=bar', '--until', '0s']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "Error response from daemon: Invalid filter 'foo'\n");
    const malformed = await daemon.docker(['events', '--filter', 'foo']);
    assert.equal(malformed.code, 125);
    assert.match(
      malformed.stderr,
      /^invalid argument "foo" for "-f, --filter" flag: bad format of filter \(expected name=value\)\n/,
    );
    const order = await daemon.docker(['events', '--since', '10s', '--until', '20s']);
    assert.equal(order.code, 1);
    assert.match(
      order.stderr,
      /^Error response from daemon: `since` time \(\d+\) cannot be after `until` time \(\d+\)\n$/,
    );
    const shoal = await daemon.cli(['events', '--filter', 'foo=bar', '--until', '0s']);
    assert.equal(shoal.code, 1);
    assert.equal(shoal.stderr, "Error response from daemon: Invalid filter 'foo'\n");
  });

  it('shoal events prints what docker events prints', async () => {
    for (const extra of [
      [],
      ['--format', '{{json .}}'],
      ['--filter', 'type=node', '--format', '{{.Action}} {{.Actor.Attributes.name}}'],
    ]) {
      const args = ['events', '--since', String(since), '--until', unixArg(until), ...extra];
      const theirs = await daemon.docker(args);
      const ours = await daemon.cli(args);
      assert.equal(theirs.code, 0, theirs.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.ok(theirs.stdout.length > 0);
      assert.equal(ours.stdout, theirs.stdout, extra.join(' '));
    }
  });
});
