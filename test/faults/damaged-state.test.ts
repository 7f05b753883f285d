// Lost or damaged state is said, never silently reset (issue 8). For each file a node needs to resume its
// swarm, the test stops a one-node swarm, damages the file, and starts the daemon again: it must come up,
// say in /info which file is wrong and what to do, leave the file as it found it, let `docker swarm leave
// --force` clean up, and then let `docker swarm init` make a new swarm (which the next case damages).
// First, the state at rest itself: private files, and no join token in clear in the store.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { freePort, type ShoalDaemon } from '../harness/index.js';
import { ANSWER_WITHIN_MS, API, createSleepService, startSwarm, waitForRunning } from './support.js';

interface Damage {
  name: string;
  /** The damaged file, relative to the data dir. */
  file: string;
  damage(path: string): void;
  /** What /info must say about it (after the file's path). */
  problem: RegExp;
}

const STORE = 'swarm/manager/store.db';
const REMEDY = 'run "docker swarm leave --force", then init or join again';

const removeWithCompanions = (path: string): void => {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
};

const DAMAGES: Damage[] = [
  {
    name: 'store.db removed',
    file: STORE,
    damage: removeWithCompanions,
    problem: /^ is missing: this node's swarm state is lost; /,
  },
  {
    name: 'store.db truncated to 0 bytes',
    file: STORE,
    damage: (path) => {
      rmSync(`${path}-wal`, { force: true });
      rmSync(`${path}-shm`, { force: true });
      truncateSync(path, 0);
    },
    problem: /^ is empty: this node's swarm state is lost; /,
  },
  {
    name: 'garbage written into store.db',
    file: STORE,
    damage: (path) => {
      rmSync(`${path}-wal`, { force: true });
      rmSync(`${path}-shm`, { force: true });
      writeFileSync(path, Buffer.alloc(64 * 1024, 'not a database, just garbage. '));
    },
    problem: /^ is not a database or is corrupt \(file is not a database\): /,
  },
  {
    name: 'state.json truncated',
    file: 'swarm/state.json',
    damage: (path) => truncateSync(path, 20),
    problem: /^ is not valid JSON \(.*\): this node's swarm membership is lost; /,
  },
  {
    name: 'store.key removed',
    file: 'swarm/manager/store.key',
    damage: (path) => rmSync(path),
    problem: /^ is missing: the cluster's secrets, CA key and join tokens cannot be read; /,
  },
  {
    name: 'store.key replaced by another key',
    file: 'swarm/manager/store.key',
    damage: (path) => writeFileSync(path, randomBytes(32)),
    problem: /^ does not open the sealed data in the cluster store \S+store\.db: /,
  },
  {
    name: 'the node key removed',
    file: 'swarm/certificates/swarm-node.key',
    damage: (path) => rmSync(path),
    problem: /^ is missing: this node cannot prove its identity to the swarm; /,
  },
];

/** The file's bytes, or undefined when it does not exist: to prove the daemon left it alone. */
const snapshot = (path: string): Buffer | undefined => (existsSync(path) ? readFileSync(path) : undefined);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('damaged state', { timeout: 300_000 }, () => {
  let daemon: ShoalDaemon;

  before(async () => {
    daemon = await startSwarm();
  });
  afterEach((t) => daemon?.reportOnFailure(t));
  after(() => daemon?.destroy());

  it('keeps every file of the swarm directory 0600 (directories 0700) and no join token in clear', async () => {
    await createSleepService(daemon, 'at-rest');
    await waitForRunning(daemon, 'at-rest', 1);
    const wrong: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const stat = lstatSync(path);
        if (stat.isSymbolicLink()) continue;
        const expected = stat.isDirectory() ? 0o700 : 0o600;
        if ((stat.mode & 0o777) !== expected) wrong.push(`${(stat.mode & 0o777).toString(8)} ${path}`);
        if (stat.isDirectory()) walk(path);
      }
    };
    walk(join(daemon.dataDir, 'swarm'));
    assert.deepEqual(wrong, []);

    const manager = join(daemon.dataDir, 'swarm', 'manager');
    const files = readdirSync(manager).filter((name) => name.startsWith('store.db'));
    assert.ok(files.includes('store.db-wal'), 'control: the store is open, its WAL holds the newest writes');
    const raw = Buffer.concat(files.map((name) => readFileSync(join(manager, name))));
    assert.ok(!raw.includes('SWMTKN-'), 'a join token is in the store in clear');
    // Sealed at rest, in clear for whoever may read them.
    const token = await daemon.docker(['swarm', 'join-token', '-q', 'worker']);
    assert.match(token.stdout.trim(), /^SWMTKN-1-\w+-\w+$/);
    await daemon.apiOk('DELETE', `${API}/services/at-rest`);
  });

  for (const damage of DAMAGES) {
    it(`${damage.name}: says so in /info, keeps the file as found, and leave --force then init work`, async () => {
      await createSleepService(daemon, 'victim');
      await waitForRunning(daemon, 'victim', 1);
      await daemon.stop();
      const path = join(daemon.dataDir, damage.file);
      damage.damage(path);
      const damaged = snapshot(path);

      await daemon.start();
      for (const probe of ['/_ping', `${API}/info`]) {
        const started = Date.now();
        const response = await daemon.api<{ Swarm: { LocalNodeState: string; Error: string } }>('GET', probe);
        const took = Date.now() - started;
        assert.equal(response.status, 200, `${probe}: ${response.text}`);
        assert.ok(took <= ANSWER_WITHIN_MS, `${probe} took ${took} ms`);
        if (probe === '/_ping') continue;
        const swarm = response.body.Swarm;
        assert.equal(swarm.LocalNodeState, 'error');
        assert.match(swarm.Error, new RegExp(`${escape(path)}${damage.problem.source.slice(1)}`));
        assert.ok(swarm.Error.includes(REMEDY), swarm.Error);
      }
      // The swarm's calls say the same; nothing runs that could recreate or overwrite the file.
      const services = await daemon.api<{ message: string }>('GET', `${API}/services`);
      assert.equal(services.status, 503);
      assert.ok(services.body.message.includes(path), services.text);
      assert.deepEqual(snapshot(path), damaged, `${damage.file} was changed`);

      const left = await daemon.docker(['swarm', 'leave', '--force']);
      assert.equal(left.code, 0, left.stderr);
      assert.equal(existsSync(join(daemon.dataDir, 'swarm')), false, 'leave --force removed the swarm state');
      const info = await daemon.apiOk<{ Swarm: { LocalNodeState: string } }>('GET', `${API}/info`);
      assert.equal(info.Swarm.LocalNodeState, 'inactive');

      const init = await daemon.docker([
        'swarm',
        'init',
        '--advertise-addr',
        '127.0.0.1',
        '--listen-addr',
        `127.0.0.1:${await freePort()}`,
      ]);
      assert.equal(init.code, 0, init.stderr);
      const after = await daemon.apiOk<{ Swarm: { LocalNodeState: string } }>('GET', `${API}/info`);
      assert.equal(after.Swarm.LocalNodeState, 'active');
    });
  }
});
