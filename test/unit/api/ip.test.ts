// Go's net.ParseIP / ParseCIDR as shoal reads addresses, and the IPv4 prefix arithmetic the allocator uses.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  cidrContains,
  formatIPv4,
  parseCIDR,
  parseIP,
  parseIPv4,
  parseIpv4Prefix,
  prefixesOverlap,
} from '../../../src/api/ip.js';

describe('IP addresses as Go reads them', () => {
  it('dotted quads: four bytes, no leading zeros (Go 1.17 and later)', () => {
    assert.equal(parseIPv4('10.0.1.7'), 0x0a000107);
    assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
    for (const bad of ['010.0.0.1', '10.0.0', '10.0.0.256', '1.2.3.4.5', '', 'a.b.c.d', '1.2.3.-4']) {
      assert.equal(parseIPv4(bad), undefined, bad);
    }
    assert.equal(formatIPv4(0x0a000107), '10.0.1.7');
  });

  it('IPv6, with `::` and an IPv4 tail; no zones', () => {
    assert.equal(parseIP('::1')?.value, 1n);
    assert.equal(parseIP('fd00::1')?.family, 6);
    assert.equal(parseIP('::ffff:1.2.3.4')?.value, 0xffff01020304n);
    assert.equal(parseIP('1:2:3:4:5:6:7:8')?.value, 0x00010002000300040005000600070008n);
    for (const bad of ['1::2::3', 'fe80::1%eth0', '12345::', '1:2:3:4:5:6:7:8:9', ':::']) {
      assert.equal(parseIP(bad), undefined, bad);
    }
  });

  it('CIDRs: the network address, and Go’s refusals', () => {
    const cidr = parseCIDR('10.0.1.7/24')!;
    assert.equal(cidr.family, 4);
    assert.equal(cidr.network, 0x0a000100n);
    assert.equal(cidr.prefix, 24);
    assert.equal(parseCIDR('fd00::/64')?.family, 6);
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'bogus', '10.0.0.0/x', '/24', 'fd00::/129']) {
      assert.equal(parseCIDR(bad), undefined, bad);
    }
    assert.ok(cidrContains(cidr, parseIP('10.0.1.200')!));
    assert.ok(!cidrContains(cidr, parseIP('10.0.2.1')!));
    assert.ok(!cidrContains(cidr, parseIP('::1')!));
  });

  it('IPv4 prefixes overlap when one holds an address of the other', () => {
    const p = (s: string) => parseIpv4Prefix(s)!;
    assert.ok(prefixesOverlap(p('10.0.0.0/8'), p('10.9.0.0/24')));
    assert.ok(prefixesOverlap(p('10.9.0.0/24'), p('10.9.0.128/25')));
    assert.ok(!prefixesOverlap(p('10.9.0.0/24'), p('10.9.1.0/24')));
    assert.equal(parseIpv4Prefix('fd00::/64'), undefined);
  });
});
