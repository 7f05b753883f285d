import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildEnv,
  checkWorkingDir,
  commandLine,
  DEFAULT_PATH,
  resolveExecutable,
} from '../../../src/agent/executor/process/command.js';

describe('commandLine', () => {
  it('is Command followed by Args, or either alone', () => {
    assert.deepEqual(commandLine({ Command: ['sh', '-c'], Args: ['echo hi'] }), ['sh', '-c', 'echo hi']);
    assert.deepEqual(commandLine({ Args: ['sleep', '1'] }), ['sleep', '1']);
    assert.deepEqual(commandLine({ Command: ['true'] }), ['true']);
  });

  it('fails like Docker when there is nothing to run', () => {
    assert.throws(() => commandLine({ Image: 'nginx' }), { message: 'no command specified' });
    assert.throws(() => commandLine({ Command: [], Args: [] }), { message: 'no command specified' });
  });
});

describe('buildEnv', () => {
  it('starts from a container’s defaults and lets the spec override them', () => {
    assert.deepEqual(
      buildEnv(['FOO=bar', 'PATH=/opt/bin', 'EMPTY=', 'NOEQUALS'], { hostname: 'h', home: '/root' }),
      ['PATH=/opt/bin', 'HOSTNAME=h', 'HOME=/root', 'FOO=bar', 'EMPTY='],
    );
    assert.deepEqual(buildEnv(undefined, { hostname: 'h', home: '/' })[0], `PATH=${DEFAULT_PATH}`);
  });
});

describe('resolveExecutable', () => {
  it('looks a bare name up in the task’s PATH', async () => {
    assert.equal(await resolveExecutable('sh', ['PATH=/nonexistent:/bin'], '/'), '/bin/sh');
  });

  it('fails with Docker’s text', async () => {
    await assert.rejects(resolveExecutable('no-such-program-x', [`PATH=${DEFAULT_PATH}`], '/'), {
      message: 'exec: "no-such-program-x": executable file not found in $PATH',
    });
    await assert.rejects(resolveExecutable('/no/such', [], '/'), {
      message: 'exec: "/no/such": stat /no/such: no such file or directory',
    });
    const dir = await mkdtemp(join(tmpdir(), 'shoal-command-'));
    try {
      const plain = join(dir, 'not-executable');
      await writeFile(plain, 'data', { mode: 0o644 });
      await assert.rejects(resolveExecutable(plain, [], '/'), {
        message: `exec: "${plain}": permission denied`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes a relative path relative to the working dir', async () => {
    assert.equal(await resolveExecutable('./sh', [], '/bin'), '/bin/sh');
  });
});

describe('checkWorkingDir', () => {
  it('accepts a directory and explains anything else like runc', async () => {
    await checkWorkingDir('/tmp');
    await assert.rejects(checkWorkingDir('/no/such/dir'), {
      message: 'chdir to cwd ("/no/such/dir") set in config.json failed: no such file or directory',
    });
    await assert.rejects(checkWorkingDir('/etc/passwd'), /not a directory/);
  });
});
