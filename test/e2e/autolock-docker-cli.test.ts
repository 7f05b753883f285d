// Autolock as a user tries it, with the docker CLI and shoal's, on the embedded store and on etcd: `swarm init
// --autolock` prints the key; a restarted manager is locked (Docker's 503) until `swarm unlock`; a wrong key
// gets Docker's 401; a rotated key works and the old one does not; `swarm update --autolock=false` ends it;
// the data key file never holds the data key in clear while autolock is on.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';

import { freePort, ShoalDaemon, waitFor, type CommandResult } from '../harness/index.js';

/** Files under `dir` whose bytes contain `text`. */
function filesContaining(dir: string, text: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((name) => join(dir, name))
    .filter((path) => {
      try {
        return statSync(path).isFile() && readFileSync(path).includes(text);
      } catch {
        return false; // gone meanwhile, or a socket
      }
    });
}

const LOCKED =
  'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';

for (const datastore of ['embedded', 'etcd'] as const) {
  describe(`autolock (${datastore} store)`, { timeout: 180_000 }, () => {
    let daemon: ShoalDaemon | undefined;
    afterEach((t) => daemon?.reportOnFailure(t));
    after(() => daemon?.destroy());

    it('locks a restarted manager until the right key is given, rotates, and turns off', async () => {
      daemon = ShoalDaemon.onLoopback({
        extraArgs: [
          '--etcd-client-port',
          String(await freePort()),
          '--etcd-peer-port',
          String(await freePort()),
        ],
      });
      const d = daemon;
      await d.start();
      const docker = (args: string[], input?: string): Promise<CommandResult> =>
        d.docker(args, input === undefined ? {} : { input });
      const ok = async (args: string[], input?: string): Promise<string> => {
        const result = await docker(args, input);
        assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
        return result.stdout;
      };
      const keyFile = join(d.dataDir, 'swarm', 'manager', 'store.key');

      // init: with the docker CLI on the embedded store; with shoal's (which knows --datastore) on etcd.
      const listen = `127.0.0.1:${await freePort()}`;
      const init =
        datastore === 'embedded'
          ? await docker([
              'swarm',
              'init',
              '--autolock',
              '--listen-addr',
              listen,
              '--advertise-addr',
              '127.0.0.1',
            ])
          : await d.cli([
              'swarm',
              'init',
              '--autolock',
              '--datastore',
              'etcd',
              '--listen-addr',
              listen,
              '--advertise-addr',
              '127.0.0.1',
            ]);
      assert.equal(init.code, 0, init.stderr);
      const key = /(SWMKEY-1-\S+)/.exec(init.stdout)?.[1];
      assert.ok(key, init.stdout);
      assert.match(
        init.stdout,
        /To unlock a swarm manager after it restarts, run the `(docker|shoal) swarm unlock`/,
      );
      assert.equal((await ok(['swarm', 'unlock-key', '-q'])).trim(), key);
      assert.ok(
        readFileSync(keyFile).toString().startsWith('shoal-wrapped-data-key-v1:'),
        'the data key is wrapped',
      );
      await ok(['service', 'create', '--detach', '--name', 'kept', 'busybox', 'sleep', '3600']);
      await ok(['secret', 'create', 'locked-secret', '-'], 'autolock-secret-value-5150');

      // Restarted: locked.
      await d.restart();
      // (Resuming takes a moment on etcd: its member starts first.)
      const state = () => ok(['info', '--format', '{{.Swarm.LocalNodeState}}']).then((out) => out.trim());
      await waitFor(state, { until: (value) => value === 'locked', timeoutMs: 30_000 });
      const refused = await docker(['service', 'ls']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, new RegExp(LOCKED.replace(/[.()"]/g, '\\$&')));
      const status = await d.api('GET', '/v1.41/services');
      assert.equal(status.status, 503);

      // A wrong key: Docker's 401; a malformed one: 400.
      const wrong = await docker(
        ['swarm', 'unlock'],
        'SWMKEY-1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n',
      );
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /swarm could not be unlocked: invalid key provided/);
      assert.equal(
        (
          await d.api('POST', '/v1.41/swarm/unlock', {
            UnlockKey: 'SWMKEY-1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          })
        ).status,
        401,
      );
      assert.equal((await d.api('POST', '/v1.41/swarm/unlock', { UnlockKey: 'not-a-key' })).status, 400);

      // The right key: back, with everything.
      await ok(['swarm', 'unlock'], `${key}\n`);
      assert.equal((await ok(['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim(), 'active');
      assert.equal((await ok(['service', 'ls', '--format', '{{.Name}}'])).trim(), 'kept');
      assert.equal((await ok(['secret', 'ls', '--format', '{{.Name}}'])).trim(), 'locked-secret');
      const again = await docker(['swarm', 'unlock'], `${key}\n`);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /swarm is not locked/);

      // Rotated: the new key opens it after a restart, the old one does not.
      const wrappedBefore = readFileSync(keyFile);
      const rotatedOut = await ok(['swarm', 'unlock-key', '--rotate']);
      assert.match(rotatedOut, /Successfully rotated manager unlock key\./);
      const rotated = (await ok(['swarm', 'unlock-key', '-q'])).trim();
      assert.notEqual(rotated, key);
      // The manager rewraps its data key under the new one.
      await waitFor(() => !readFileSync(keyFile).equals(wrappedBefore), { timeoutMs: 5_000 });
      await d.restart();
      await waitFor(state, { until: (value) => value === 'locked', timeoutMs: 30_000 });
      const old = await docker(['swarm', 'unlock'], `${key}\n`);
      assert.match(old.stderr, /invalid key provided/);
      await ok(['swarm', 'unlock'], `${rotated}\n`);

      // No secret in clear anywhere in the data dir (the store, etcd's files, the key file).
      for (const text of [
        'autolock-secret-value-5150',
        Buffer.from('autolock-secret-value-5150').toString('base64'),
      ]) {
        assert.deepEqual(filesContaining(d.dataDir, text), [], `${text} in the data dir`);
      }

      // Off: a restart is not locked any more.
      await ok(['swarm', 'update', '--autolock=false']);
      await waitFor(() => !readFileSync(keyFile).toString().startsWith('shoal-wrapped-data-key-v1:'), {
        timeoutMs: 5_000,
      });
      const none = await docker(['swarm', 'unlock-key', '-q']);
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /no unlock key is set/);
      await d.restart();
      await waitFor(
        async () => (await docker(['service', 'ls', '--format', '{{.Name}}'])).stdout.trim() === 'kept',
        {
          timeoutMs: 30_000,
        },
      );
    });
  });
}
