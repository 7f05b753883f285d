// JSON-lines logging for shoald: one object per line on stderr, so logs are greppable and machine
// readable. Secrets never reach a log call: callers log IDs and names, never specs' data.

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

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(
  options: { debug: boolean; write?: (line: string) => void },
  base: Record<string, unknown> = {},
): Logger {
  const min = options.debug ? ORDER.debug : ORDER.info;
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const log: LogFn = (level, msg, fields) => {
    if (ORDER[level] < min) return;
    const entry = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    write(JSON.stringify(entry, errorReplacer) + '\n');
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

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === 'bigint') return value.toString();
  return value;
}
