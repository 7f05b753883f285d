// Daemon side of task logs: reads a task's log file (written by the runner, see logformat.ts) with Docker's
// options — tail, since/until, stdout/stderr — and, when following, waits for more until the task ends.
// Following wakes on inotify (fs.watch) with a slow poll as a safety net.

import { watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { LogLine, LogOptions } from '../executor.js';
import { decodeLogRecord } from './logformat.js';
import { formatMillis } from './timestamps.js';

const CHUNK_BYTES = 64 * 1024;
const POLL_MS = 500;

/**
 * Yields the task's log lines. `finished` resolves when the task has exited and its log is complete (the
 * runner announces an exit only after writing the last output); following stops there.
 */
export async function* readTaskLog(
  path: string,
  options: LogOptions,
  signal: AbortSignal,
  finished: Promise<unknown>,
): AsyncGenerator<LogLine> {
  let isFinished = false;
  void finished.then(
    () => (isFinished = true),
    () => (isFinished = true),
  );
  const follow = new FollowWaiter(path, signal, finished);
  try {
    const file = await openLog(path, options.follow, follow, () => isFinished);
    if (!file) return;
    try {
      const since = options.since !== undefined ? formatMillis(options.since) : undefined;
      const until = options.until !== undefined ? formatMillis(options.until) : undefined;
      let offset = options.tail !== undefined ? await tailOffset(file, options.tail) : 0;
      const decoder = new StringDecoder('utf8');
      let partial = '';
      while (!signal.aborted) {
        const finishedBeforeRead = isFinished;
        for (;;) {
          const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
          const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          const lines = (partial + decoder.write(buffer.subarray(0, bytesRead))).split('\n');
          partial = lines.pop() ?? ''; // a record the runner is still writing
          for (const text of lines) {
            const line = decodeLogRecord(text);
            if (!line) continue;
            if (until !== undefined && line.timestamp >= until) return;
            if (since !== undefined && line.timestamp < since) continue;
            if (line.stream === 'stdout' ? !options.stdout : !options.stderr) continue;
            yield line;
            if (signal.aborted) return;
          }
        }
        if (!options.follow || finishedBeforeRead) return;
        await follow.next();
      }
    } finally {
      await file.close();
    }
  } finally {
    follow.close();
  }
}

/** Opens the log; when following a task that has not written one yet, waits for it to appear. */
async function openLog(
  path: string,
  following: boolean,
  follow: FollowWaiter,
  isFinished: () => boolean,
): Promise<FileHandle | undefined> {
  for (;;) {
    try {
      return await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!following || isFinished() || follow.aborted) return undefined;
      await follow.next();
    }
  }
}

/** Offset of the first of the last `count` complete records. */
async function tailOffset(file: FileHandle, count: number): Promise<number> {
  const { size } = await file.stat();
  if (count <= 0) return size;
  let newlines = 0;
  let position = size;
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  while (position > 0) {
    const length = Math.min(CHUNK_BYTES, position);
    position -= length;
    await file.read(buffer, 0, length, position);
    for (let i = length - 1; i >= 0; i--) {
      // The newline ending the last complete record is the first found; the (count+1)-th ends the record
      // just before the ones we want.
      if (buffer[i] === 0x0a && ++newlines === count + 1) return position + i + 1;
    }
  }
  return 0;
}

/** Waits for the log file to change, the task to finish, the reader to be aborted, or a poll interval. */
class FollowWaiter {
  private watcher?: FSWatcher;
  private wake?: () => void;
  private finishedSeen = false;

  constructor(
    private readonly path: string,
    private readonly signal: AbortSignal,
    finished: Promise<unknown>,
  ) {
    const onFinished = (): void => {
      this.finishedSeen = true;
      this.wake?.();
    };
    void finished.then(onFinished, onFinished);
  }

  get aborted(): boolean {
    return this.signal.aborted;
  }

  next(): Promise<void> {
    if (this.finishedSeen || this.signal.aborted) return Promise.resolve();
    this.ensureWatcher();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, POLL_MS);
      this.signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private ensureWatcher(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.path, { persistent: false }, () => this.wake?.());
      this.watcher.on('error', () => this.close());
    } catch {
      // Not there yet, or no inotify: the poll interval covers it.
    }
  }
}
