// Service VIPs on a node, pure: which backends each VIP a task reaches has (serving tasks of the service, on
// the VIP's network), the nft script that balances them, and the DNS answers for a service with a VIP.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { balanceScript, vipBackends } from '../../../src/agent/network/balance.js';
import { buildRecords, resolveName } from '../../../src/agent/network/dns/records.js';
import type { OverlayTask, OverlayVip } from '../../../src/api/networks.js';

const ep = (
  taskId: string,
  service: string,
  ip: string,
  options: Partial<OverlayTask> = {},
): OverlayTask => ({
  taskId,
  taskName: `${service}.1.${taskId}`,
  serviceId: `id-${service}`,
  serviceName: service,
  nodeId: 'n1',
  serving: true,
  addresses: [`${ip}/24`],
  aliases: [],
  ...options,
});
const vip = (service: string, ip: string, aliases: string[] = []): OverlayVip => ({
  serviceId: `id-${service}`,
  serviceName: service,
  address: `${ip}/24`,
  aliases,
});

const appTasks = [
  ep('w2', 'web', '10.0.1.4'),
  ep('w1', 'web', '10.0.1.3'),
  ep('w3', 'web', '10.0.1.5', { serving: false }),
  ep('c1', 'client', '10.0.1.6'),
];

describe('VIP backends', () => {
  it('serving tasks of the service on the VIP network, in task order; a VIP with none is listed empty', () => {
    const backends = vipBackends([
      { vips: [vip('web', '10.0.1.2'), vip('db', '10.0.1.9')], tasks: appTasks },
      // The same service on a second network: its own VIP, its tasks' addresses there.
      { vips: [vip('web', '10.0.2.2')], tasks: [ep('w1', 'web', '10.0.2.3')] },
    ]);
    assert.deepEqual(backends, [
      { vip: '10.0.1.2', serviceName: 'web', backends: ['10.0.1.3', '10.0.1.4'] },
      { vip: '10.0.1.9', serviceName: 'db', backends: [] },
      { vip: '10.0.2.2', serviceName: 'web', backends: ['10.0.2.3'] },
    ]);
  });

  it('the script: numgen over several backends, a plain DNAT for one, refusal for none, replaced whole', () => {
    const script = balanceScript([
      { vip: '10.0.1.2', serviceName: 'web', backends: ['10.0.1.3', '10.0.1.4'] },
      { vip: '10.0.1.7', serviceName: 'one', backends: ['10.0.1.8'] },
      { vip: '10.0.1.9', serviceName: 'db', backends: [] },
    ]);
    const lines = script.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['table ip shoal_lb', 'delete table ip shoal_lb']);
    assert.ok(
      script.includes('ip daddr 10.0.1.2 dnat to numgen inc mod 2 map { 0 : 10.0.1.3, 1 : 10.0.1.4 }'),
    );
    assert.ok(script.includes('ip daddr 10.0.1.7 dnat to 10.0.1.8\n'));
    assert.ok(script.includes('ip daddr { 10.0.1.9 } meta l4proto tcp reject with tcp reset'));
    assert.ok(!/dnat[^\n]*10\.0\.1\.9/.test(script));
    // No VIP at all: the table only goes.
    assert.equal(balanceScript([]), 'table ip shoal_lb\ndelete table ip shoal_lb\n');
  });
});

describe('DNS with VIPs', () => {
  const records = buildRecords(
    'app-id',
    'app',
    [...appTasks, ep('w1b', 'web', '10.0.1.3', { aliases: ['www'] })],
    [vip('web', '10.0.1.2', ['www'])],
  );
  it('<service> and its aliases answer the VIP only, tasks.<service> the serving tasks', () => {
    assert.deepEqual(resolveName('web', [records]).addresses, ['10.0.1.2']);
    assert.deepEqual(resolveName('www', [records]).addresses, ['10.0.1.2']);
    assert.deepEqual(resolveName('tasks.web', [records]).addresses, ['10.0.1.4', '10.0.1.3']);
    assert.deepEqual(resolveName('tasks.www', [records]).addresses, ['10.0.1.3']);
    // A service without a VIP (dnsrr) still answers its tasks.
    assert.deepEqual(resolveName('client', [records]).addresses, ['10.0.1.6']);
  });
  it('a VIP answers even when no task serves', () => {
    const empty = buildRecords('app-id', 'app', [], [vip('web', '10.0.1.2')]);
    assert.deepEqual(resolveName('web', [empty]).addresses, ['10.0.1.2']);
    assert.equal(resolveName('tasks.web', [empty]).known, false);
  });
});
