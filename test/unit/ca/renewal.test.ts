import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseRenewalTime, parseNodeCertificate, renewalDelayMs } from '../../../src/api/certs.js';
import { newTestCluster, newTestNode } from './pki.js';

const MINUTE = 60_000;
const notBefore = new Date('2026-01-01T00:00:00Z');
// A default certificate: 90 days plus the 1h backdate = 129660 minutes.
const validity = { notBefore, notAfter: new Date(notBefore.getTime() + (2160 + 1) * 60 * MINUTE) };
const lowest = Math.floor(129_660 * 0.5); // 64830
const highest = Math.floor(129_660 * 0.8); // 103728, exclusive

const minutesAfterStart = (at: Date): number => (at.getTime() - notBefore.getTime()) / MINUTE;

test('renewal falls between 50% (inclusive) and 80% (exclusive) of the whole validity, in whole minutes', () => {
  assert.equal(minutesAfterStart(chooseRenewalTime(validity, () => 0)), lowest);
  assert.equal(minutesAfterStart(chooseRenewalTime(validity, () => 0.999999999)), highest - 1);
  assert.equal(minutesAfterStart(chooseRenewalTime(validity, () => 0.5)), lowest + (highest - lowest) / 2);
  for (let i = 0; i < 1000; i++) {
    const minutes = minutesAfterStart(chooseRenewalTime(validity));
    assert.ok(Number.isInteger(minutes) && minutes >= lowest && minutes < highest, String(minutes));
  }
});

test('the fractions are taken of the exact period, then cut to whole minutes', () => {
  // 11.9 minutes: 50% → 5 (5.95), 80% → 9 (9.52); cutting first would give 5 and 8.
  const short = { notBefore, notAfter: new Date(notBefore.getTime() + 11.9 * MINUTE) };
  assert.equal(minutesAfterStart(chooseRenewalTime(short, () => 0)), 5);
  assert.equal(minutesAfterStart(chooseRenewalTime(short, () => 0.99)), 8);
});

test('a validity too short for a range renews at the lower bound', () => {
  const tiny = { notBefore, notAfter: new Date(notBefore.getTime() + 2 * MINUTE) };
  // 50% → 1, 80% → 1: no range, so 1 minute.
  assert.equal(minutesAfterStart(chooseRenewalTime(tiny, () => 0.7)), 1);
});

test('the delay counts from now and is never negative', () => {
  const now = new Date(notBefore.getTime() + 1000 * MINUTE);
  assert.equal(
    renewalDelayMs(validity, now, () => 0),
    (lowest - 1000) * MINUTE,
  );
  const late = new Date(notBefore.getTime() + highest * MINUTE);
  assert.equal(
    renewalDelayMs(validity, late, () => 0.3),
    0,
  );
  const expired = new Date(validity.notAfter.getTime() + MINUTE);
  assert.equal(renewalDelayMs(validity, expired), 0);
});

test('a fresh certificate renews within 45 to 72 days, the 1h backdate included in the period', async () => {
  const cluster = await newTestCluster();
  const now = new Date();
  const node = await newTestNode(cluster, 'worker', { now });
  const info = parseNodeCertificate(node.certPem);
  const earliest = renewalDelayMs(info, now, () => 0);
  const latest = renewalDelayMs(info, now, () => 0.999999999);
  // Measured from NotBefore, an hour before issue (up to half a minute of rounding either way).
  const hours = (ms: number): number => ms / 3_600_000;
  assert.ok(Math.abs(hours(earliest) - (2161 * 0.5 - 1)) < 0.05, String(hours(earliest)));
  assert.ok(Math.abs(hours(latest) - (2161 * 0.8 - 1)) < 0.05, String(hours(latest)));
});
