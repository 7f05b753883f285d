// Task output captured by the runner: timestamps, streams, tail, since/until, follow.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunnerClient } from '../../../src/agent/executor/process/client.js';
import { parseTimestampMillis } from '../../../src/agent/executor/process/timestamps.js';
import { collectLogs, harness, makeTask, run, text, type Harness } from './helpers.js';

describe('process executor: logs', { timeout: 60_000 }, () => {
  let h: Harness;
  before(() => {
    h = harness();
  });
  after(() => h.cleanup());

  const script = 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; sleep 0.01; done';

  it('captures stdout and stderr line by line with RFC 3339 nanosecond timestamps', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['sh', '-c', script] }));
    await run(controller);
    await controller.wait();
    const lines = await collectLogs(controller);
    assert.deepEqual(
      lines.filter((l) => l.stream === 'stdout').map((l) => l.data.toString()),
      ['out1\n', 'out2\n', 'out3\n', 'out4\n', 'out5\n'],
    );
    assert.deepEqual(text(await collectLogs(controller, { stdout: false })), [
      'err1\n',
      'err2\n',
      'err3\n',
      'err4\n',
      'err5\n',
    ]);
    for (const line of lines) assert.match(line.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const stamps = lines.map((l) => l.timestamp);
    assert.deepEqual(stamps, [...stamps].sort(), 'records are in capture order');
    assert.ok(Math.abs(parseTimestampMillis(stamps[0]!) - Date.now()) < 60_000);
  });

  it('returns the last N lines with tail, and lines in a time window with since/until', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['sh', '-c', script] }));
    await run(controller);
    await controller.wait();
    const all = await collectLogs(controller);
    assert.equal(all.length, 10);
    assert.deepEqual(await collectLogs(controller, { tail: 3 }), all.slice(-3));
    assert.deepEqual(await collectLogs(controller, { tail: 0 }), []);
    assert.deepEqual(await collectLogs(controller, { tail: 100 }), all);
    // Lines of the same read share a timestamp, so cut the window at whole milliseconds between lines.
    const cut = all.findIndex(
      (l, i) => i > 0 && parseTimestampMillis(l.timestamp) > parseTimestampMillis(all[0]!.timestamp),
    );
    assert.ok(cut > 0);
    const since = parseTimestampMillis(all[cut]!.timestamp);
    assert.deepEqual(
      await collectLogs(controller, { since }),
      all.filter((l) => parseTimestampMillis(l.timestamp) >= since),
    );
    assert.deepEqual(
      await collectLogs(controller, { until: since }),
      all.filter((l) => parseTimestampMillis(l.timestamp) < since),
    );
  });

  it('keeps a last line without newline', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['printf', 'no newline'] }));
    await run(controller);
    await controller.wait();
    assert.deepEqual(text(await collectLogs(controller)), ['no newline']);
  });

  it('follows output as it comes and ends when the task exits', async () => {
    // The task waits for a file the test creates only once it has read `a`: if lines were not streamed
    // as they come, the task would never go on (and the follow would be cut by the deadline below).
    const gate = join(mkdtempSync(join(tmpdir(), 'shoal-logs-')), 'go');
    const controller = h.executor.controller(
      makeTask({ Command: ['sh', '-c', `echo a; while [ ! -e ${gate} ]; do sleep 0.02; done; echo b`] }),
    );
    await run(controller);
    const deadline = AbortSignal.timeout(20_000);
    const lines: string[] = [];
    for await (const line of controller.logs({ follow: true, stdout: true, stderr: true }, deadline)) {
      lines.push(line.data.toString());
      if (lines.length === 1) writeFileSync(gate, '');
    }
    assert.deepEqual(lines, ['a\n', 'b\n'], 'both lines, and the follow ended with the task');
    assert.ok(!deadline.aborted, 'the follow ended because the task exited, not by the deadline');
    rmSync(dirname(gate), { recursive: true, force: true });
  });

  it('stops following when aborted', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['sh', '-c', 'echo x; exec sleep 1000'] }));
    await run(controller);
    const abort = new AbortController();
    const lines: string[] = [];
    for await (const line of controller.logs(
      { follow: true, stdout: true, stderr: true, tail: 10 },
      abort.signal,
    )) {
      lines.push(line.data.toString());
      abort.abort();
    }
    assert.deepEqual(lines, ['x\n']);
    await controller.terminate();
  });

  it('follows a task that has not started yet from its start', async (t) => {
    const task = makeTask({ Command: ['sh', '-c', 'echo early'] });
    const controller = h.executor.controller(task);
    await controller.prepare();
    // The follower first asks the runner about the task; told there is none yet, it waits for the start.
    // Watch for that answer, so that the task starts only once the follower knows it has not.
    let toldNotStarted!: () => void;
    const followerWaits = new Promise<void>((resolve) => (toldNotStarted = resolve));
    const request = RunnerClient.prototype.request;
    t.mock.method(
      RunnerClient.prototype,
      'request',
      async function (this: RunnerClient, ...args: Parameters<RunnerClient['request']>) {
        const answer: unknown = await request.apply(this, args);
        if (args[0] === 'inspect' && (args[1] as { taskId: string }).taskId === task.ID && !answer) {
          toldNotStarted();
        }
        return answer;
      },
    );
    const following = collectLogs(controller, { follow: true });
    await followerWaits;
    await controller.start();
    assert.deepEqual(text(await following), ['early\n']);
  });
});
