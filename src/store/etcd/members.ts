// The membership of the etcd cluster that holds a swarm's store: list, add, promote, remove members, through
// etcd's Cluster API (the `etcd3` library's client). A manager joining a swarm is added as a learner (it
// receives the data but does not vote, so the cluster keeps its quorum while the new member catches up) and
// promoted to a voting member once it has caught up. Member IDs are etcd's 64-bit IDs, kept as decimal text.

import { setTimeout as delay } from 'node:timers/promises';

import { Etcd3 } from 'etcd3';

import { passThrough, type EtcdTls } from './kv.js';

export interface EtcdMemberInfo {
  /** etcd's member ID (decimal). */
  id: string;
  /** The member's name ('' until a member added by `add` has started). */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface EtcdMembersOptions {
  endpoints: readonly string[];
  tls?: EtcdTls;
  /** See EtcdKVOptions.serverName. */
  serverName?: string;
  /** Deadline of each call (default 5 s). */
  callTimeoutMs?: number;
}

/** The member list says so while a learner is behind the leader; promoting is retried until it is not. */
const UNHEALTHY = /etcdserver: unhealthy cluster/;
const NOT_IN_SYNC = /can only promote a learner member which is in sync with leader/;

export class EtcdMembers {
  private readonly client: Etcd3;

  constructor(options: EtcdMembersOptions) {
    const { tls } = options;
    const timeout = options.callTimeoutMs ?? 5_000;
    this.client = new Etcd3({
      hosts: [...options.endpoints],
      ...(tls && {
        credentials: {
          rootCertificate: Buffer.from(tls.ca),
          certChain: Buffer.from(tls.cert),
          privateKey: Buffer.from(tls.key),
        },
      }),
      ...(options.serverName && {
        grpcOptions: {
          'grpc.ssl_target_name_override': options.serverName,
          'grpc.default_authority': options.serverName,
        },
      }),
      // As the store's client: calls are not resent behind our back (see kv.ts); the retries are ours.
      faultHandling: { global: passThrough, host: () => passThrough },
      defaultCallOptions: () => ({ deadline: Date.now() + timeout }),
    });
  }

  async list(): Promise<EtcdMemberInfo[]> {
    const response = await this.client.cluster.memberList({});
    return response.members.map(memberInfo);
  }

  /**
   * Adds a non-voting member that will serve at `peerUrl`; returns it and the members with it. etcd refuses
   * changes while its members have not all been connected for 5 s (a cluster just started, or recovering:
   * "unhealthy cluster"); that is waited out, up to `timeoutMs`.
   */
  async addLearner(
    peerUrl: string,
    timeoutMs = 30_000,
  ): Promise<{ member: EtcdMemberInfo; members: EtcdMemberInfo[] }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const response = await this.client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true });
        return { member: memberInfo(response.member), members: response.members.map(memberInfo) };
      } catch (err) {
        if (!UNHEALTHY.test(String(err)) || Date.now() > deadline) throw err;
        await delay(250);
      }
    }
  }

  /**
   * Makes a learner a voting member, waiting (up to `timeoutMs`) until it has caught up and the cluster
   * would stay healthy with it voting.
   */
  async promote(id: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.client.cluster.memberPromote({ ID: id });
        return;
      } catch (err) {
        // Behind the leader, or not yet connected to the others for long enough: wait.
        const waiting = NOT_IN_SYNC.test(String(err)) || UNHEALTHY.test(String(err));
        if (!waiting || Date.now() > deadline) throw err;
        await delay(100);
      }
    }
  }

  /** Removes a member, waiting out etcd's "unhealthy cluster" (as for `addLearner`) up to `timeoutMs`. */
  async remove(id: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.client.cluster.memberRemove({ ID: id });
        return;
      } catch (err) {
        if (!UNHEALTHY.test(String(err)) || Date.now() > deadline) throw err;
        await delay(250);
      }
    }
  }

  close(): void {
    this.client.close();
  }
}

function memberInfo(member: {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}): EtcdMemberInfo {
  return {
    id: member.ID,
    name: member.name,
    peerUrls: [...member.peerURLs],
    clientUrls: [...member.clientURLs],
    isLearner: member.isLearner,
  };
}

/**
 * `name=peerUrl,…` for `--initial-cluster` of a member joining: every member that has started (has a name)
 * plus the new one under its name.
 */
export function initialClusterFor(members: readonly EtcdMemberInfo[], name: string, peerUrl: string): string {
  const entries = members.flatMap((member) =>
    member.peerUrls.includes(peerUrl)
      ? [`${name}=${peerUrl}`]
      : member.name
        ? member.peerUrls.map((url) => `${member.name}=${url}`)
        : [],
  );
  return entries.join(',');
}
