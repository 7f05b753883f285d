import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Cgroups } from '../../../src/agent/executor/process/cgroups.js';

// A fake cgroup v1 tree in a temporary folder: folders stand in for hierarchies, files for knobs.
const root = mkdtempSync(join(tmpdir(), 'shoal-cgroups-'));
after(() => rmSync(root, { recursive: true, force: true }));

function fakeV1(mountLines: string[]): string {
  const mounts = join(root, `mounts-${Math.random()}`);
  writeFileSync(mounts, mountLines.join('\n') + '\n');
  return mounts;
}

describe('Cgroups on cgroup v1', () => {
  const memory = join(root, 'memory');
  const cpu = join(root, 'cpu,cpuacct');
  const pids = join(root, 'pids');
  for (const dir of [memory, cpu, pids]) mkdirSync(dir, { recursive: true });
  const mountsFile = fakeV1([
    `cgroup ${memory} cgroup rw,nosuid,relatime,memory 0 0`,
    `cgroup ${cpu} cgroup rw,relatime,cpu,cpuacct 0 0`,
    `cgroup ${pids} cgroup rw,relatime,pids 0 0`,
    `cgroup2 ${join(root, 'unified')} cgroup2 rw 0 0`,
  ]);

  it('uses the v1 controllers even when an empty unified tree is mounted too', () => {
    const cgroups = Cgroups.detect('scope1', { mountsFile });
    assert.equal(cgroups.driver, 'v1');
    assert.deepEqual(cgroups.taskDirs('t1'), [
      join(memory, 'shoal/scope1/t1'),
      join(cpu, 'shoal/scope1/t1'),
      join(pids, 'shoal/scope1/t1'),
    ]);
    assert.deepEqual(
      cgroups.joinFiles('t1').map((file) => file.slice(root.length)),
      [
        '/memory/shoal/scope1/t1/cgroup.procs',
        '/cpu,cpuacct/shoal/scope1/t1/cgroup.procs',
        '/pids/shoal/scope1/t1/cgroup.procs',
      ],
    );
  });

  it('writes limits into the right files, CFS period before quota', async () => {
    const cgroups = Cgroups.detect('scope1', { mountsFile });
    await cgroups.create('t2', {
      memoryBytes: 1 << 26,
      memoryReservationBytes: 1 << 25,
      nanoCpus: 1.5e9,
      pids: 64,
    });
    const knob = (hierarchy: string, file: string) =>
      readFileSync(join(hierarchy, 'shoal/scope1/t2', file), 'utf8');
    assert.equal(knob(memory, 'memory.limit_in_bytes'), String(1 << 26));
    assert.equal(knob(memory, 'memory.soft_limit_in_bytes'), String(1 << 25));
    assert.equal(knob(cpu, 'cpu.cfs_period_us'), '100000');
    assert.equal(knob(cpu, 'cpu.cfs_quota_us'), '150000');
    assert.equal(knob(pids, 'pids.max'), '64');
    assert.ok(cgroups.taskIds().includes('t2'));
  });

  it('keeps a CPU quota at the kernel’s 1 ms minimum', async () => {
    const cgroups = Cgroups.detect('scope1', { mountsFile });
    await cgroups.create('t3', { nanoCpus: 1e6 });
    assert.equal(readFileSync(join(cpu, 'shoal/scope1/t3/cpu.cfs_quota_us'), 'utf8'), '1000');
  });

  it('runs without cgroups, says why once, and refuses limits it cannot apply', async () => {
    const warnings: string[] = [];
    const cgroups = Cgroups.detect('scope1', {
      mountsFile: fakeV1(['proc /proc proc rw 0 0']),
      warn: (m) => warnings.push(m),
    });
    assert.equal(cgroups.driver, 'none');
    assert.deepEqual(cgroups.joinFiles('t1'), []);
    assert.deepEqual(warnings, [
      'cgroups unavailable: tasks that ask for resource limits are rejected (no cgroup hierarchy is mounted)',
    ]);
    await cgroups.create('free', {});
    await assert.rejects(
      cgroups.create('limited', { memoryBytes: 64 * 2 ** 20, pids: 10 }),
      /cannot apply the task's resource limits: cgroup controller memory, pids is not available on this node/,
    );
  });
});
