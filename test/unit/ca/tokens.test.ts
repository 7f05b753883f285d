import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  assertRootCAMatchesToken,
  caFingerprintMismatchMessage,
  digestMatches,
  joinTokenDigest,
  parseJoinToken,
  rootCADigestHex,
} from '../../../src/api/certs.js';
import { ShoalError } from '../../../src/api/errors.js';
import { generateJoinToken, generateJoinTokens, roleForJoinToken } from '../../../src/manager/ca/tokens.js';
import { createRootCA } from '../../../src/manager/ca/rootca.js';
import { DOCKER_JOIN_TOKEN_DIGEST, DOCKER_ROOT_CA_PEM } from './docker-fixture.js';

const TOKEN_SHAPE = /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/;

const isInvalidJoinToken = (err: unknown): boolean => {
  assert.ok(err instanceof ShoalError);
  assert.equal(err.message, 'invalid join token');
  assert.equal(err.status, 500);
  assert.equal(err.apiMessage(), 'invalid join token');
  return true;
};

test("the token digest of Docker's root CA is the one in Docker's tokens", () => {
  assert.equal(joinTokenDigest(DOCKER_ROOT_CA_PEM), DOCKER_JOIN_TOKEN_DIGEST);
  const token = generateJoinToken(DOCKER_ROOT_CA_PEM);
  assert.equal(token.split('-')[2], DOCKER_JOIN_TOKEN_DIGEST);
  assert.ok(digestMatches(DOCKER_ROOT_CA_PEM, token));
});

test('tokens: SWMTKN-1-<50 base-36>-<25 base-36>, 85 characters, same digest, different secrets', async () => {
  const { CACert } = await createRootCA();
  const tokens = generateJoinTokens(CACert);
  for (const token of [tokens.Worker, tokens.Manager]) {
    assert.match(token, TOKEN_SHAPE);
    assert.equal(token.length, 85);
  }
  const worker = parseJoinToken(tokens.Worker);
  const manager = parseJoinToken(tokens.Manager);
  assert.equal(worker.digest, manager.digest);
  assert.notEqual(worker.secret, manager.secret);
  assert.equal(worker.digest, joinTokenDigest(CACert));

  // Secrets are padded: a run of tokens sees no shorter one.
  for (let i = 0; i < 200; i++) assert.equal(generateJoinToken(CACert).length, 85);
});

test('parsing gives version, digest (base 36 and hex) and secret', async () => {
  const { CACert } = await createRootCA();
  const token = generateJoinToken(CACert);
  const parsed = parseJoinToken(token);
  assert.equal(parsed.version, 1);
  assert.equal(parsed.fips, false);
  assert.equal(parsed.digest, token.slice(9, 59));
  assert.equal(parsed.secret, token.slice(60));
  assert.equal(parsed.digestHex, createHash('sha256').update(CACert).digest('hex'));
  assert.equal(parsed.digestHex, rootCADigestHex(CACert));

  const fips = generateJoinToken(CACert, { fips: true });
  assert.match(fips, /^SWMTKN-2-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  assert.deepEqual(
    { ...parseJoinToken(fips), secret: '' },
    { version: 2, fips: true, digest: parsed.digest, digestHex: parsed.digestHex, secret: '' },
  );
  const nonFips = `SWMTKN-2-0-${parsed.digest}-${parsed.secret}`;
  assert.equal(parseJoinToken(nonFips).fips, false);
});

test('a digest with leading zeros keeps them (hex padded to 64)', () => {
  const digest = '0'.repeat(49) + 'z';
  const parsed = parseJoinToken(`SWMTKN-1-${digest}-${'a'.repeat(25)}`);
  assert.equal(parsed.digestHex, '0'.repeat(62) + '23');
});

test('malformed tokens are "invalid join token" (500, as Docker answers swarm join)', () => {
  const digest = DOCKER_JOIN_TOKEN_DIGEST;
  const secret = 'a'.repeat(25);
  const bad = [
    '',
    'SWMTKN-1-bogus',
    `SWMTKN-1-${digest}`,
    `SWMTKN-1-${digest}-${secret}-extra`,
    `SWMTKX-1-${digest}-${secret}`,
    `SWMTKN-3-${digest}-${secret}`,
    `SWMTKN-2-${digest}-${secret}`,
    `SWMTKN-2-2-${digest}-${secret}`,
    `SWMTKN-1-${digest.slice(1)}-${secret}`,
    `SWMTKN-1-${digest}-${secret}a`,
    `SWMTKN-1-${digest.slice(1)}!-${secret}`,
    `SWMTKN-1-${'z'.repeat(50)}-${secret}`, // more than 256 bits
  ];
  for (const token of bad) assert.throws(() => parseJoinToken(token), isInvalidJoinToken, token);
  assert.throws(() => digestMatches(DOCKER_ROOT_CA_PEM, 'SWMTKN-1-bogus'), isInvalidJoinToken);
});

test('the joining node pins the root CA by the digest', async () => {
  const { CACert } = await createRootCA();
  const impostor = await createRootCA();
  const token = generateJoinToken(CACert);

  assert.equal(digestMatches(CACert, token), true);
  assert.equal(digestMatches(impostor.CACert, token), false);
  // The digest covers the whole bundle: an extra root appended is a different CA.
  assert.equal(digestMatches(CACert + impostor.CACert, token), false);

  assertRootCAMatchesToken(CACert, token);
  const expectedHex = rootCADigestHex(CACert);
  assert.throws(
    () => assertRootCAMatchesToken(impostor.CACert, token),
    (err: unknown) => {
      assert.ok(err instanceof ShoalError);
      assert.equal(err.message, `remote CA does not match fingerprint. Expected: ${expectedHex}`);
      return true;
    },
  );
  assert.equal(
    caFingerprintMismatchMessage(expectedHex),
    `remote CA does not match fingerprint. Expected: ${expectedHex}`,
  );
});

test('the presented token decides the role; anything else is refused with swarmkit text', async () => {
  const { CACert } = await createRootCA();
  const tokens = generateJoinTokens(CACert);
  assert.equal(roleForJoinToken(tokens.Worker, tokens), 'worker');
  assert.equal(roleForJoinToken(tokens.Manager, tokens), 'manager');

  const rotated = { ...tokens, Worker: generateJoinToken(CACert) };
  const refused = [
    tokens.Worker.slice(0, -1) + (tokens.Worker.endsWith('a') ? 'b' : 'a'),
    tokens.Worker.slice(0, 60),
    tokens.Worker + 'a',
    '',
    'invalid-secret',
  ];
  for (const presented of refused) {
    assert.throws(() => roleForJoinToken(presented, tokens), isInvalidJoinTokenForCluster, presented);
  }
  // After rotation the old worker token no longer works; the manager token is unaffected.
  assert.throws(() => roleForJoinToken(tokens.Worker, rotated), isInvalidJoinTokenForCluster);
  assert.equal(roleForJoinToken(tokens.Manager, rotated), 'manager');
  // An unset token never matches, not even an empty one.
  assert.throws(() => roleForJoinToken('', { Worker: '', Manager: '' }), isInvalidJoinTokenForCluster);
});

function isInvalidJoinTokenForCluster(err: unknown): boolean {
  assert.ok(err instanceof ShoalError);
  assert.equal(err.code, 'InvalidArgument');
  assert.equal(
    err.apiMessage(),
    'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster',
  );
  return true;
}
