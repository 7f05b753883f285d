// JSON-lines logging for shoald: one object per line on stderr, so logs are greppable and machine
// readable. Secrets never reach a log call: callers log IDs and names, never specs' data.
//
// Logging never takes the daemon down. stderr is often a file on the disk that is filling up (the quick
// start redirects it to /var/log/shoald.log) or a pipe whose reader went away: a line that cannot be
// written (ENOSPC, EPIPE, EAGAIN…) is dropped and counted, and the next line that can be written says how
// many were lost. Lines are written with a synchronous write(2) to fd 2 rather than through
// `process.stderr`, a stream that an error destroys for good, so logging resumes by itself when the disk
// has room again.

import { writeSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface Logger {
  log: LogFn;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line (e.g. the component name). */
  with(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  debug: boolean;
  /** Where lines go (default: stderr). A write that throws or returns false counts as a dropped line. */
  write?: (line: string) => boolean | void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Lines dropped since the last line that could be written; shared by every logger of the process. */
let droppedLines = 0;

/** How many log lines could not be written since the last one that could. */
export function droppedLogLines(): number {
  return droppedLines;
}

export function createLogger(options: LoggerOptions, base: Record<string, unknown> = {}): Logger {
  const min = options.debug ? ORDER.debug : ORDER.info;
  const write = options.write ?? writeStderr;
  const log: LogFn = (level, msg, fields) => {
    if (ORDER[level] < min) return;
    const dropped = droppedLines;
    const entry = {
      time: new Date().toISOString(),
      level,
      msg,
      ...base,
      ...fields,
      ...(dropped > 0 && { droppedLogLines: dropped }),
    };
    let written: boolean | void;
    try {
      written = write(JSON.stringify(entry, errorReplacer) + '\n');
    } catch {
      written = false;
    }
    if (written === false) droppedLines++;
    else droppedLines -= dropped;
  };
  return {
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    with: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/**
 * Writes `text` to stderr synchronously; false if it could not be written in full. Never throws and never
 * waits: a pipe that is full (EAGAIN) loses the line rather than stalling the daemon.
 */
export function writeStderr(text: string): boolean {
  const data = Buffer.from(text);
  let offset = 0;
  try {
    while (offset < data.length) {
      const written = writeSync(2, data, offset);
      if (written <= 0) return false;
      offset += written;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Keeps errors of the process's own stdout and stderr streams (used by anything that writes to them
 * directly, `console.error` included) from becoming uncaught exceptions, which would end the daemon
 * silently when its log's disk is full. Such lines are counted as dropped.
 */
export function protectStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => {
      droppedLines++;
    });
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === 'bigint') return value.toString();
  return value;
}
