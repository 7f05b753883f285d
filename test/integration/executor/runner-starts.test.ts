// The task runner's starts of tasks with files, which are recorded only once the files are written: the same
// start sent twice (a client resending after a lost connection) makes one process, and a stop that comes
// while the files are being written leaves nothing running. On a real Runner, with real processes and mount
// namespaces.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Cgroups } from '../../../src/agent/executor/process/cgroups.js';
import { executorPaths } from '../../../src/agent/executor/process/paths.js';
import type { LaunchFile, LaunchSpec } from '../../../src/agent/executor/process/protocol.js';
import { Runner } from '../../../src/agent/executor/process/runner.js';
import { findLaunchTools } from '../../../src/agent/executor/process/tools.js';

const root = process.getuid?.() === 0;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('task runner: starts of tasks with files', { skip: !root && 'needs root' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-starts-'));
  mkdirSync(join(dir, 'root'));
  const paths = executorPaths(join(dir, 'root'));
  const runner = new Runner({
    paths,
    cgroups: Cgroups.disabled(paths.scope),
    tools: findLaunchTools(),
    log: () => {},
  });
  const spec: LaunchSpec = { argv: ['/bin/sleep', '300'], env: [], cwd: '/', mountNamespace: true };
  const files: LaunchFile[] = [
    {
      kind: 'secret',
      name: 's',
      target: '/run/secrets/s',
      uid: 0,
      gid: 0,
      mode: 0o400,
      data: Buffer.from('x').toString('base64'),
    },
  ];
  after(async () => {
    for (const id of ['dup1', 'stopped1']) {
      // stop() throws at once for a task it does not know: each is awaited from a promise.
      await Promise.resolve()
        .then(() => runner.stop(id, 'SIGKILL', 0))
        .catch(() => undefined);
      await Promise.resolve()
        .then(() => runner.remove(id))
        .catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes one process for the same start sent twice', async () => {
    const [first, second] = await Promise.all([
      runner.start('dup1', spec, files),
      runner.start('dup1', spec, files),
    ]);
    assert.equal(second.pid, first.pid);
    assert.deepEqual([first.alreadyStarted, second.alreadyStarted], [false, true]);
    assert.ok(alive(first.pid));
    await runner.stop('dup1', 'SIGKILL', 0);
    assert.equal(alive(first.pid), false, 'the one process is gone with its stop');
  });

  it('leaves nothing running when a stop came while the files were written', async () => {
    const starting = runner.start('stopped1', spec, files);
    // The stop finds no recorded task yet (Docker's "no such container"), and buries the ID.
    await assert.rejects(async () => runner.stop('stopped1', 'SIGTERM', 1000), /No such container/);
    await assert.rejects(starting, /was stopped or removed while it was starting/);
    await assert.rejects(runner.start('stopped1', spec, files), /will not be started/);
  });
});
