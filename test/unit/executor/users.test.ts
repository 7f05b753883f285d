import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGroup, parsePasswd, resolveExecUser } from '../../../src/agent/executor/process/users.js';

const PASSWD = `root:x:0:0:root:/root:/bin/bash
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
const GROUP = `root:x:0:
adm:x:4:alice
staff:x:50:alice,bob
alice:x:1000:
nogroup:x:65534:
`;

describe('account files', () => {
  it('parses passwd and group entries, skipping comments and blank lines', () => {
    assert.deepEqual(parsePasswd(PASSWD)[2], { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' });
    assert.equal(parsePasswd(PASSWD).length, 4);
    assert.deepEqual(parseGroup(GROUP)[2], { name: 'staff', gid: 50, members: ['alice', 'bob'] });
  });
});

describe('resolveExecUser (runc GetExecUser semantics)', () => {
  const resolve = (spec?: string, extra?: string[]) => resolveExecUser(spec, PASSWD, GROUP, extra);

  it('defaults to root with root’s home', () => {
    assert.deepEqual(resolve(undefined), { uid: 0, gid: 0, groups: [], home: '/root' });
  });

  it('resolves a name to its uid, primary gid, supplementary groups and home', () => {
    assert.deepEqual(resolve('alice'), { uid: 1000, gid: 1000, groups: [4, 50], home: '/home/alice' });
  });

  it('treats a numeric user as a uid, with or without a passwd entry', () => {
    assert.deepEqual(resolve('65534'), { uid: 65534, gid: 65534, groups: [], home: '/nonexistent' });
    assert.deepEqual(resolve('4242'), { uid: 4242, gid: 0, groups: [], home: '/' });
  });

  it('takes an explicit group by name or number and then adds no supplementary groups', () => {
    assert.deepEqual(resolve('alice:staff'), { uid: 1000, gid: 50, groups: [], home: '/home/alice' });
    assert.deepEqual(resolve('1000:777'), { uid: 1000, gid: 777, groups: [], home: '/home/alice' });
  });

  it('fails with Docker’s text for unknown names', () => {
    assert.throws(() => resolve('x'), {
      message: 'unable to find user x: no matching entries in passwd file',
    });
    assert.throws(() => resolve('alice:nope'), {
      message: 'unable to find group nope: no matching entries in group file',
    });
  });

  it('adds ContainerSpec.Groups by name or number', () => {
    assert.deepEqual(resolve('nobody', ['staff', '123']).groups, [50, 123]);
    assert.throws(() => resolve('nobody', ['nope']), {
      message: 'Unable to find group nope: no matching entries in group file',
    });
  });

  it('accepts only numeric IDs when the files are missing', () => {
    assert.deepEqual(resolveExecUser('12:34', undefined, undefined), {
      uid: 12,
      gid: 34,
      groups: [],
      home: '/',
    });
    assert.throws(() => resolveExecUser('bob', undefined, undefined), /unable to find user bob/);
  });
});
