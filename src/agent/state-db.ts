// What the agent must remember across a daemon restart (swarmkit keeps the same in a bolt DB): every
// task assigned to the node, with the status the agent last gave it. SQLite in WAL mode: each write is
// one small transaction, atomic and durable against kill -9 (a crash loses nothing committed), and a
// status change rewrites one row rather than the whole file.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Task } from '../api/types.js';

export const AGENT_DB_FILE = 'agent.db';

export class AgentStateDb {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement<[string, string]>;
  private readonly remove: Database.Statement<[string]>;

  private constructor(db: Database.Database) {
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

  static open(stateDir: string): AgentStateDb {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    return new AgentStateDb(new Database(join(stateDir, AGENT_DB_FILE)));
  }

  /** Every remembered task, its `Status` being the agent's own last status. */
  loadTasks(): Task[] {
    const rows = this.db.prepare('SELECT task FROM tasks').all() as { task: string }[];
    return rows.map((row) => JSON.parse(row.task) as Task);
  }

  saveTask(task: Task): void {
    this.upsert.run(task.ID, JSON.stringify(task));
  }

  deleteTask(taskId: string): void {
    this.remove.run(taskId);
  }

  clear(): void {
    this.db.exec('DELETE FROM tasks');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
