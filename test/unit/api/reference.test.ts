// Image references as Go's distribution/reference parses and prints them (its own test tables, in part).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  familiarString,
  parseAnyReference,
  parseNormalizedNamed,
  parseReference,
  referenceString,
  tagNameOnly,
  validateDigest,
  withDigest,
} from '../../../src/api/reference.js';

const DIGEST = 'sha256:' + 'a'.repeat(64);

describe('image references', () => {
  it('normalises familiar names and prints them back (ParseNormalizedNamed, FamiliarString)', () => {
    const cases: [string, string, string][] = [
      // input, normalised, familiar
      ['busybox', 'docker.io/library/busybox', 'busybox'],
      ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
      ['library/busybox', 'docker.io/library/busybox', 'busybox'],
      ['docker.io/busybox', 'docker.io/library/busybox', 'busybox'],
      ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1', 'busybox:1'],
      ['team/app', 'docker.io/team/app', 'team/app'],
      ['docker.io/library/team/app', 'docker.io/library/team/app', 'library/team/app'],
      ['registry.test:5000/busybox:1', 'registry.test:5000/busybox:1', 'registry.test:5000/busybox:1'],
      ['localhost/app', 'localhost/app', 'localhost/app'],
      ['localhost:5000/a/b', 'localhost:5000/a/b', 'localhost:5000/a/b'],
      ['Registry/app', 'Registry/app', 'Registry/app'],
      ['[::1]:5000/app:v2', '[::1]:5000/app:v2', '[::1]:5000/app:v2'],
      [`busybox:1@${DIGEST}`, `docker.io/library/busybox:1@${DIGEST}`, `busybox:1@${DIGEST}`],
      [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`, `busybox@${DIGEST}`],
      // A first component with a dot is a domain, even one no host could have.
      ['a-b__c.d/e_f', 'a-b__c.d/e_f', 'a-b__c.d/e_f'],
      ['a-b__c/e_f', 'docker.io/a-b__c/e_f', 'a-b__c/e_f'],
    ];
    for (const [input, normalised, familiar] of cases) {
      const ref = parseNormalizedNamed(input);
      assert.equal(referenceString(ref), normalised, input);
      assert.equal(familiarString(ref), familiar, input);
    }
  });

  it("refuses what Go refuses, with Go's texts", () => {
    const cases: [string, string][] = [
      ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
      ['team/App:1', 'invalid reference format: repository name (team/App) must be lowercase'],
      [
        'a'.repeat(64),
        `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`,
      ],
      ['busybox:', 'invalid reference format'],
      ['busybox:-x', 'invalid reference format'],
      ['-busybox', 'invalid reference format'],
      ['', 'invalid reference format'],
      ['busybox@sha256:abc', 'invalid reference format'],
      [`busybox@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
      [`busybox@sha256:${'a'.repeat(65)}`, 'invalid checksum digest length'],
      [`busybox@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
      [`registry.test/${'a'.repeat(256)}`, 'repository name must not be more than 255 characters'],
      ['a'.repeat(3000), 'repository name must not be more than 255 characters'],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => parseNormalizedNamed(input), { message }, JSON.stringify(input));
    }
    assert.throws(() => parseReference(''), { message: 'repository name must have at least one component' });
    assert.throws(() => parseReference('Busybox'), { message: 'repository name must be lowercase' });
  });

  it('tags a name-only reference :latest, and pins a digest keeping the tag', () => {
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('busybox'))), 'busybox:latest');
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('busybox:1'))), 'busybox:1');
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed(`busybox@${DIGEST}`))), `busybox@${DIGEST}`);
    assert.equal(
      familiarString(withDigest(parseNormalizedNamed('registry.test:5000/busybox:1'), DIGEST)),
      `registry.test:5000/busybox:1@${DIGEST}`,
    );
    assert.throws(() => withDigest(parseNormalizedNamed('busybox'), ''), {
      message: 'invalid digest format',
    });
  });

  it('reads image IDs and bare digests as ParseAnyReference does', () => {
    assert.deepEqual(parseAnyReference('b'.repeat(64)), { digest: `sha256:${'b'.repeat(64)}` });
    assert.deepEqual(parseAnyReference(DIGEST), { digest: DIGEST });
    assert.equal(referenceString(parseAnyReference('busybox') as never), 'docker.io/library/busybox');
    assert.doesNotThrow(() => validateDigest(`sha512:${'0'.repeat(128)}`));
    assert.throws(() => validateDigest('sha256'), { message: 'invalid checksum digest format' });
  });
});
