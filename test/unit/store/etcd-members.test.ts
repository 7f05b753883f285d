// initialClusterFor: the --initial-cluster a member joining an etcd cluster starts with.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { initialClusterFor, type EtcdMemberInfo } from '../../../src/store/etcd/members.js';

const member = (id: string, name: string, peer: string, isLearner = false): EtcdMemberInfo => ({
  id,
  name,
  peerUrls: [peer],
  clientUrls: name ? [peer.replace(':2380', ':2379')] : [],
  isLearner,
});

describe('initialClusterFor', () => {
  it('names every started member and the new one, which has no name yet in the list', () => {
    const members = [
      member('1', 'a', 'https://10.0.0.1:2380'),
      member('2', 'b', 'https://10.0.0.2:2380'),
      member('3', '', 'https://10.0.0.3:2380', true),
    ];
    assert.equal(
      initialClusterFor(members, 'c', 'https://10.0.0.3:2380'),
      'a=https://10.0.0.1:2380,b=https://10.0.0.2:2380,c=https://10.0.0.3:2380',
    );
  });

  it('leaves out another member added but not started (it cannot be reached yet)', () => {
    const members = [
      member('1', 'a', 'https://10.0.0.1:2380'),
      member('2', '', 'https://10.0.0.2:2380', true),
      member('3', '', 'https://10.0.0.3:2380', true),
    ];
    assert.equal(
      initialClusterFor(members, 'c', 'https://10.0.0.3:2380'),
      'a=https://10.0.0.1:2380,c=https://10.0.0.3:2380',
    );
  });
});
