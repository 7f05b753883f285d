// Runs one health probe process for the runner: output of stdout and stderr together, capped as Docker
// caps it, and a timeout after which the probe's whole process group is killed. The caller waits for the
// probe to be gone before scheduling the next, so probes of a slow check never pile up.

import { spawn, type ChildProcess } from 'node:child_process';
import type { ProbeResult } from './protocol.js';
import { withTaskUmask, type SpawnCommand } from './launch.js';
import { exitCodeOf } from './signals.js';
import { sendSignal } from './procfs.js';
import { nowTimestampNanos } from './timestamps.js';

/** Docker's maxOutputLen: longer probe output is cut and `...` appended. */
export const PROBE_OUTPUT_LIMIT = 4096;

export interface ProbeProcess {
  child: ChildProcess | undefined;
  result: Promise<ProbeResult>;
}

export function runProbeProcess(
  command: SpawnCommand,
  options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number },
): ProbeProcess {
  const start = nowTimestampNanos();
  const output = new CappedOutput(PROBE_OUTPUT_LIMIT);
  let child: ChildProcess;
  try {
    child = withTaskUmask(() =>
      spawn(command.file, command.args, {
        cwd: options.cwd,
        env: options.env,
        detached: true, // own process group, so a timeout kills the probe's children too
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  } catch (err) {
    const end = nowTimestampNanos();
    return { child: undefined, result: Promise.resolve(failed(start, end, (err as Error).message)) };
  }
  child.stdout?.on('data', (chunk: Buffer) => output.add(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.add(chunk));

  const result = new Promise<ProbeResult>((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) sendSignal(-child.pid, 'SIGKILL');
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(failed(start, nowTimestampNanos(), err.message));
    });
    // The result waits for 'close' (output complete once the pipes are), but a background process the probe
    // left behind may hold the pipes open: shortly after the probe itself exits, stop reading.
    child.once('exit', () => {
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 200).unref();
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: timedOut ? -1 : exitCodeOf(code, signal),
        output: output.text(),
        start,
        end: nowTimestampNanos(),
        timedOut,
      });
    });
  });
  return { child, result };
}

function failed(start: string, end: string, message: string): ProbeResult {
  return { exitCode: -1, output: message, start, end, timedOut: false };
}

/** Keeps the first `limit` bytes, like Docker's limitedBuffer. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private truncated = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const keep = Math.min(this.limit - this.bytes, chunk.length);
    if (keep > 0) {
      this.chunks.push(chunk.subarray(0, keep));
      this.bytes += keep;
    }
    if (keep < chunk.length) this.truncated = true;
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `${text}...` : text;
  }
}
