// Per-address quotas on the cluster port's connections: a slot per holder, at most `max` per address,
// each address counted on its own, and a release that gives its slot back once only.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IpQuota } from '../../../src/manager/clusterapi/admission.js';

describe('per-address quotas', () => {
  it('refuses an address beyond its quota, and only that address', () => {
    const quota = new IpQuota(2);
    assert.ok(quota.acquire('10.0.0.1'));
    assert.ok(quota.acquire('10.0.0.1'));
    assert.equal(quota.acquire('10.0.0.1'), undefined);
    assert.ok(quota.acquire('10.0.0.2'), 'another address has its own quota');
    assert.ok(quota.acquire('::1'));
    assert.equal(quota.heldBy('10.0.0.1'), 2);
    assert.equal(quota.total, 4);
  });

  it('a released slot may be taken again; releasing twice gives back one slot only', () => {
    const quota = new IpQuota(1);
    const release = quota.acquire('10.0.0.1');
    assert.ok(release);
    release();
    release();
    assert.equal(quota.heldBy('10.0.0.1'), 0);
    assert.equal(quota.total, 0);
    assert.ok(quota.acquire('10.0.0.1'));
    assert.equal(quota.acquire('10.0.0.1'), undefined, 'the double release did not make room for two');
  });

  it('a quota of zero refuses everyone', () => {
    assert.equal(new IpQuota(0).acquire('10.0.0.1'), undefined);
  });
});
