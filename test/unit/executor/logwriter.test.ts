import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { decodeLogRecord } from '../../../src/agent/executor/process/logformat.js';
import { TaskLogWriter } from '../../../src/agent/executor/process/logwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-logwriter-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Feeds `lines` through a pipe-like stream into the writer, a turn of the event loop apart. */
async function feed(writer: TaskLogWriter, lines: string[]): Promise<void> {
  const source = new PassThrough();
  const captured = writer.capture(source, 'stdout');
  for (const line of lines) {
    source.write(`${line}\n`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  source.end();
  source.destroy();
  await captured;
}

describe('TaskLogWriter', () => {
  it('appends timestamped records', async () => {
    const path = join(dir, 'task.log');
    const writer = new TaskLogWriter(path);
    await feed(writer, ['one', 'two']);
    await writer.close();
    const records = readFileSync(path, 'utf8').trim().split('\n').map(decodeLogRecord);
    assert.deepEqual(
      records.map((record) => record?.data.toString()),
      ['one\n', 'two\n'],
    );
  });

  it('keeps reading a task whose log cannot be written (a full disk), reporting it once, never throwing', async () => {
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    const errors: Error[] = [];
    const writer = new TaskLogWriter('/dev/full', (err) => errors.push(err));
    await feed(
      writer,
      Array.from({ length: 20 }, (_, i) => `line ${i}`),
    );
    await writer.close();
    assert.equal(errors.length, 1, 'one report for the whole run of failed writes');
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'ENOSPC');
  });
});
