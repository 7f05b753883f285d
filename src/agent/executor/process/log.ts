// The logger the process executor writes to. The same shape as the agent's (src/agent/log.ts), so the
// daemon's JSON logger fits; `fields` carry structured details.

export interface ExecutorLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger that discards everything (for tools and tests that do not care). */
export const silentLog: ExecutorLog = { debug() {}, info() {}, warn() {}, error() {} };
