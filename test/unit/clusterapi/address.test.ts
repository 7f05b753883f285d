import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { managerUrl, parseManagerAddr } from '../../../src/agent/transport/address.js';
import { peerIp } from '../../../src/manager/clusterapi/server.js';

describe('manager addresses', () => {
  it('reads host:port for IPv4, names and bracketed IPv6', () => {
    assert.deepEqual(parseManagerAddr('198.18.0.1:2377'), { host: '198.18.0.1', port: 2377 });
    assert.deepEqual(parseManagerAddr('manager-1:2377'), { host: 'manager-1', port: 2377 });
    assert.deepEqual(parseManagerAddr('[fd00::1]:2377'), { host: 'fd00::1', port: 2377 });
    assert.equal(managerUrl('[fd00::1]:2377'), 'https://[fd00::1]:2377');
    assert.equal(managerUrl('10.0.0.1:2377'), 'https://10.0.0.1:2377');
  });

  it('refuses anything else', () => {
    for (const bad of ['10.0.0.1', 'fd00::1:2377', ':2377', '10.0.0.1:0', '10.0.0.1:70000', 'a:b']) {
      assert.throws(() => parseManagerAddr(bad), /invalid manager address/, bad);
    }
  });

  it('records IPv4 peers of dual-stack sockets as plain IPv4', () => {
    assert.equal(peerIp('::ffff:198.18.0.5'), '198.18.0.5');
    assert.equal(peerIp('198.18.0.5'), '198.18.0.5');
    assert.equal(peerIp('fd00::5'), 'fd00::5');
    assert.equal(peerIp(undefined), '');
  });
});
