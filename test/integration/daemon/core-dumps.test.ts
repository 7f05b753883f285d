// shoald lowers its own soft core limit to 0 (its memory holds secrets) and its task runner gives tasks back
// the limit shoald started with: checked on real processes started with a soft limit of 1 MiB.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ShoalDaemon, waitFor } from '../../harness/index.js';
import { freePort } from '../../harness/ports.js';
import { withTaskCoreLimit } from '../../../src/agent/executor/process/core-limit.js';
import { findProgram } from '../../../src/agent/executor/process/tools.js';

const CORE_DUMPS = fileURLToPath(new URL('../../../src/daemon/core-dumps.js', import.meta.url));
const PRLIMIT = findProgram('prlimit');

describe('core dumps', () => {
  it('are off for shoald, which keeps the limit it found for its tasks', () => {
    assert.ok(PRLIMIT, 'prlimit (util-linux) is needed: scripts/setup.sh installs it');
    const script = `
      const { disableCoreDumps, softCoreLimit } = await import(${JSON.stringify(CORE_DUMPS)});
      const { readFileSync } = await import('node:fs');
      disableCoreDumps({ warn: (m) => console.log('warned: ' + m) });
      console.log(softCoreLimit(readFileSync('/proc/self/limits', 'utf8')), process.env.SHOAL_TASK_CORE_LIMIT);
    `;
    const out = execFileSync(
      PRLIMIT,
      ['--core=1048576:unlimited', '--', process.execPath, '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(out.trim(), '0 1048576');
  });

  it('are as before for a task the runner launches', () => {
    assert.ok(PRLIMIT);
    // The runner's situation: soft 0 (inherited from shoald), hard unlimited, shoald's soft limit in the env.
    const task = withTaskCoreLimit({ file: '/bin/cat', args: ['/proc/self/limits'] }, '1048576', PRLIMIT);
    const out = execFileSync(PRLIMIT, ['--core=0:unlimited', '--', task.file, ...task.args], {
      encoding: 'utf8',
    });
    const line = out.split('\n').find((l) => l.startsWith('Max core file size'));
    assert.deepEqual(line?.split(/\s{2,}/).slice(1, 3), ['1048576', 'unlimited']);
    // Without a limit to restore, the command is left as it is.
    assert.deepEqual(withTaskCoreLimit({ file: '/bin/true', args: [] }, undefined, PRLIMIT), {
      file: '/bin/true',
      args: [],
    });
  });

  describe('on a real shoald started with a soft limit of 1 MiB', () => {
    const daemon = ShoalDaemon.onLoopback();
    after(() => daemon.destroy());

    it('has none itself, and its task has 1 MiB', async () => {
      assert.ok(PRLIMIT);
      // The daemon inherits this process's limits.
      execFileSync(PRLIMIT, ['--pid', String(process.pid), '--core=1048576:unlimited']);
      await daemon.start();
      const limits = readFileSync(`/proc/${daemon.pid}/limits`, 'utf8');
      assert.match(limits, /^Max core file size\s+0\s+unlimited/m);
      await daemon.apiOk('POST', '/v1.44/swarm/init', {
        ListenAddr: `127.0.0.1:${await freePort()}`,
        AdvertiseAddr: '127.0.0.1',
      });
      const created = await daemon.docker([
        'service',
        'create',
        '--detach',
        '--name',
        'limits',
        'busybox',
        'sh',
        '-c',
        'grep "Max core" /proc/self/limits; sleep 86400',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const logs = await waitFor(
        async () => (await daemon.docker(['service', 'logs', '--raw', 'limits'])).stdout,
        {
          until: (out) => out.includes('Max core'),
          description: "the task's limits in its log",
        },
      );
      assert.match(logs, /Max core file size\s+1048576\s+unlimited/);
    });
  });
});
