// Issue 11, items 1, 2 (the manager's side) and 5, as a user tries them: every command of the recorded
// trace (spec/engine-api-trace/secret-config.md) run with the unmodified docker CLI and with `shoal` against
// one shoald on loopback. Both CLIs must print the same bytes, and those bytes must be the trace's (with the
// IDs and times of this run in place of the recorded ones). Then what the trace adds in its notes or the
// issue asks for: label updates and Docker's 400 for a data change, the size limits, unknown secrets in a
// service, a secret in use refused for removal naming the service, the events — and, at the end, the
// secret's value nowhere in the daemon's log (at debug level) or its data dir.
//
// Services take secrets and configs (`--secret`, `--config-add`…); what their tasks see of them is
// test/e2e/secret-delivery.test.ts's.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, ShoalDaemon, type CommandResult } from '../harness/index.js';
import { freePort } from '../harness/ports.js';
import { comparable } from './support/relative-times.js';

const API = '/v1.41';
/** What must never show: the secrets' values, and their base64 forms as they travel in requests. */
const VALUES = ['s3cr3t', 'file-secret-content', 'rotated-value-0815', 'never-stored-value-4711'];
const leaks = (text: string): string[] =>
  VALUES.flatMap((v) => [
    v,
    Buffer.from(v).toString('base64'),
    Buffer.from(`${v}\n`).toString('base64'),
  ]).filter((needle) => text.includes(needle));

interface Meta {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
}

/** Go's time String() of an RFC 3339 time, as the --pretty pages print it (lowercased zone). */
const prettyTime = (ts: string): string => {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(ts)!;
  return `${m[1]} ${m[2]}${m[3] ?? ''} +0000 utc`;
};

describe('secrets and configs with the docker CLI and shoal', { timeout: 300_000 }, () => {
  let daemon: ShoalDaemon;
  const dir = (): string => daemon.workDir;

  const docker = (args: string[], input?: string): Promise<CommandResult> =>
    daemon.docker(args, input === undefined ? {} : { input });
  const shoal = (args: string[], input?: string): Promise<CommandResult> =>
    daemon.cli(args, input === undefined ? {} : { input });

  /** Runs a command that changes nothing with both CLIs; they must agree byte for byte. Returns docker's. */
  async function both(args: string[], input?: string): Promise<CommandResult> {
    // Relative times ("2 seconds ago") can tick between the two runs: try again when they differ only then.
    for (let attempt = 1; ; attempt++) {
      const theirs = await docker(args, input);
      const mine = await shoal(args, input);
      const agree =
        mine.stdout === theirs.stdout && mine.stderr === theirs.stderr && mine.code === theirs.code;
      if (agree) return theirs;
      if (attempt < 3 && /ago/.test(theirs.stdout)) continue;
      // Still a tick apart (a loaded machine): the same output but for the times and their column's width.
      const [mineOut, theirsOut] = comparable(mine.stdout, theirs.stdout);
      assert.deepEqual(
        { ...mine, stdout: mineOut },
        { ...theirs, stdout: theirsOut },
        `shoal ${args.join(' ')} printed what docker did`,
      );
      return theirs;
    }
  }

  const inspect = async <T>(kind: 'secrets' | 'configs', ref: string): Promise<T> =>
    daemon.apiOk<T>('GET', `${API}/${kind}/${ref}`);

  before(async () => {
    dockerCli(); // the real docker CLI is a test dependency: fail here, at once, when it is missing
    daemon = ShoalDaemon.onLoopback({ debug: true });
    await daemon.start();
    // Not a manager yet: Docker's 503, from both CLIs.
    const outside = await both(['secret', 'ls']);
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /^Error response from daemon: This node is not a swarm manager\./);
    await daemon.apiOk('POST', `${API}/swarm/init`, {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  describe('secrets', () => {
    it('create from stdin and from a file with labels, as the trace: the ID printed, Docker’s inspect', async () => {
      const created = await docker(['secret', 'create', 'mysecret', '-'], 's3cr3t');
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /^[0-9a-z]{25}\n$/);
      writeFileSync(join(dir(), 'secret.txt'), 'file-secret-content\n');
      const fromFile = await docker([
        'secret',
        'create',
        '--label',
        'a=b',
        'mysecret2',
        join(dir(), 'secret.txt'),
      ]);
      assert.match(fromFile.stdout, /^[0-9a-z]{25}\n$/);
      // shoal's own create, the example: printf s3cret | shoal secret create db_pw -
      const mine = await shoal(['secret', 'create', 'db_pw', '-'], 'rotated-value-0815');
      assert.equal(mine.code, 0, mine.stderr);
      assert.match(mine.stdout, /^[0-9a-z]{25}\n$/);

      const secret = await inspect<Meta>('secrets', 'mysecret');
      assert.equal(secret.ID, created.stdout.trim());
      const printed = await both(['secret', 'inspect', 'mysecret']);
      assert.equal(
        printed.stdout,
        `[
    {
        "ID": "${secret.ID}",
        "Version": {
            "Index": ${secret.Version.Index}
        },
        "CreatedAt": "${secret.CreatedAt}",
        "UpdatedAt": "${secret.UpdatedAt}",
        "Spec": {
            "Name": "mysecret",
            "Labels": {}
        }
    }
]
`,
      );
      const dbpw = await both(['secret', 'inspect', '--format', '{{json .Spec}}', 'db_pw']);
      assert.equal(dbpw.stdout, '{"Name":"db_pw","Labels":{}}\n');
      assert.deepEqual(await docker(['secret', 'rm', 'db_pw']), { stdout: 'db_pw\n', stderr: '', code: 0 });
    });

    it('a duplicate name: Docker’s 409 from both CLIs', async () => {
      for (const cli of [docker, shoal]) {
        const r = await cli(['secret', 'create', 'mysecret', '-'], 'x');
        assert.deepEqual(r, {
          stdout: '',
          stderr:
            'Error response from daemon: rpc error: code = AlreadyExists desc = secret mysecret already exists\n',
          code: 1,
        });
      }
    });

    it('ls, ls -f name=… --format json, -q', async () => {
      const [s1, s2] = [
        await inspect<Meta>('secrets', 'mysecret'),
        await inspect<Meta>('secrets', 'mysecret2'),
      ];
      const ls = await both(['secret', 'ls']);
      const ago = '(Less than a second ago|\\d+ seconds? ago)';
      assert.match(
        ls.stdout,
        new RegExp(
          `^ID {26}NAME {8}DRIVER {4}CREATED +UPDATED\n${s1.ID} {3}mysecret {14}${ago} +${ago}\n${s2.ID} {3}mysecret2 {13}${ago} +${ago}\n$`,
        ),
      );
      const json = await both(['secret', 'ls', '-f', 'name=mysecret', '--format', 'json']);
      assert.match(
        json.stdout,
        new RegExp(
          `^\\{"CreatedAt":"${ago}","Driver":"","ID":"${s1.ID}","Labels":"","Name":"mysecret","UpdatedAt":"${ago}"\\}\n` +
            `\\{"CreatedAt":"${ago}","Driver":"","ID":"${s2.ID}","Labels":"a=b","Name":"mysecret2","UpdatedAt":"${ago}"\\}\n$`,
        ),
      );
      assert.equal((await both(['secret', 'ls', '-q', '-f', 'label=a=b'])).stdout, `${s2.ID}\n`);
      assert.equal(
        (await both(['secret', 'ls', '-q', '-f', `id=${s1.ID.slice(0, 6)}`])).stdout,
        `${s1.ID}\n`,
      );
    });

    it('inspect --pretty, and an unknown secret', async () => {
      const s2 = await inspect<Meta>('secrets', 'mysecret2');
      const pretty = await both(['secret', 'inspect', '--pretty', 'mysecret2']);
      assert.equal(
        pretty.stdout,
        `ID:              ${s2.ID}\nName:              mysecret2\nLabels:\n - a=b\nDriver:            \n` +
          `Created at:        ${prettyTime(s2.CreatedAt)}\nUpdated at:        ${prettyTime(s2.UpdatedAt)}\n`,
      );
      assert.deepEqual(await both(['secret', 'inspect', 'nosuchsecret']), {
        stdout: '[]\n',
        stderr: 'Error response from daemon: secret nosuchsecret not found\n',
        code: 1,
      });
    });

    it('update: labels change; Docker’s 400 for a data change, a stale version, a bad version', async () => {
      const s2 = await inspect<Meta>('secrets', 'mysecret2');
      const path = `${API}/secrets/${s2.ID}/update?version=${s2.Version.Index}`;
      // What docker stack deploy sends: the same data again, new labels.
      const same = await daemon.api('POST', path, {
        Name: 'mysecret2',
        Labels: { a: 'c' },
        Data: Buffer.from('file-secret-content\n').toString('base64'),
      });
      assert.equal(same.status, 200);
      assert.equal(same.text, '');
      assert.equal(
        (await both(['secret', 'inspect', '-f', '{{json .Spec.Labels}}', 'mysecret2'])).stdout,
        '{"a":"c"}\n',
      );
      const fresh = await inspect<Meta>('secrets', 'mysecret2');
      const changed = await daemon.api(
        'POST',
        `${API}/secrets/${s2.ID}/update?version=${fresh.Version.Index}`,
        {
          Name: 'mysecret2',
          Labels: {},
          Data: Buffer.from('never-stored-value-4711').toString('base64'),
        },
      );
      assert.deepEqual(
        [changed.status, changed.body],
        [400, { message: 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed' }],
      );
      const stale = await daemon.api('POST', path, { Name: 'mysecret2' });
      assert.deepEqual(
        [stale.status, stale.body],
        [500, { message: 'rpc error: code = Unknown desc = update out of sequence' }],
      );
      const bad = await daemon.api('POST', `${API}/secrets/${s2.ID}/update?version=x`, { Name: 'mysecret2' });
      assert.deepEqual([bad.status, bad.body], [400, { message: 'invalid secret version' }]);
    });

    it('over the size limit, a bad name, an external driver: refused with Docker’s texts (or a clear one)', async () => {
      const big = 'a'.repeat(512_000);
      for (const cli of [docker, shoal]) {
        assert.deepEqual(await cli(['secret', 'create', 'big', '-'], big), {
          stdout: '',
          stderr:
            'Error response from daemon: rpc error: code = InvalidArgument desc = secret data must be larger than 0 and less than 512000 bytes\n',
          code: 1,
        });
      }
      assert.equal((await docker(['secret', 'create', 'big', '-'], big.slice(1))).code, 0);
      assert.equal((await shoal(['secret', 'rm', 'big'])).stdout, 'big\n');
      const badName = await both(['secret', 'create', '--', '-bad', '-'], 'never-stored-value-4711');
      assert.equal(
        badName.stderr,
        'Error response from daemon: rpc error: code = InvalidArgument desc = invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]\n',
      );
      const driver = await both(['secret', 'create', '--driver', 'vault', 'ext']);
      assert.equal(
        driver.stderr,
        'Error response from daemon: secret driver "vault" is not available: shoal has no secret driver plugins; create the secret with its data instead\n',
      );
    });
  });

  describe('configs', () => {
    it('create from stdin and from a file with a label and --template-driver golang', async () => {
      const created = await docker(['config', 'create', 'myconfig', '-'], 'hello config');
      assert.match(created.stdout, /^[0-9a-z]{25}\n$/);
      writeFileSync(join(dir(), 'config.txt'), 'listen {{ env "HOSTNAME" }}\n');
      const templated = await shoal([
        'config',
        'create',
        '--label',
        'c=d',
        '--template-driver',
        'golang',
        'myconfig2',
        join(dir(), 'config.txt'),
      ]);
      assert.equal(templated.code, 0, templated.stderr);
      assert.match(templated.stdout, /^[0-9a-z]{25}\n$/);
      for (const cli of [docker, shoal]) {
        assert.deepEqual(await cli(['config', 'create', 'myconfig', '-'], 'x'), {
          stdout: '',
          stderr:
            'Error response from daemon: rpc error: code = AlreadyExists desc = config myconfig already exists\n',
          code: 1,
        });
      }
    });

    it('ls, inspect (with the data), inspect --pretty (the data as text)', async () => {
      const [c1, c2] = [
        await inspect<Meta>('configs', 'myconfig'),
        await inspect<Meta>('configs', 'myconfig2'),
      ];
      const ls = await both(['config', 'ls']);
      const ago = '(Less than a second ago|\\d+ seconds? ago)';
      assert.match(
        ls.stdout,
        new RegExp(
          `^ID {26}NAME {8}CREATED +UPDATED\n${c1.ID} {3}myconfig {4}${ago} +${ago}\n${c2.ID} {3}myconfig2 {3}${ago} +${ago}\n$`,
        ),
      );
      assert.equal(
        (await both(['config', 'inspect', 'myconfig'])).stdout,
        `[
    {
        "ID": "${c1.ID}",
        "Version": {
            "Index": ${c1.Version.Index}
        },
        "CreatedAt": "${c1.CreatedAt}",
        "UpdatedAt": "${c1.UpdatedAt}",
        "Spec": {
            "Name": "myconfig",
            "Labels": {},
            "Data": "aGVsbG8gY29uZmln"
        }
    }
]
`,
      );
      assert.equal(
        (await both(['config', 'inspect', '--pretty', 'myconfig2'])).stdout,
        `ID:\t\t\t${c2.ID}\nName:\t\t\tmyconfig2\nLabels:\n - c=d\n` +
          `Created at:            \t${prettyTime(c2.CreatedAt)}\nUpdated at:            \t${prettyTime(c2.UpdatedAt)}\n` +
          'Data:\nlisten {{ env "HOSTNAME" }}\n\n',
      );
      assert.equal(
        (await both(['config', 'inspect', '-f', '{{json .Spec.Templating}}', 'myconfig2'])).stdout,
        '{"Name":"golang"}\n',
      );
      const raw = await daemon.api<{ Spec: { Data?: string } }[]>('GET', `${API}/configs`);
      assert.ok(raw.body.every((c) => c.Spec.Data));
    });

    it('rm, rm of an unknown config; the size limit', async () => {
      assert.deepEqual(await docker(['config', 'rm', 'myconfig2']), {
        stdout: 'myconfig2\n',
        stderr: '',
        code: 0,
      });
      assert.deepEqual(await both(['config', 'rm', 'nosuchconfig']), {
        stdout: '',
        stderr: 'Error response from daemon: config nosuchconfig not found\n',
        code: 1,
      });
      const big = 'a'.repeat(1_024_000);
      assert.deepEqual(await both(['config', 'create', 'big', '-'], big), {
        stdout: '',
        stderr:
          'Error response from daemon: rpc error: code = InvalidArgument desc = config data must be larger than 0 and less than 1024000 bytes\n',
        code: 1,
      });
    });
  });

  describe('events', () => {
    it('docker events --filter type=secret: create, update and remove, with the name only', async () => {
      const r = await docker([
        'events',
        '--since',
        '0',
        '--until',
        String(Date.now() / 1000),
        '--filter',
        'type=secret',
        '--format',
        '{{.Action}} {{json .Actor.Attributes}}',
      ]);
      const lines = r.stdout.trim().split('\n');
      assert.deepEqual(lines, [
        'create {"name":"mysecret"}',
        'create {"name":"mysecret2"}',
        'create {"name":"db_pw"}',
        'remove {"name":"db_pw"}',
        'update {"name":"mysecret2"}',
        'create {"name":"big"}',
        'remove {"name":"big"}',
      ]);
      const raw = await daemon.api('GET', `${API}/events?since=0&until=${Date.now() / 1000}`);
      assert.deepEqual(leaks(raw.text), []);
      assert.deepEqual(leaks((await daemon.api('GET', `${API}/secrets`)).text), []);
    });
  });

  describe('services and their secrets', () => {
    it('an unknown secret or config: the CLIs’ "not found", and the daemon’s', async () => {
      const create = ['service', 'create', '-d', '--no-resolve-image', '--name', 'refused'];
      for (const [flag, message] of [
        ['--secret', 'secret not found: nosuch\n'],
        ['--config', 'config not found: nosuch\n'],
      ] as const) {
        const r = await both([...create, flag, 'nosuch', 'busybox', 'sleep', '60']);
        assert.deepEqual([r.stderr, r.code], [message, 1]);
      }
      const direct = await daemon.api('POST', `${API}/services/create`, {
        Name: 'refused',
        TaskTemplate: {
          ContainerSpec: {
            Image: 'busybox',
            Secrets: [
              {
                File: { Name: 'x', UID: '0', GID: '0', Mode: 292 },
                SecretID: 'nosuchid',
                SecretName: 'nosuch',
              },
            ],
          },
        },
      });
      assert.deepEqual(
        [direct.status, direct.body],
        [400, { message: 'rpc error: code = InvalidArgument desc = secret not found: nosuch' }],
      );
    });

    it('a service takes an existing secret and config, on create and on update', async () => {
      await docker([
        'service',
        'create',
        '-d',
        '--no-resolve-image',
        '--name',
        'web',
        'busybox',
        'sleep',
        '600',
      ]);
      const update = await shoal([
        'service',
        'update',
        '-d',
        '--secret-add',
        'mysecret',
        '--config-add',
        'source=myconfig,target=/etc/app.conf',
        'web',
      ]);
      assert.equal(update.code, 0, update.stderr);
      const refs = await docker([
        'service',
        'inspect',
        '-f',
        '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}}:{{.File.Name}} {{end}}' +
          '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}}:{{.File.Name}}{{end}}',
        'web',
      ]);
      assert.equal(refs.stdout, 'mysecret:mysecret myconfig:/etc/app.conf\n');
    });

    it('invalid targets: two at one target, refused by both CLIs; no target, an empty one or a shared one, by the daemon in swarmkit’s words', async () => {
      const create = ['service', 'create', '-d', '--no-resolve-image', '--name', 'refused'];
      assert.deepEqual(
        await both([
          ...create,
          '--secret',
          'source=mysecret,target=x',
          '--secret',
          'source=mysecret2,target=x',
          'busybox',
          'true',
        ]),
        { stdout: '', stderr: 'duplicate secret target for mysecret2 not allowed\n', code: 1 },
      );
      const s1 = await inspect<Meta>('secrets', 'mysecret');
      const s2 = await inspect<Meta>('secrets', 'mysecret2');
      const c1 = await inspect<Meta>('configs', 'myconfig');
      const file = (name: string) => ({ File: { Name: name, UID: '0', GID: '0', Mode: 0o444 } });
      const secret = (id: string, name: string, target?: string) => ({
        SecretID: id,
        SecretName: name,
        ...(target === undefined ? {} : file(target)),
      });
      const config = (target?: string) => ({
        ConfigID: c1.ID,
        ConfigName: 'myconfig',
        ...(target === undefined ? {} : file(target)),
      });
      const cases: [refs: Record<string, unknown>, message: string][] = [
        [{ Secrets: [secret(s1.ID, 'mysecret')] }, 'malformed secret reference, no target provided'],
        [
          { Secrets: [secret(s1.ID, 'mysecret', '')] },
          'malformed file secret reference, invalid target file name provided',
        ],
        [
          { Secrets: [secret(s1.ID, 'mysecret', 'x'), secret(s2.ID, 'mysecret2', 'x')] },
          "secret references 'mysecret' and 'mysecret2' have a conflicting target: 'x'",
        ],
        [{ Configs: [config()] }, 'malformed config reference, no target provided'],
        [{ Configs: [config('')] }, 'malformed file config reference, invalid target file name provided'],
        [
          { Configs: [config('/etc/a'), config('/etc/a')] },
          "config references 'myconfig' and 'myconfig' have a conflicting target: '/etc/a'",
        ],
      ];
      for (const [refs, message] of cases) {
        const r = await daemon.api('POST', `${API}/services/create`, {
          Name: 'refused',
          TaskTemplate: { ContainerSpec: { Image: 'busybox', ...refs } },
        });
        assert.deepEqual(
          [r.status, r.body],
          [400, { message: `rpc error: code = InvalidArgument desc = ${message}` }],
          JSON.stringify(refs),
        );
      }
      const names = (await daemon.apiOk<{ Spec: { Name: string } }[]>('GET', `${API}/services`)).map(
        (service) => service.Spec.Name,
      );
      assert.ok(!names.includes('refused'), `no service created: ${names.join(' ')}`);
    });

    it('rm of a secret or config a service uses: Docker’s 400 naming the service; once it is gone, rm works', async () => {
      assert.deepEqual(await both(['secret', 'rm', 'mysecret']), {
        stdout: '',
        stderr:
          "Error response from daemon: rpc error: code = InvalidArgument desc = secret 'mysecret' is in use by the following service: web\n",
        code: 1,
      });
      assert.deepEqual(await both(['config', 'rm', 'myconfig']), {
        stdout: '',
        stderr:
          "Error response from daemon: rpc error: code = InvalidArgument desc = config 'myconfig' is in use by the following service: web\n",
        code: 1,
      });
      assert.equal((await docker(['service', 'rm', 'web'])).code, 0);
      assert.deepEqual(await docker(['secret', 'rm', 'mysecret']), {
        stdout: 'mysecret\n',
        stderr: '',
        code: 0,
      });
      assert.deepEqual(await shoal(['config', 'rm', 'myconfig']), {
        stdout: 'myconfig\n',
        stderr: '',
        code: 0,
      });
      assert.deepEqual(await both(['secret', 'rm', 'nosuchsecret']), {
        stdout: '',
        stderr: 'Error response from daemon: secret nosuchsecret not found\n',
        code: 1,
      });
    });
  });

  describe('never leaked', () => {
    it('the secrets’ values are nowhere in the daemon’s log (debug level) or in its data dir', async () => {
      await daemon.stop(); // everything flushed to disk
      const log = daemon.logs();
      assert.match(log, /"level":"debug"/, 'the log is at debug level');
      assert.match(log, /\/secrets\/create/, 'the requests are logged');
      assert.deepEqual(leaks(log), [], 'the daemon log');
      const files: string[] = [];
      const walk = (path: string): void => {
        for (const entry of readdirSync(path)) {
          const full = join(path, entry);
          const stat = statSync(full, { throwIfNoEntry: false });
          if (stat?.isDirectory()) walk(full);
          else if (stat?.isFile()) files.push(full);
        }
      };
      walk(daemon.dataDir);
      assert.ok(files.some((f) => f.endsWith('store.db')));
      for (const file of files) {
        assert.deepEqual(leaks(readFileSync(file).toString('latin1')), [], file);
      }
    });
  });
});
