import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';

import { AGENT_DB_FILE, AgentStateDb, agentDbProblem } from '../../../src/agent/state-db.js';
import { taskFixture } from '../dispatcher/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'shoal-agent-db-test-'));
let counter = 0;
const newDir = () => join(root, `agent-${counter++}`);
after(() => rmSync(root, { recursive: true, force: true }));

describe('AgentStateDb', () => {
  it('keeps changes it cannot write (a full disk) in memory, never throws, and writes them once it can', () => {
    const dir = newDir();
    const reports: (Error | undefined)[] = [];
    const db = AgentStateDb.open(dir, { maxFileBytes: 256 * 1024, onWriteError: (err) => reports.push(err) });
    try {
      const small = taskFixture({ id: 'small' });
      db.saveTask(small);
      const big = { ...taskFixture({ id: 'big' }), Labels: { pad: 'p'.repeat(1_000_000) } };
      db.saveTask(big); // does not fit: kept in memory
      const later = taskFixture({ id: 'later', state: 'running' });
      db.saveTask(later); // fails too: it would go in the same write as the big one
      assert.equal(reports.length, 1, 'reported once, not once per write');
      assert.match(reports[0]!.message, /database or disk is full/);
      assert.deepEqual(
        db
          .loadTasks()
          .map((task) => task.ID)
          .sort(),
        ['big', 'later', 'small'],
      );

      db.deleteTask('big'); // now everything unsaved fits
      assert.deepEqual(reports.slice(1), [undefined], 'and told once writes work again');
    } finally {
      db.close();
    }
    const reopened = AgentStateDb.open(dir);
    try {
      assert.deepEqual(
        reopened
          .loadTasks()
          .map((task) => [task.ID, task.Status.State])
          .sort(),
        [
          ['later', 'running'],
          ['small', 'assigned'],
        ],
      );
    } finally {
      reopened.close();
    }
  });

  it("never writes registry credentials to its file, and leaves the caller's task as it was", () => {
    const dir = newDir();
    const auth = Buffer.from('{"username":"agent-db-user","password":"agent-db-pass"}').toString('base64url');
    const task = taskFixture({ id: 'pulling' });
    task.Spec.ContainerSpec!.PullOptions = { RegistryAuth: auth };
    const db = AgentStateDb.open(dir);
    try {
      db.saveTask(task);
      assert.equal(task.Spec.ContainerSpec!.PullOptions?.RegistryAuth, auth, 'the caller keeps them');
      const [loaded] = db.loadTasks();
      assert.equal(loaded!.Spec.ContainerSpec!.PullOptions, undefined);
      assert.deepEqual(loaded!.Spec.ContainerSpec!.Command, ['sleep', '1000'], 'the rest is kept');
    } finally {
      db.close();
    }
    const bytes = Buffer.concat(
      readdirSync(dir)
        .filter((file) => file.startsWith(AGENT_DB_FILE))
        .map((file) => readFileSync(join(dir, file))),
    );
    assert.ok(bytes.includes('sleep'), 'control: the task is in the file');
    for (const text of [auth, 'agent-db-user', 'agent-db-pass', 'RegistryAuth']) {
      assert.ok(!bytes.includes(text), `${text} is in the agent DB`);
    }
  });

  it('makes its file and the -wal and -shm private (0600), also when an older version made them 0644', () => {
    const dir = newDir();
    AgentStateDb.open(dir).close();
    chmodSync(join(dir, AGENT_DB_FILE), 0o644);
    const db = AgentStateDb.open(dir);
    try {
      db.saveTask(taskFixture({ id: 'a' }));
      for (const name of [AGENT_DB_FILE, `${AGENT_DB_FILE}-wal`, `${AGENT_DB_FILE}-shm`]) {
        assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
      }
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    } finally {
      db.close();
    }
  });
});

describe('agentDbProblem', () => {
  it('says what is wrong with a missing, empty, garbage or foreign file, and nothing about a good one', () => {
    const dir = newDir();
    assert.equal(agentDbProblem(dir), 'is missing');
    AgentStateDb.open(dir).close();
    assert.equal(agentDbProblem(dir), undefined);

    const path = join(dir, AGENT_DB_FILE);
    writeFileSync(path, '');
    assert.equal(agentDbProblem(dir), 'is empty');
    writeFileSync(path, Buffer.alloc(8192, 'garbage!'));
    assert.match(agentDbProblem(dir) ?? '', /^is not a database or is corrupt \(file is not a database\)$/);
    rmSync(path);
    new Database(path).exec('CREATE TABLE other (x)');
    assert.equal(agentDbProblem(dir), 'holds no task table');
  });
});
