// Running commands for the harness: always execFile (an argv, never a shell string), with errors that
// carry the command line, exit status and stderr so a failing setup step explains itself.

import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ExecOptions {
  /** Environment for the command; defaults to this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the command's stdin (which is closed afterwards). */
  input?: string | Buffer;
  /** SIGKILL the command after this long (the result then has `signal: 'SIGKILL'`). Default: none. */
  timeoutMs?: number;
  /** Resolve with the result on a non-zero exit instead of throwing a CommandError. */
  allowFailure?: boolean;
  /** What the command is for, to start the error message with (e.g. "creating network 5"). */
  purpose?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when the command was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A command that failed (non-zero exit, a signal, or it could not be started). */
export class CommandError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly result: ExecResult,
    /** What the command was for, when the caller said (e.g. "creating network shoaltest-5"). */
    readonly purpose?: string,
  ) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    const stderr = result.stderr.trim();
    super(
      `${purpose ? `${purpose}: ` : ''}\`${formatCommand(file, args)}\` ${how}` +
        (stderr ? `:\n${indent(stderr)}` : ' (no stderr)'),
    );
    this.name = 'CommandError';
  }
}

const MAX_BUFFER = 64 * 1024 * 1024;

/** Runs a command to completion. Throws CommandError on failure unless `allowFailure`. */
export function run(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env,
        cwd: options.cwd,
        maxBuffer: MAX_BUFFER,
        timeout: options.timeoutMs ?? 0,
        killSignal: 'SIGKILL',
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const result: ExecResult = { stdout, stderr, code: 0, signal: null };
        if (error) {
          const failure = error as NodeJS.ErrnoException & {
            code?: number | string;
            signal?: NodeJS.Signals;
          };
          if (typeof failure.code === 'number') result.code = failure.code;
          else result.code = null;
          result.signal = failure.signal ?? null;
          // ENOENT and friends: the command never ran, so say why in place of its stderr.
          if (typeof failure.code === 'string') result.stderr = `${stderr}${failure.message}`;
          if (!options.allowFailure || typeof failure.code === 'string') {
            reject(new CommandError(file, args, result, options.purpose));
            return;
          }
        }
        resolve(result);
      },
    );
    // Without a stdin write the child would wait for EOF on an open pipe.
    child.stdin?.on('error', () => {}); // a command that exits without reading its input (EPIPE)
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * The synchronous twin of run(), for cleanup in `process.on('exit')`, where nothing asynchronous runs.
 * Throws CommandError on failure unless `allowFailure`.
 */
export function runSync(file: string, args: readonly string[], options: ExecOptions = {}): ExecResult {
  try {
    const stdout = execFileSync(file, args, {
      env: options.env,
      cwd: options.cwd,
      input: options.input ?? '',
      maxBuffer: MAX_BUFFER,
      timeout: options.timeoutMs ?? 0,
      killSignal: 'SIGKILL',
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { stdout, stderr: '', code: 0, signal: null };
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & {
      status?: number | null;
      signal?: NodeJS.Signals | null;
      stdout?: string;
      stderr?: string;
    };
    const result: ExecResult = {
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? (failure.status === undefined ? failure.message : ''),
      code: failure.status ?? null,
      signal: failure.signal ?? null,
    };
    if (options.allowFailure && failure.status !== undefined) return result;
    throw new CommandError(file, args, result, options.purpose);
  }
}

/** Starts a long-running command (a thin wrapper, so every spawn in the harness goes through here). */
export function spawnCommand(
  file: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  return spawn(file, args, options);
}

/** A readable command line for messages (quoting only what needs it). */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args]
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word)))
    .join(' ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
