// Signal names and numbers as Docker accepts them in StopSignal (`SIGTERM`, `TERM`, `15`), and the exit
// code Docker reports for a process killed by a signal (128 + the signal number).

import { constants } from 'node:os';

const SIGNALS: Readonly<Record<string, number>> = constants.signals;

export const DEFAULT_STOP_SIGNAL = 'SIGTERM';

/** The signal's canonical name (`SIGTERM`); throws Docker's error for an unknown one. */
export function parseSignal(value: string): NodeJS.Signals {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    const number = Number(trimmed);
    const name = Object.keys(SIGNALS).find((n) => SIGNALS[n] === number);
    if (name === undefined || number === 0) throw new Error(`Invalid signal: ${value}`);
    return name as NodeJS.Signals;
  }
  const upper = trimmed.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (SIGNALS[name] === undefined) throw new Error(`Invalid signal: ${value}`);
  return name as NodeJS.Signals;
}

/** Docker's exit code for a process that ended with `code` or was killed by `signal`. */
export function exitCodeOf(code: number | null, signal: string | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : SIGNALS[signal];
  return number === undefined ? 255 : 128 + number;
}
