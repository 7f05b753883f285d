// The logging the agent needs; the daemon's JSON logger fits it.

export interface AgentLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentAgentLog: AgentLog = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
