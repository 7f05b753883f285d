// `shoal network …` against a scripted daemon: the requests the docker CLI sends for each command of the
// recorded trace (spec/engine-api-trace/network.md) and what it prints for the daemon's answers there, byte
// for byte; the docker CLI's own checks of create's flags; the prompts of rm (ingress) and prune.

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { NetworkResource } from '../../../src/api/networks.js';
import { main } from '../../../src/cli/program.js';
import { BufferStream } from '../../../src/cli/streams.js';
import { FakeClient, routes, type RunResult } from './helpers.js';

async function shoal(argv: string[], client: FakeClient, stdin = ''): Promise<RunResult> {
  const out = new BufferStream(false);
  const err = new BufferStream(false);
  const input = Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]);
  const code = await main(
    argv,
    { out, err, in: input, inIsTerminal: false },
    {},
    { clientFactory: () => client },
  );
  return { out: out.text, err: err.text, code };
}

// The daemon's answers in the trace.
const MYNET: NetworkResource = {
  Name: 'mynet',
  Id: 'boe8wx5kbjka1z4a5llf8mt1r',
  Created: '2026-11-25T21:50:35.271359999Z',
  Scope: 'swarm',
  Driver: 'overlay',
  EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] },
  Internal: false,
  Attachable: true,
  Ingress: false,
  ConfigFrom: { Network: '' },
  ConfigOnly: false,
  Containers: null,
  Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' },
  Labels: null,
};
const MYNET2: NetworkResource = {
  ...MYNET,
  Name: 'mynet2',
  Id: '24y188pgnq76s1z5xueybxxnu',
  Created: '2026-11-25T21:50:37.02608654Z',
  IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }] },
  Internal: true,
  Attachable: false,
  Options: {
    'com.docker.network.driver.mtu': '1400',
    'com.docker.network.driver.overlay.vxlanid_list': '4098',
  },
  Labels: { l: 'v' },
};
const INGRESS: NetworkResource = {
  ...MYNET,
  Name: 'ingress',
  Id: 'c6g4ul4c3n9fj03jghyyqpngb',
  Created: '2026-11-25T21:42:58.162472681Z',
  IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }] },
  Attachable: false,
  Ingress: true,
  Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4096' },
};

const notFound = (name: string) => ({ status: 404, body: { message: `network ${name} not found` } });

describe('shoal network', () => {
  it('create -d overlay --attachable mynet: the trace’s body (API 1.41), the ID printed', async () => {
    const client = new FakeClient(
      routes({ 'POST /networks/create': { status: 201, body: { Id: MYNET.Id, Warning: '' } } }),
      '1.41',
    );
    const r = await shoal(['network', 'create', '-d', 'overlay', '--attachable', 'mynet'], client);
    assert.deepEqual(r, { out: `${MYNET.Id}\n`, err: '', code: 0 });
    assert.equal(
      client.requests[0]!.body,
      '{"Driver":"overlay","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},"Name":"mynet","CheckDuplicate":true}',
    );
  });

  it('create with subnet, gateway, label and option; no CheckDuplicate from API 1.44; EnableIPv4 only when asked', async () => {
    const client = new FakeClient(
      routes({ 'POST /networks/create': { status: 201, body: { Id: MYNET2.Id, Warning: '' } } }),
    );
    const r = await shoal(
      [
        'network',
        'create',
        '-d',
        'overlay',
        '--internal',
        '--subnet',
        '10.77.0.0/24',
        '--gateway',
        '10.77.0.1',
        '--label',
        'l=v',
        '--opt',
        'com.docker.network.driver.mtu=1400',
        '--ipv4=true',
        'mynet2',
      ],
      client,
    );
    assert.equal(r.code, 0);
    assert.equal(
      client.requests[0]!.body,
      '{"Driver":"overlay","Scope":"","EnableIPv4":true,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.77.0.0/24","Gateway":"10.77.0.1"}]},"Internal":true,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"com.docker.network.driver.mtu":"1400"},"Labels":{"l":"v"},"Name":"mynet2"}',
    );
  });

  it('create: the docker CLI’s own checks of subnets, ranges and gateways', async () => {
    const client = new FakeClient(() => undefined);
    const cases: [string[], string][] = [
      [['--gateway', '10.0.0.1'], 'every ip-range or gateway must have a corresponding subnet'],
      [['--subnet', '10.1.0.0/16,10.1.2.0/24'], 'multiple overlapping subnet configuration is not supported'],
      [['--subnet', '10.1.0.0/16', '--gateway', '10.2.0.1'], 'no matching subnet for gateway 10.2.0.1'],
      [['--subnet', '10.1.0.0/16', '--ip-range', 'nope'], 'invalid CIDR address: nope'],
      [['--subnet', 'bogus', '--gateway', '10.2.0.1'], 'invalid subnet: invalid CIDR address: bogus'],
      [
        ['--subnet', '10.1.0.0/16', '--aux-address', 'a=10.9.0.1'],
        'no matching subnet for aux-address 10.9.0.1',
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await shoal(['network', 'create', '-d', 'overlay', ...flags, 'n'], client);
      assert.deepEqual(r, { out: '', err: `${message}\n`, code: 1 }, flags.join(' '));
    }
    assert.deepEqual(client.requests, []);
  });

  it('create: a name taken, as the trace', async () => {
    const client = new FakeClient(
      routes({
        'POST /networks/create': { status: 409, body: { message: 'network with name mynet already exists' } },
      }),
    );
    assert.deepEqual(await shoal(['network', 'create', '-d', 'overlay', '--attachable', 'mynet'], client), {
      out: '',
      err: 'Error response from daemon: network with name mynet already exists\n',
      code: 1,
    });
  });

  it('ls --filter driver=overlay --filter scope=swarm: the trace’s request and table', async () => {
    const client = new FakeClient(routes({ 'GET /networks': { body: [MYNET2, MYNET, INGRESS] } }), '1.41');
    const r = await shoal(['network', 'ls', '--filter', 'driver=overlay', '--filter', 'scope=swarm'], client);
    assert.deepEqual(client.lines, [
      'GET /networks?filters=%7B%22driver%22%3A%7B%22overlay%22%3Atrue%7D%2C%22scope%22%3A%7B%22swarm%22%3Atrue%7D%7D',
    ]);
    assert.deepEqual(r, {
      out:
        'NETWORK ID     NAME      DRIVER    SCOPE\n' +
        'c6g4ul4c3n9f   ingress   overlay   swarm\n' +
        'boe8wx5kbjka   mynet     overlay   swarm\n' +
        '24y188pgnq76   mynet2    overlay   swarm\n',
      err: '',
      code: 0,
    });
    const q = await shoal(['network', 'ls', '-q', '--no-trunc'], client);
    assert.equal(q.out, `${INGRESS.Id}\n${MYNET.Id}\n${MYNET2.Id}\n`);
    const f = await shoal(
      ['network', 'ls', '--format', '{{.Name}} {{.Labels}} {{.Internal}} {{.IPv6}} {{.CreatedAt}}'],
      client,
    );
    assert.equal(
      f.out,
      'ingress  false false 2026-11-25 21:42:58.162472681 +0000 UTC\n' +
        'mynet  false false 2026-11-25 21:50:35.271359999 +0000 UTC\n' +
        'mynet2 l=v true false 2026-11-25 21:50:37.02608654 +0000 UTC\n',
    );
  });

  it('inspect mynet and inspect --verbose mynet: the daemon’s JSON, indented as the trace shows it', async () => {
    const client = new FakeClient(routes({ 'GET /networks/mynet': { body: MYNET } }), '1.41');
    const expected = `[
    {
        "Name": "mynet",
        "Id": "boe8wx5kbjka1z4a5llf8mt1r",
        "Created": "2026-11-25T21:50:35.271359999Z",
        "Scope": "swarm",
        "Driver": "overlay",
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": null,
            "Config": [
                {
                    "Subnet": "10.0.1.0/24",
                    "Gateway": "10.0.1.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": true,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": null,
        "Options": {
            "com.docker.network.driver.overlay.vxlanid_list": "4097"
        },
        "Labels": null
    }
]
`;
    assert.deepEqual(await shoal(['network', 'inspect', 'mynet'], client), {
      out: expected,
      err: '',
      code: 0,
    });
    assert.deepEqual(await shoal(['network', 'inspect', '--verbose', 'mynet'], client), {
      out: expected,
      err: '',
      code: 0,
    });
    assert.deepEqual(client.lines, ['GET /networks/mynet', 'GET /networks/mynet?verbose=true']);
  });

  it('inspect: templates on the CLI’s struct (ID too), then on the raw JSON; an unknown network', async () => {
    const client = new FakeClient(
      routes({ 'GET /networks/mynet': { body: MYNET }, 'GET /networks/nosuchnet': notFound('nosuchnet') }),
    );
    const typed = await shoal(
      [
        'network',
        'inspect',
        '-f',
        '{{.ID}} {{.Id}} {{.EnableIPv4}} {{range .IPAM.Config}}{{.Subnet}}{{end}}',
        'mynet',
      ],
      client,
    );
    assert.deepEqual(typed, { out: `${MYNET.Id} ${MYNET.Id} false 10.0.1.0/24\n`, err: '', code: 0 });
    const json = await shoal(['network', 'inspect', '--format', 'json', 'mynet'], client);
    assert.equal(json.out, `[${JSON.stringify(MYNET)}]\n`);
    const missing = await shoal(['network', 'inspect', '-f', '{{.Nope}}', 'mynet'], client);
    assert.deepEqual(missing, {
      out: '\n',
      err: 'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n',
      code: 1,
    });
    assert.deepEqual(await shoal(['network', 'inspect', 'nosuchnet'], client), {
      out: '[]\n',
      err: 'Error response from daemon: network nosuchnet not found\n',
      code: 1,
    });
  });

  it('rm: looks the network up, removes it, prints the name; unknown and in-use networks as the trace', async () => {
    const inUse =
      'rpc error: code = FailedPrecondition desc = network boe8wx5kbjka1z4a5llf8mt1r is in use by service 2hl4j963o2qhxyuvkiqwwvpyz';
    const client = new FakeClient(
      routes({
        'GET /networks/mynet2': { body: MYNET2 },
        'DELETE /networks/mynet2': { status: 204 },
        'GET /networks/nosuchnet': notFound('nosuchnet'),
        'DELETE /networks/nosuchnet': notFound('nosuchnet'),
        'GET /networks/mynet': { body: MYNET },
        'DELETE /networks/mynet': { status: 400, body: { message: inUse } },
      }),
    );
    assert.deepEqual(await shoal(['network', 'rm', 'mynet2'], client), { out: 'mynet2\n', err: '', code: 0 });
    assert.deepEqual(client.lines, ['GET /networks/mynet2', 'DELETE /networks/mynet2']);
    assert.deepEqual(await shoal(['network', 'rm', 'nosuchnet'], client), {
      out: '',
      err: 'Error response from daemon: network nosuchnet not found\nexit status 1\n',
      code: 1,
    });
    assert.deepEqual(await shoal(['network', 'rm', '-f', 'nosuchnet'], client), {
      out: '',
      err: '',
      code: 0,
    });
    assert.deepEqual(await shoal(['network', 'rm', 'mynet'], client), {
      out: '',
      err: `Error response from daemon: ${inUse}\nexit status 1\n`,
      code: 1,
    });
  });

  it('rm ingress asks first; prune asks unless -f, and lists what it removed', async () => {
    const client = new FakeClient(
      routes({
        'GET /networks/ingress': { body: INGRESS },
        'DELETE /networks/ingress': { status: 204 },
        'POST /networks/prune': { body: { NetworksDeleted: ['mynet', 'mynet2'] } },
      }),
    );
    const warning =
      'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue? [y/N] ';
    assert.deepEqual(await shoal(['network', 'rm', 'ingress'], client, 'n\n'), {
      out: warning,
      err: '',
      code: 0,
    });
    assert.deepEqual(await shoal(['network', 'rm', 'ingress'], client, 'y\n'), {
      out: `${warning}ingress\n`,
      err: '',
      code: 0,
    });
    assert.deepEqual(client.lines, [
      'GET /networks/ingress',
      'GET /networks/ingress',
      'DELETE /networks/ingress',
    ]);
    const prompt =
      'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';
    assert.deepEqual(await shoal(['network', 'prune'], client), { out: prompt, err: '', code: 0 });
    assert.deepEqual(await shoal(['network', 'prune'], client, 'y\n'), {
      out: `${prompt}Deleted Networks:\nmynet\nmynet2\n\n`,
      err: '',
      code: 0,
    });
    const forced = await shoal(['network', 'prune', '-f', '--filter', 'until=24h'], client);
    assert.equal(forced.out, 'Deleted Networks:\nmynet\nmynet2\n\n');
    assert.equal(
      client.lines.at(-1),
      'POST /networks/prune?filters=%7B%22until%22%3A%7B%2224h%22%3Atrue%7D%7D',
    );
  });
});
