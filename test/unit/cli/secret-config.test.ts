// `shoal secret …` and `shoal config …` against a scripted daemon: the requests the docker CLI sends for each
// command of the recorded traces (spec/engine-api-trace/secret-config.md), and what it prints for the
// daemon's answers there, byte for byte.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { Config, Secret } from '../../../src/api/types.js';
import { main } from '../../../src/cli/program.js';
import { BufferStream } from '../../../src/cli/streams.js';
import { FakeClient, routes, type RunResult } from './helpers.js';

/** Runs `shoal <argv>` with `stdin` as its input, at the time the trace's `ls` ran. */
async function shoal(
  argv: string[],
  client: FakeClient,
  stdin = '',
  now = '2026-11-25T21:50:14.500Z',
): Promise<RunResult> {
  const out = new BufferStream(false);
  const err = new BufferStream(false);
  const input = Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]);
  const code = await main(
    argv,
    { out, err, in: input, inIsTerminal: false },
    {},
    {
      clientFactory: () => client,
      now: () => Date.parse(now),
    },
  );
  return { out: out.text, err: err.text, code };
}

// The daemon's answers in the trace.
const MYSECRET: Secret = {
  ID: 'fmgyijuvs8ihg0fzs59s8u12k',
  Version: { Index: 73 },
  CreatedAt: '2026-11-25T21:50:12.432943345Z',
  UpdatedAt: '2026-11-25T21:50:12.432943345Z',
  Spec: { Name: 'mysecret', Labels: {} },
};
const MYSECRET2: Secret = {
  ID: 'm2xt4bh9jio8a5uc57j15k9qz',
  Version: { Index: 74 },
  CreatedAt: '2026-11-25T21:50:13.367457983Z',
  UpdatedAt: '2026-11-25T21:50:13.367457983Z',
  Spec: { Name: 'mysecret2', Labels: { a: 'b' } },
};
const MYCONFIG2: Config = {
  ID: '6kb5i6srz1fx42dhr27w6djfr',
  Version: { Index: 77 },
  CreatedAt: '2026-11-25T21:50:22.677463457Z',
  UpdatedAt: '2026-11-25T21:50:22.677463457Z',
  Spec: {
    Name: 'myconfig2',
    Labels: { c: 'd' },
    Data: 'bGlzdGVuIHt7IGVudiAiSE9TVE5BTUUiIH19Cg==',
    Templating: { Name: 'golang' },
  },
};
const MYCONFIG: Config = {
  ID: 'xh3tkm047i2ti14tfovf1589f',
  Version: { Index: 76 },
  CreatedAt: '2026-11-25T21:50:21.754379871Z',
  UpdatedAt: '2026-11-25T21:50:21.754379871Z',
  Spec: { Name: 'myconfig', Labels: {}, Data: 'aGVsbG8gY29uZmln' },
};

const dir = mkdtempSync(join(tmpdir(), 'shoal-secret-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('secret create', () => {
  it('from stdin: the trace’s body, the ID printed', async () => {
    const client = new FakeClient(
      routes({ 'POST /secrets/create': { status: 201, body: { ID: MYSECRET.ID } } }),
    );
    const r = await shoal(['secret', 'create', 'mysecret', '-'], client, 's3cr3t');
    assert.deepEqual(r, { out: `${MYSECRET.ID}\n`, err: '', code: 0 });
    assert.deepEqual(
      client.requests.map((q) => [q.method, q.path, q.body]),
      [['POST', '/secrets/create', '{"Name":"mysecret","Labels":{},"Data":"czNjcjN0"}']],
    );
  });

  it('from a file, with a label', async () => {
    const path = join(dir, 'secret.txt');
    writeFileSync(path, 'file-secret-content\n');
    const client = new FakeClient(
      routes({ 'POST /secrets/create': { status: 201, body: { ID: MYSECRET2.ID } } }),
    );
    const r = await shoal(['secret', 'create', '--label', 'a=b', 'mysecret2', path], client);
    assert.equal(r.out, `${MYSECRET2.ID}\n`);
    assert.equal(
      client.requests[0]!.body,
      '{"Name":"mysecret2","Labels":{"a":"b"},"Data":"ZmlsZS1zZWNyZXQtY29udGVudAo="}',
    );
  });

  it('with --driver and --template-driver', async () => {
    const client = new FakeClient(routes({ 'POST /secrets/create': { status: 201, body: { ID: 'x' } } }));
    await shoal(['secret', 'create', '--template-driver', 'golang', 'tpl', '-'], client, 'a');
    await shoal(['secret', 'create', '-d', 'vault', 'ext'], client);
    assert.deepEqual(
      client.requests.map((q) => q.body),
      [
        '{"Name":"tpl","Labels":{},"Data":"YQ==","Templating":{"Name":"golang"}}',
        '{"Name":"ext","Labels":{},"Driver":{"Name":"vault"}}',
      ],
    );
  });

  it('the daemon’s refusal, and what the CLI refuses itself', async () => {
    const client = new FakeClient(
      routes({
        'POST /secrets/create': {
          status: 409,
          body: { message: 'rpc error: code = AlreadyExists desc = secret mysecret already exists' },
        },
      }),
    );
    assert.deepEqual(await shoal(['secret', 'create', 'mysecret', '-'], client, 'x'), {
      out: '',
      err: 'Error response from daemon: rpc error: code = AlreadyExists desc = secret mysecret already exists\n',
      code: 1,
    });
    const cases: [string[], string][] = [
      [['secret', 'create', 'a', '-'], 'error reading from STDIN: data is empty'],
      [['secret', 'create', 'a'], 'secret file is required'],
      [['secret', 'create', '-d', 'x', 'a', '-'], 'When using secret driver secret data must be empty'],
      [
        ['secret', 'create', 'a', join(dir, 'nosuch')],
        `error reading from ${join(dir, 'nosuch')}: open ${join(dir, 'nosuch')}: no such file or directory`,
      ],
      [['secret', 'create', 'a', dir], `error reading from ${dir}: read ${dir}: is a directory`],
      [
        ['config', 'create', 'a', '-'],
        'Error reading content from "-": error reading from STDIN: data is empty',
      ],
    ];
    for (const [argv, message] of cases) {
      const idle = new FakeClient(() => undefined);
      assert.deepEqual(await shoal(argv, idle), { out: '', err: `${message}\n`, code: 1 }, argv.join(' '));
      assert.deepEqual(idle.requests, []);
    }
    const flag = await shoal(
      ['secret', 'create', '-l', 'a b=c', 'x', '-'],
      new FakeClient(() => undefined),
      'x',
    );
    assert.equal(flag.code, 125);
    assert.match(
      flag.err,
      /^invalid argument "a b=c" for "-l, --label" flag: label 'a b' contains whitespaces\n/,
    );
  });
});

describe('secret ls, inspect, rm', () => {
  const daemon = (): FakeClient =>
    new FakeClient(
      routes({
        'GET /secrets/mysecret2': { body: MYSECRET2 },
        'GET /secrets/mysecret': { body: MYSECRET },
        'GET /secrets/nosuchsecret': { status: 404, body: { message: 'secret nosuchsecret not found' } },
        'GET /secrets': { body: [MYSECRET, MYSECRET2] },
        'DELETE /secrets/mysecret2': { status: 204 },
        'DELETE /secrets/nosuchsecret': { status: 404, body: { message: 'secret nosuchsecret not found' } },
        'DELETE /secrets/mysecret': {
          status: 400,
          body: {
            message:
              "rpc error: code = InvalidArgument desc = secret 'mysecret' is in use by the following service: web",
          },
        },
      }),
    );

  it('ls: the table', async () => {
    const r = await shoal(['secret', 'ls'], daemon());
    assert.equal(
      r.out,
      'ID                          NAME        DRIVER    CREATED         UPDATED\n' +
        'fmgyijuvs8ihg0fzs59s8u12k   mysecret              2 seconds ago   2 seconds ago\n' +
        'm2xt4bh9jio8a5uc57j15k9qz   mysecret2             1 second ago    1 second ago\n',
    );
  });

  it('ls -f name=… --format json: the filter sent, one JSON object per line', async () => {
    const client = daemon();
    const r = await shoal(
      ['secret', 'ls', '-f', 'name=mysecret', '--format', 'json'],
      client,
      '',
      '2026-11-25T21:50:15.500Z',
    );
    assert.equal(client.lines.at(-1), 'GET /secrets?filters=%7B%22name%22%3A%7B%22mysecret%22%3Atrue%7D%7D');
    assert.equal(
      r.out,
      '{"CreatedAt":"3 seconds ago","Driver":"","ID":"fmgyijuvs8ihg0fzs59s8u12k","Labels":"","Name":"mysecret","UpdatedAt":"3 seconds ago"}\n' +
        '{"CreatedAt":"2 seconds ago","Driver":"","ID":"m2xt4bh9jio8a5uc57j15k9qz","Labels":"a=b","Name":"mysecret2","UpdatedAt":"2 seconds ago"}\n',
    );
  });

  it('ls -q and a custom template sorted by name', async () => {
    assert.equal((await shoal(['secret', 'ls', '-q'], daemon())).out, `${MYSECRET.ID}\n${MYSECRET2.ID}\n`);
    assert.equal(
      (await shoal(['secret', 'ls', '--format', '{{.Name}} {{.Label "a"}}|{{.Labels}}'], daemon())).out,
      'mysecret |\nmysecret2 b|a=b\n',
    );
  });

  it('inspect: Docker’s indented JSON', async () => {
    const r = await shoal(['secret', 'inspect', 'mysecret'], daemon());
    assert.equal(
      r.out,
      `[
    {
        "ID": "fmgyijuvs8ihg0fzs59s8u12k",
        "Version": {
            "Index": 73
        },
        "CreatedAt": "2026-11-25T21:50:12.432943345Z",
        "UpdatedAt": "2026-11-25T21:50:12.432943345Z",
        "Spec": {
            "Name": "mysecret",
            "Labels": {}
        }
    }
]
`,
    );
  });

  it('inspect --pretty', async () => {
    const r = await shoal(['secret', 'inspect', '--pretty', 'mysecret2'], daemon());
    assert.equal(
      r.out,
      'ID:              m2xt4bh9jio8a5uc57j15k9qz\n' +
        'Name:              mysecret2\n' +
        'Labels:\n' +
        ' - a=b\n' +
        'Driver:            \n' +
        'Created at:        2026-11-25 21:50:13.367457983 +0000 utc\n' +
        'Updated at:        2026-11-25 21:50:13.367457983 +0000 utc\n',
    );
  });

  it('inspect of an unknown secret: [] and the daemon’s message; --pretty prints nothing', async () => {
    assert.deepEqual(await shoal(['secret', 'inspect', 'nosuchsecret'], daemon()), {
      out: '[]\n',
      err: 'Error response from daemon: secret nosuchsecret not found\n',
      code: 1,
    });
    assert.deepEqual(await shoal(['secret', 'inspect', '--pretty', 'mysecret', 'nosuchsecret'], daemon()), {
      out: '',
      err: 'Error response from daemon: secret nosuchsecret not found\n',
      code: 1,
    });
    assert.deepEqual(await shoal(['secret', 'inspect', '--format', 'pretty {{.ID}}', 'x'], daemon()), {
      out: '',
      err: 'cannot supply extra formatting options to the pretty template\n',
      code: 1,
    });
  });

  it('rm: each name printed as it goes, the errors at the end', async () => {
    assert.deepEqual(await shoal(['secret', 'rm', 'mysecret2'], daemon()), {
      out: 'mysecret2\n',
      err: '',
      code: 0,
    });
    assert.deepEqual(await shoal(['secret', 'rm', 'nosuchsecret', 'mysecret2', 'mysecret'], daemon()), {
      out: 'mysecret2\n',
      err:
        'Error response from daemon: secret nosuchsecret not found\n' +
        "Error response from daemon: rpc error: code = InvalidArgument desc = secret 'mysecret' is in use by the following service: web\n",
      code: 1,
    });
  });
});

describe('config', () => {
  const daemon = (): FakeClient =>
    new FakeClient(
      routes({
        'POST /configs/create': { status: 201, body: { ID: MYCONFIG2.ID } },
        'GET /configs/myconfig2': { body: MYCONFIG2 },
        'GET /configs/myconfig': { body: MYCONFIG },
        'GET /configs': { body: [MYCONFIG2, MYCONFIG] },
        'DELETE /configs/nosuchconfig': { status: 404, body: { message: 'config nosuchconfig not found' } },
        'DELETE /configs/myconfig2': { status: 204 },
      }),
    );

  it('create from a file with a label and --template-driver golang: the trace’s body', async () => {
    const path = join(dir, 'config.txt');
    writeFileSync(path, 'listen {{ env "HOSTNAME" }}\n');
    const client = daemon();
    const r = await shoal(
      ['config', 'create', '--label', 'c=d', '--template-driver', 'golang', 'myconfig2', path],
      client,
    );
    assert.equal(r.out, `${MYCONFIG2.ID}\n`);
    assert.equal(
      client.requests[0]!.body,
      '{"Name":"myconfig2","Labels":{"c":"d"},"Data":"bGlzdGVuIHt7IGVudiAiSE9TVE5BTUUiIH19Cg==","Templating":{"Name":"golang"}}',
    );
    const fromStdin = daemon();
    await shoal(['config', 'create', 'myconfig', '-'], fromStdin, 'hello config');
    assert.equal(fromStdin.requests[0]!.body, '{"Name":"myconfig","Labels":{},"Data":"aGVsbG8gY29uZmln"}');
  });

  it('ls: sorted by name, no DRIVER column', async () => {
    const r = await shoal(['config', 'ls'], daemon(), '', '2026-11-25T21:50:24.000Z');
    assert.equal(
      r.out,
      'ID                          NAME        CREATED         UPDATED\n' +
        'xh3tkm047i2ti14tfovf1589f   myconfig    2 seconds ago   2 seconds ago\n' +
        '6kb5i6srz1fx42dhr27w6djfr   myconfig2   1 second ago    1 second ago\n',
    );
  });

  it('inspect: the data, base64 in JSON, its bytes in a template as Go prints a []byte', async () => {
    const r = await shoal(['config', 'inspect', 'myconfig'], daemon());
    assert.equal(
      r.out,
      `[
    {
        "ID": "xh3tkm047i2ti14tfovf1589f",
        "Version": {
            "Index": 76
        },
        "CreatedAt": "2026-11-25T21:50:21.754379871Z",
        "UpdatedAt": "2026-11-25T21:50:21.754379871Z",
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
      (await shoal(['config', 'inspect', '-f', '{{.Spec.Data}} {{json .Spec.Data}}', 'myconfig'], daemon()))
        .out,
      '[104 101 108 108 111 32 99 111 110 102 105 103] "aGVsbG8gY29uZmln"\n',
    );
  });

  it('inspect --pretty: tabs, and the data as text', async () => {
    const r = await shoal(['config', 'inspect', '--pretty', 'myconfig2'], daemon());
    assert.equal(
      r.out,
      'ID:\t\t\t6kb5i6srz1fx42dhr27w6djfr\n' +
        'Name:\t\t\tmyconfig2\n' +
        'Labels:\n' +
        ' - c=d\n' +
        'Created at:            \t2026-11-25 21:50:22.677463457 +0000 utc\n' +
        'Updated at:            \t2026-11-25 21:50:22.677463457 +0000 utc\n' +
        'Data:\n' +
        'listen {{ env "HOSTNAME" }}\n\n',
    );
  });

  it('rm', async () => {
    assert.deepEqual(await shoal(['config', 'rm', 'myconfig2'], daemon()), {
      out: 'myconfig2\n',
      err: '',
      code: 0,
    });
    assert.deepEqual(await shoal(['config', 'rm', 'nosuchconfig'], daemon()), {
      out: '',
      err: 'Error response from daemon: config nosuchconfig not found\n',
      code: 1,
    });
  });
});
