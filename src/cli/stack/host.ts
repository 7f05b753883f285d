// What the Compose loader needs from the CLI process: its environment, its working directory, files,
// standard input, and where the loader's logged warnings go — written as the docker CLI's logrus writes
// them on stderr (`time="…" level=warning msg="…"`, or `WARN[0000] …` on a terminal).

import { readFileSync } from 'node:fs';
import type { LoaderHost } from '../../compose/loader.js';
import { goQuote } from '../../api/strconv.js';
import type { Cli } from '../cli.js';

const START = Date.now();

/** RFC 3339 in the local time zone, as logrus prints its timestamps. */
function localRFC3339(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const p2 = (n: number): string => String(Math.abs(n)).padStart(2, '0');
  const zone =
    offset === 0 ? 'Z' : `${offset < 0 ? '-' : '+'}${p2(Math.trunc(offset / 60))}:${p2(offset % 60)}`;
  return (
    `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${zone}`
  );
}

/** logrus's TextFormatter: a value is quoted unless it only has safe characters. */
function logfmtValue(text: string): string {
  return /^[A-Za-z0-9\-._/@^+]+$/.test(text) ? text : goQuote(text);
}

/** A warning as the docker CLI's logrus prints it. */
export function logrusWarning(cli: Cli, message: string): string {
  if (cli.err.isTerminal) {
    const seconds = String(Math.floor((cli.now() - START) / 1000)).padStart(4, '0');
    return `\x1b[33mWARN\x1b[0m[${seconds}] ${message}\n`;
  }
  return `time="${localRFC3339(cli.now())}" level=warning msg=${logfmtValue(message)}\n`;
}

async function readAll(cli: Cli): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of cli.streams.in)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export function loaderHost(cli: Cli): LoaderHost {
  return {
    env: cli.env,
    cwd: process.cwd(),
    readFile: (path) => readFileSync(path),
    readStdin: () => readAll(cli),
    warn: (message) => cli.err.write(logrusWarning(cli, message)),
  };
}
