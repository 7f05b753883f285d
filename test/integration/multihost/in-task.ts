// Running a command inside a task of a harness cluster, as a user would on each executor: `docker exec` on
// the docker executor; on the process executor nsenter into all the task's namespaces (its process is pid 1
// of its PID namespace, forked by the unshare whose pid the task status shows).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { TestCluster } from '../../harness/index.js';

const run = promisify(execFile);

export interface TaskWithStatus {
  ID: string;
  NodeID?: string;
  Status: { ContainerStatus?: { PID?: number; ContainerID?: string } };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` in the task; `hostOf` names the harness host of a node ID (for its engine). */
export async function inTask(
  cluster: TestCluster,
  executor: 'process' | 'docker',
  hostOf: ReadonlyMap<string, string>,
  task: TaskWithStatus,
  argv: string[],
): Promise<CommandResult> {
  if (executor === 'docker') {
    const engine = cluster.engine(hostOf.get(task.NodeID!)!);
    const id = task.Status.ContainerStatus?.ContainerID;
    assert.ok(id, `task ${task.ID} has a container`);
    const result = await engine.docker(['exec', id, ...argv], { timeoutMs: 20_000 });
    return { ...result, code: result.code ?? 1 };
  }
  const pid = task.Status.ContainerStatus?.PID;
  assert.ok(pid, `task ${task.ID} has a pid`);
  const init = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0]);
  assert.ok(init > 0, `task ${task.ID}'s process runs`);
  try {
    const { stdout, stderr } = await run(
      'nsenter',
      [`--target=${init}`, '--net', '--mount', '--uts', '--ipc', '--pid', '--', ...argv],
      { timeout: 20_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
