// The logging the dispatcher and log broker need; the daemon's JSON logger fits it.

export interface DispatcherLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLog: DispatcherLog = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
