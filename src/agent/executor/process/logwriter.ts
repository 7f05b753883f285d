// Runner side of task logs: reads a task's stdout and stderr pipes, cuts them into lines, stamps each line
// with the time it arrived and appends the records to the task's log file. Records from one turn of the
// event loop go out in one write, and a task has at most one write in flight, so a chatty task costs a
// few syscalls per batch rather than one per line, and 500 tasks do not flood the thread pool.
//
// A log that cannot be written (a full disk) must not hurt the task: its pipes are still read, so it never
// blocks on output, and what cannot be written is dropped. The failure is reported once per run of failed
// writes (not once per batch, which would flood the runner's own log on the same disk), and writing
// resumes by itself when there is room again.

import { close, constants, open, write } from 'node:fs';
import type { Readable } from 'node:stream';
import { encodeLogRecord, LineSplitter, type LogStream } from './logformat.js';
import { nowTimestampNanos } from './timestamps.js';

export class TaskLogWriter {
  /** Opened off the event loop (a file create can take a while when hundreds of tasks start at once). */
  private fd?: number;
  private readonly opened: Promise<void>;
  private pending: string[] = [];
  private writing = false;
  private scheduled = false;
  private closed = false;
  /** In a run of failed writes: reported at its start only. */
  private failing = false;
  private idle: (() => void)[] = [];

  constructor(
    path: string,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.writing = true; // nothing is written until the file is open
    this.opened = new Promise((resolve) => {
      open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600, (err, fd) => {
        if (err) this.onError(err);
        else this.fd = fd;
        this.writing = false;
        resolve();
        this.flush();
      });
    });
  }

  /** Captures a pipe until it closes; resolves then (once the last partial line has been queued). */
  capture(source: Readable, stream: LogStream): Promise<void> {
    const splitter = new LineSplitter();
    return new Promise((resolve) => {
      source.on('data', (chunk: Buffer) => {
        const timestamp = nowTimestampNanos();
        for (const line of splitter.push(chunk)) this.append(encodeLogRecord(stream, timestamp, line));
      });
      const finish = (): void => {
        const rest = splitter.end();
        if (rest) this.append(encodeLogRecord(stream, nowTimestampNanos(), rest));
        resolve();
      };
      source.once('close', finish);
      source.once('error', () => source.destroy());
    });
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.opened;
    this.flushSoon();
    await this.drained();
    this.closed = true;
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await new Promise<void>((resolve) => close(fd, () => resolve()));
  }

  private append(record: string): void {
    if (this.closed) return;
    this.pending.push(record);
    this.flushSoon();
  }

  private flushSoon(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.writing) return;
    if (this.pending.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    const data = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    if (this.fd === undefined) return; // the file could not be opened (reported): output is dropped
    this.writing = true;
    this.writeFrom(this.fd, data, 0);
  }

  /** Writes `data` from `offset` on, going on after short writes; a failure drops the rest. */
  private writeFrom(fd: number, data: Buffer, offset: number): void {
    write(fd, data, offset, data.length - offset, null, (err, written) => {
      if (!err && written > 0 && offset + written < data.length) {
        this.writeFrom(fd, data, offset + written);
        return;
      }
      this.writing = false;
      if (err) {
        if (!this.failing) this.onError(err);
        this.failing = true;
      } else {
        this.failing = false;
      }
      this.flush();
    });
  }

  private drained(): Promise<void> {
    if (!this.writing && !this.scheduled && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
