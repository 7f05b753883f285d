// The runner's record of each task, one `state.json` per task folder. It is written when the process starts
// and again the moment it ends, so a runner that restarts knows every task it had and how each one ended,
// and the exit codes survive the daemon (and the runner) going away.

import { readFileSync, readdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LaunchSpec, TaskInfo } from './protocol.js';

export interface TaskRecord extends TaskInfo {
  /** The main process's start time (/proc/<pid>/stat field 22), to tell it from a later owner of the pid. */
  processStartTime?: number;
  launch: LaunchSpec;
}

const STATE_FILE = 'state.json';

/** Replaces the state file atomically (a reader, or a runner that restarts, never sees half a file). */
export async function writeTaskState(taskDir: string, record: TaskRecord): Promise<void> {
  const path = join(taskDir, STATE_FILE);
  const temporary = `${path}.tmp`;
  await writeFile(temporary, JSON.stringify(record) + '\n', { mode: 0o600 });
  await rename(temporary, path);
}

/** Every task record under `tasksDir`; folders without a readable record are skipped. */
export function loadTaskStates(tasksDir: string): TaskRecord[] {
  let names: string[];
  try {
    names = readdirSync(tasksDir);
  } catch {
    return [];
  }
  const records: TaskRecord[] = [];
  for (const name of names) {
    try {
      const record = JSON.parse(readFileSync(join(tasksDir, name, STATE_FILE), 'utf8')) as TaskRecord;
      if (record.taskId === name) records.push(record);
    } catch {
      // Prepared but never started, or removed while we looked: nothing to recover.
    }
  }
  return records;
}

/** The part of a record that goes over the wire. */
export function infoOf(record: TaskRecord): TaskInfo {
  const { taskId, pid, startedAt, state, exitCode, signal, finishedAt, error } = record;
  return { taskId, pid, startedAt, state, exitCode, signal, finishedAt, error };
}
