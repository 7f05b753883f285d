// `POST /swarm/init` with bad input answers as Docker's daemon does (same status, same text) — and,
// unlike Docker, a refused init leaves no half-made swarm behind.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { freePort, ShoalDaemon } from '../harness/index.js';

describe('swarm init refuses bad input as Docker does', { timeout: 120_000 }, () => {
  let daemon: ShoalDaemon;
  let listen: string;

  before(async () => {
    daemon = ShoalDaemon.onLoopback();
    await daemon.start();
    listen = `127.0.0.1:${await freePort()}`;
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  const cases: { name: string; body: unknown; status: number; message: string }[] = [
    {
      name: 'a null body',
      body: Buffer.from('null'),
      status: 400,
      message: 'invalid ListenAddr "": invalid empty address',
    },
    {
      name: 'a listen address that is no address',
      body: { ListenAddr: 'foo:bar' },
      status: 400,
      message: 'listen address must be an IP address or network interface (with optional port number)',
    },
    {
      name: 'a listen port out of range',
      body: { ListenAddr: '127.0.0.1:99999', AdvertiseAddr: '127.0.0.1' },
      status: 500,
      message:
        'manager stopped: failed to listen on remote API address: listen tcp: address 99999: invalid port',
    },
    {
      name: 'an unspecified advertise address',
      body: { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '0.0.0.0' },
      status: 400,
      message:
        'advertise address must be a non-zero IP address or network interface (with optional port number)',
    },
    {
      name: 'a data path address with a port',
      body: { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1', DataPathAddr: 'foo:bar' },
      status: 400,
      message: 'data path address must be a non-zero IP address or network interface (without a port number)',
    },
    {
      name: 'a data path port out of range',
      body: { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1', DataPathPort: 80 },
      status: 500,
      message: 'Datapath port number is not in valid range (1024-49151) : 80',
    },
    {
      name: 'an unknown availability',
      body: { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1', Availability: 'bogus' },
      status: 500,
      message: 'invalid Availability: "bogus"',
    },
    {
      name: 'a bad address pool',
      body: { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1', DefaultAddrPool: ['10.0.0.0/33'] },
      status: 500,
      message: 'invalid base pool 10.0.0.0/33: invalid CIDR address: 10.0.0.0/33',
    },
    {
      name: 'a subnet size too small for its pool',
      body: {
        ListenAddr: '127.0.0.1:2377',
        AdvertiseAddr: '127.0.0.1',
        DefaultAddrPool: ['10.20.0.0/16'],
        SubnetSize: 8,
      },
      status: 500,
      message: 'invalid CIDR: "10.20.0.0/16". Subnet size is too small for pool: 8',
    },
    {
      name: 'a negative heartbeat period',
      body: {
        ListenAddr: '127.0.0.1:2377',
        AdvertiseAddr: '127.0.0.1',
        Spec: { Dispatcher: { HeartbeatPeriod: -1e9 } },
      },
      status: 500,
      message:
        'error updating cluster settings: rpc error: code = InvalidArgument desc = heartbeat time period cannot be a negative duration',
    },
    {
      name: 'a certificate expiry below one hour',
      body: {
        ListenAddr: '127.0.0.1:2377',
        AdvertiseAddr: '127.0.0.1',
        Spec: { CAConfig: { NodeCertExpiry: 60e9 } },
      },
      status: 500,
      message:
        'error updating cluster settings: rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s',
    },
    {
      name: 'a cluster not named default',
      body: { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1', Spec: { Name: 'other' } },
      status: 400,
      message: 'swarm spec must be named "default"',
    },
    {
      name: 'a wrongly typed field',
      body: { ListenAddr: 5 },
      status: 400,
      message: 'json: cannot unmarshal number into Go struct field InitRequest.ListenAddr of type string',
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.name}, and stays outside any swarm`, async () => {
      const res = await daemon.api('POST', '/v1.41/swarm/init', c.body);
      assert.equal(res.status, c.status);
      assert.deepEqual(res.body, { message: c.message });
      const info = await daemon.apiOk<{ Swarm: { LocalNodeState: string } }>('GET', '/v1.41/info');
      assert.equal(info.Swarm.LocalNodeState, 'inactive');
    });
  }

  it('accepts trailing data after the JSON body, as Go decoders do', async () => {
    const body = Buffer.from(`{"ListenAddr":"${listen}","AdvertiseAddr":"127.0.0.1"} garbage`);
    const res = await daemon.api('POST', '/v1.41/swarm/init', body);
    assert.equal(res.status, 200);
    assert.match(String(res.body), /^[0-9a-z]{25}$/);
  });

  it('keeps the swarm on `leave?force=none` and leaves on `force=1`', async () => {
    const refused = await daemon.api('POST', '/v1.41/swarm/leave?force=none');
    assert.equal(refused.status, 503);
    assert.equal((await daemon.api('POST', '/v1.41/swarm/leave?force=1')).status, 200);
  });
});
