import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LogLine, LogOptions } from '../../../src/agent/executor/executor.js';
import { encodeLogRecord } from '../../../src/agent/executor/process/logformat.js';
import { readTaskLog } from '../../../src/agent/executor/process/logreader.js';
import { formatMillis } from '../../../src/agent/executor/process/timestamps.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-logreader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const BASE = Date.parse('2024-05-01T12:00:00Z');
const record = (i: number, stream: 'stdout' | 'stderr' = i % 2 ? 'stderr' : 'stdout'): string =>
  encodeLogRecord(stream, formatMillis(BASE + i), Buffer.from(`line ${i} ${'x'.repeat(100)}\n`));

function logFile(name: string, count: number): string {
  const path = join(dir, name);
  writeFileSync(path, Array.from({ length: count }, (_, i) => record(i)).join(''));
  return path;
}

async function read(
  path: string,
  options: Partial<LogOptions>,
  finished: Promise<unknown> = Promise.resolve(),
) {
  const lines: LogLine[] = [];
  const full = { follow: false, stdout: true, stderr: true, ...options };
  for await (const line of readTaskLog(path, full, new AbortController().signal, finished)) lines.push(line);
  return lines.map((line) => Number(/^line (\d+)/.exec(line.data.toString())?.[1]));
}

/**
 * Whether this process has an inotify watch on `path` (fs.watch on Linux): /proc/self/fdinfo of each
 * inotify descriptor lists its watches with their inode numbers (hexadecimal).
 */
function isWatched(path: string): boolean {
  const inode = statSync(path).ino.toString(16);
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue;
      const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      if (new RegExp(`^inotify wd:\\d+ ino:${inode} `, 'm').test(info)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** Polls `condition` (every 5 ms) until it holds; fails after 10 s. */
async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('readTaskLog', () => {
  const big = logFile('big.jsonl', 3000); // several read chunks

  it('reads every record in order', async () => {
    assert.deepEqual(
      await read(big, {}),
      Array.from({ length: 3000 }, (_, i) => i),
    );
  });

  it('tails across chunk boundaries, counting both streams', async () => {
    assert.deepEqual(await read(big, { tail: 3 }), [2997, 2998, 2999]);
    assert.deepEqual(await read(big, { tail: 3, stderr: false }), [2998]);
    assert.equal((await read(big, { tail: 1000 })).length, 1000);
  });

  it('filters by time and stream', async () => {
    assert.deepEqual(await read(big, { since: BASE + 2995 }), [2995, 2996, 2997, 2998, 2999]);
    assert.deepEqual(await read(big, { until: BASE + 3 }), [0, 1, 2]);
    assert.deepEqual(await read(big, { until: BASE + 6, stdout: false }), [1, 3, 5]);
  });

  it('ignores a record still being written', async () => {
    const path = logFile('partial.jsonl', 2);
    appendFileSync(path, record(2).slice(0, 20));
    assert.deepEqual(await read(path, {}), [0, 1]);
    assert.deepEqual(await read(path, { tail: 1 }), [1]);
  });

  it('follows appended records until the task is finished', { timeout: 30_000 }, async () => {
    const path = logFile('follow.jsonl', 1);
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const options = { follow: true, stdout: true, stderr: true };
    const lines = readTaskLog(path, options, new AbortController().signal, finished);
    const numberOf = (line: IteratorResult<LogLine>): number | undefined =>
      line.done ? undefined : Number(/^line (\d+)/.exec(line.value.data.toString())?.[1]);

    assert.equal(numberOf(await lines.next()), 0);
    // The reader reads on to the end of the file, then waits for it to change: it watches the file.
    const next = lines.next();
    await waitUntil(() => isWatched(path), 'the reader to watch the file');
    // A record and the start of another, appended while it waits: it wakes, and the read that yields
    // record 1 starts after this append, so it also takes in the partial record 2.
    appendFileSync(path, record(1) + record(2).slice(0, 30));
    assert.equal(numberOf(await next), 1);
    // The rest of record 2 completes what it holds.
    appendFileSync(path, record(2).slice(30) + record(3));
    finish();
    const rest: (number | undefined)[] = [];
    for (let line = await lines.next(); !line.done; line = await lines.next()) rest.push(numberOf(line));
    assert.deepEqual(rest, [2, 3]);
  });

  it('returns nothing for a task that has no log yet', async () => {
    assert.deepEqual(await read(join(dir, 'missing.jsonl'), {}), []);
    assert.deepEqual(await read(join(dir, 'missing.jsonl'), { follow: true }), []);
  });
});
