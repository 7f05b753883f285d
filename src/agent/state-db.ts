// What the agent must remember across a daemon restart (swarmkit keeps the same in a bolt DB): every
// task assigned to the node, with the status the agent last gave it. SQLite in WAL mode: each write is
// one small transaction, atomic and durable against kill -9 (a crash loses nothing committed), and a
// status change rewrites one row rather than the whole file.
//
// A write that fails (a full disk) never reaches the caller, which is in the middle of driving a task: the
// change is kept in memory, reported once, and written with the next write that succeeds or by a retry
// timer, so the file catches up by itself when space returns. The file and its -wal and -shm are 0600.
//
// Registry credentials (`ContainerSpec.PullOptions`, from `--with-registry-auth`) are not written: they stay
// in memory, and a restarted daemon has them again from the managers' first COMPLETE set of assignments.
// (swarmkit keeps them in clear in its worker DB.)

import { chmodSync, closeSync, mkdirSync, openSync, statfsSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Task } from '../api/types.js';

export const AGENT_DB_FILE = 'agent.db';

const FILE_MODE = 0o600;
/** How often unsaved changes are retried while writes fail. */
const RETRY_MS = 5_000;

export interface AgentStateDbOptions {
  /** Told once when writes start failing, and again once they succeed (err undefined). */
  onWriteError?: (err: Error | undefined) => void;
  /** The file may not grow past about this many bytes (tests use it to fill the "disk"). */
  maxFileBytes?: number;
}

export class AgentStateDb {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement<[string, string]>;
  private readonly remove: Database.Statement<[string]>;
  /** Changes not yet in the file: task ID → its JSON, or null for a deletion. */
  private unsaved = new Map<string, string | null>();
  private clearPending = false;
  private failing = false;
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(
    db: Database.Database,
    private readonly onWriteError: (err: Error | undefined) => void,
  ) {
    this.db = db;
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives process crashes; only a power loss may drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, task TEXT NOT NULL)');
    this.upsert = this.db.prepare(
      'INSERT INTO tasks (id, task) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET task = excluded.task',
    );
    this.remove = this.db.prepare('DELETE FROM tasks WHERE id = ?');
  }

  static open(stateDir: string, options: AgentStateDbOptions = {}): AgentStateDb {
    const path = join(stateDir, AGENT_DB_FILE);
    let db: Database.Database | undefined;
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      makePrivate(path);
      db = new Database(path);
      const agentDb = new AgentStateDb(db, options.onWriteError ?? reportToStderr(path));
      if (options.maxFileBytes !== undefined) {
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxFileBytes / pageSize))}`);
      }
      return agentDb;
    } catch (err) {
      db?.close();
      throw diskError(path, err) ?? err;
    }
  }

  /** Every remembered task, its `Status` being the agent's own last status. */
  loadTasks(): Task[] {
    const rows = this.db.prepare('SELECT id, task FROM tasks').all() as { id: string; task: string }[];
    const tasks = new Map(this.clearPending ? [] : rows.map((row) => [row.id, row.task]));
    for (const [id, json] of this.unsaved) {
      if (json === null) tasks.delete(id);
      else tasks.set(id, json);
    }
    return [...tasks.values()].map((json) => JSON.parse(json) as Task);
  }

  saveTask(task: Task): void {
    this.unsaved.set(task.ID, JSON.stringify(withoutRegistryAuth(task)));
    this.flush();
  }

  deleteTask(taskId: string): void {
    this.unsaved.set(taskId, null);
    this.flush();
  }

  clear(): void {
    this.unsaved.clear();
    this.clearPending = true;
    this.flush();
  }

  close(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!this.db.open) return;
    this.flush();
    this.db.close();
  }

  /** Writes every unsaved change in one transaction; on failure keeps them for the next try. */
  private flush(): void {
    if (!this.db.open) return;
    try {
      this.db.transaction(() => {
        if (this.clearPending) this.db.exec('DELETE FROM tasks');
        for (const [id, json] of this.unsaved) {
          if (json === null) this.remove.run(id);
          else this.upsert.run(id, json);
        }
      })();
    } catch (err) {
      if (!this.failing) {
        this.failing = true;
        this.onWriteError(err instanceof Error ? err : new Error(String(err)));
      }
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, RETRY_MS).unref();
      return;
    }
    this.unsaved = new Map();
    this.clearPending = false;
    if (this.failing) {
      this.failing = false;
      this.onWriteError(undefined);
    }
  }
}

/**
 * Why the agent DB in `stateDir` cannot be resumed from, or undefined when it can: missing, empty, not a
 * database, or without its table. Only reads the file. Errors that say nothing about the file itself (it
 * cannot be read just now) are thrown.
 */
export function agentDbProblem(stateDir: string): string | undefined {
  const path = join(stateDir, AGENT_DB_FILE);
  const size = fileSize(path);
  if (size === undefined) return 'is missing';
  if (size === 0 && !fileSize(`${path}-wal`)) return 'is empty';
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.prepare('SELECT count(*) FROM tasks').get();
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'))) {
      return `is not a database or is corrupt (${(err as Error).message})`;
    }
    if (/no such table/.test((err as Error).message)) return 'holds no task table';
    throw diskError(path, err) ?? err;
  } finally {
    db?.close();
  }
}

/**
 * The error for a failure of the disk under the DB (opening it in WAL mode writes its -shm and -wal), in
 * words that name the file; undefined for other failures.
 */
function diskError(path: string, err: unknown): Error | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (
    code === 'SQLITE_FULL' ||
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    (isIoError(code) && diskIsFull(path))
  ) {
    return new Error(`the agent database ${path} could not be written because the disk is full`, {
      cause: err,
    });
  }
  if (isIoError(code)) {
    return new Error(`the agent database ${path} could not be written (${code}: ${(err as Error).message})`, {
      cause: err,
    });
  }
  return undefined;
}

const isIoError = (code: string) => code.startsWith('SQLITE_IOERR') || code === 'EIO' || code === 'EROFS';

/** SQLite reports ENOSPC as SQLITE_IOERR_* on some paths (growing the -shm file): ask the filesystem. */
function diskIsFull(path: string): boolean {
  try {
    const stats = statfsSync(dirname(path));
    return stats.bavail * stats.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/** Creates the file (0600) where SQLite would create it with the umask's mode, and fixes an older one. */
function makePrivate(path: string): void {
  closeSync(openSync(path, 'a', FILE_MODE));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o777) !== FILE_MODE) chmodSync(file, FILE_MODE);
    } catch {
      // Missing (the -wal and -shm come and go), or a filesystem that refuses: nothing to fix here.
    }
  }
}

function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The task without its registry credentials, which never go to disk on a node (see the top of this file). */
function withoutRegistryAuth(task: Task): Task {
  const container = task.Spec?.ContainerSpec;
  if (container?.PullOptions === undefined) return task;
  const { PullOptions: _credentials, ...rest } = container;
  return { ...task, Spec: { ...task.Spec, ContainerSpec: rest } };
}

/** The default report: one line in the daemon's JSON log format, on stderr. */
function reportToStderr(path: string): (err: Error | undefined) => void {
  return (err) => {
    const line = {
      time: new Date().toISOString(),
      level: err ? 'error' : 'info',
      msg: err
        ? `the agent database ${path} cannot be written; changes are kept in memory and retried`
        : `the agent database ${path} is written again`,
      component: 'agent',
      ...(err && { error: err.message }),
    };
    try {
      // Straight to fd 2: the process.stderr stream is destroyed for good by its first failed write.
      writeSync(2, JSON.stringify(line) + '\n');
    } catch {
      // Nowhere to say it (stderr is on the same full disk); the retry goes on regardless.
    }
  };
}
