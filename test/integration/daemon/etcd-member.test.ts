// A manager's etcd member as shoald runs it (src/daemon/etcd/member.ts): mutual TLS with certificates from
// the swarm's root CA, a manager's certificate let in and a worker's, a stranger's or none refused, and
// supervision: a member killed with SIGKILL comes back by itself and the store's client carries on.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { connect } from 'node:tls';

import { generateNodeKeyAndCsr } from '../../../src/api/certs.js';
import type { NodeRole } from '../../../src/api/types.js';
import { EtcdMember, writeEtcdMemberFiles } from '../../../src/daemon/etcd/member.js';
import { EtcdProcess } from '../../../src/daemon/etcd/process.js';
import { createLogger } from '../../../src/daemon/logger.js';
import { createRootCA, loadRootCASigner, type RootCAKeyMaterial } from '../../../src/manager/ca/rootca.js';
import { signNodeCertificate } from '../../../src/manager/ca/signer.js';
import { EtcdKV } from '../../../src/store/etcd/kv.js';
import { freePort } from '../../harness/ports.js';

const root = mkdtempSync(join(tmpdir(), 'shoal-etcd-member-'));
const members: EtcdMember[] = [];
after(async () => {
  for (const member of members) await member.stop();
  rmSync(root, { recursive: true, force: true });
});

const log = createLogger({ debug: false, write: () => true });

async function issue(ca: RootCAKeyMaterial, role: NodeRole, nodeId: string) {
  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  const certPem = await signNodeCertificate({
    csrPem,
    nodeId,
    role,
    clusterId: 'cluster1',
    expirySeconds: 3600,
    rootCA: await loadRootCASigner(ca),
    ipAddresses: ['127.0.0.1'],
  });
  return { caPem: ca.CACert, certPem, keyPem };
}

async function startMember(ca: RootCAKeyMaterial): Promise<EtcdMember> {
  const dir = join(root, `m${members.length}`);
  writeEtcdMemberFiles(dir, await issue(ca, 'manager', `node${members.length}`));
  const member = new EtcdMember({
    dir,
    name: `node${members.length}`,
    host: '127.0.0.1',
    clientPort: await freePort(),
    peerPort: await freePort(),
    heartbeatMs: 10,
    electionMs: 100,
    log,
  });
  members.push(member);
  await member.start();
  return member;
}

describe('etcd member', () => {
  it('serves managers of its swarm over mutual TLS, and nobody else', async () => {
    const ca = await createRootCA();
    const member = await startMember(ca);
    const manager = await EtcdKV.open(member.clientOptions());
    try {
      await manager.put('/a', 'from a manager');
      assert.equal((await manager.get('/a'))?.value, 'from a manager');
    } finally {
      await manager.close();
    }

    const refused = async (tls: NonNullable<Parameters<typeof EtcdKV.open>[0]['tls']>, why: string) => {
      await assert.rejects(
        EtcdKV.open({ ...member.clientOptions(), tls }),
        (err: Error) => {
          assert.doesNotMatch(err.message, /from a manager/);
          return true;
        },
        why,
      );
    };
    const worker = await issue(ca, 'worker', 'worker1');
    await refused({ ca: ca.CACert, cert: worker.certPem, key: worker.keyPem }, 'a worker of the swarm');
    const stranger = await issue(await createRootCA(), 'manager', 'other');
    await refused(
      { ca: ca.CACert, cert: stranger.certPem, key: stranger.keyPem },
      'a manager of another swarm',
    );
    // No client certificate at all (but the right CA to check the member with).
    await assert.rejects(
      (async () => {
        const kv = await EtcdKV.open({
          ...member.clientOptions(),
          tls: { ca: ca.CACert, cert: '', key: '' },
        });
        await kv.close();
      })(),
    );
    // Plain HTTP.
    await assert.rejects(EtcdKV.open({ endpoints: [member.clientUrl.replace('https:', 'http:')] }));
  });

  it('says why a member does not start: etcd missing, its own reason, or its port taken', async () => {
    const clientPort = await freePort();
    const config = (name: string, binary?: string) => ({
      name,
      dataDir: join(root, name, 'data'),
      clientUrl: `http://127.0.0.1:${clientPort}`,
      peerUrl: `http://127.0.0.1:${name === 'taken-a' ? peerA : peerB}`,
      initialCluster: `${name}=http://127.0.0.1:${name === 'taken-a' ? peerA : peerB}`,
      initialClusterState: 'new' as const,
      ...(binary && { binary }),
    });
    const [peerA, peerB] = [await freePort(), await freePort()];
    await assert.rejects(
      EtcdProcess.start(config('missing', '/nonexistent/etcd')),
      /etcd is not installed \(\/nonexistent\/etcd not found\)/,
    );
    // etcd's own reason, from its log, when it exits.
    await assert.rejects(
      EtcdProcess.start({ ...config('misnamed'), initialCluster: `someone-else=http://127.0.0.1:${peerB}` }),
      /exited while starting \(1\): .*couldn't find local name "misnamed" in the initial cluster configuration/,
    );
    const first = await EtcdProcess.start(config('taken-a'));
    try {
      await assert.rejects(
        EtcdProcess.start(config('taken-b')),
        /the etcd client port 127\.0\.0\.1:\d+ is in use by another process/,
      );
    } finally {
      await first.stop();
    }
  });

  it('takes a renewed certificate without a restart, and the store client moves to its own', async () => {
    const ca = await createRootCA();
    const member = await startMember(ca);
    const kv = await EtcdKV.open(member.clientOptions());
    try {
      const seen: unknown[] = [];
      kv.watch('/r/', (batch) => seen.push(...batch.events.map((event) => event.value)));
      await kv.put('/r/1', 1);
      const dir = join(root, `m${members.length - 1}`);
      const renewed = await issue(ca, 'manager', 'renewed');
      writeEtcdMemberFiles(dir, renewed);
      // The member serves with the new certificate at the next handshake.
      const served = await new Promise<string>((resolve, reject) => {
        const url = new URL(member.clientUrl);
        const socket = connect(
          {
            host: url.hostname,
            port: Number(url.port),
            ca: ca.CACert,
            cert: renewed.certPem,
            key: renewed.keyPem,
            servername: 'swarm-manager',
          },
          () => {
            resolve(socket.getPeerCertificate().serialNumber);
            socket.end();
          },
        );
        socket.on('error', reject);
      });
      assert.equal(served.toLowerCase(), new X509Certificate(renewed.certPem).serialNumber.toLowerCase());
      kv.setTls(member.clientTls());
      await kv.put('/r/2', 2);
      const deadline = Date.now() + 10_000;
      while (seen.length < 2) {
        assert.ok(Date.now() < deadline, `the watch saw ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(seen, [1, 2]);
    } finally {
      await kv.close();
    }
  });

  it('comes back after SIGKILL, and the store client carries on', async () => {
    const member = await startMember(await createRootCA());
    const kv = await EtcdKV.open(member.clientOptions());
    try {
      const seen: unknown[] = [];
      kv.watch('/w/', (batch) => seen.push(...batch.events.map((event) => event.value)));
      await kv.put('/w/1', 1);
      const pid = member.pid!;
      process.kill(pid, 'SIGKILL');
      const deadline = Date.now() + 15_000;
      while (member.pid === undefined || member.pid === pid) {
        assert.ok(Date.now() < deadline, 'the member was not restarted');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Writes may fail while it restarts; one goes through once it serves again.
      for (;;) {
        try {
          await kv.put('/w/2', 2);
          break;
        } catch {
          assert.ok(Date.now() < deadline, 'the member does not serve after its restart');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      while (seen.length < 2) {
        assert.ok(Date.now() < deadline, `the watch saw ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(seen, [1, 2]);
    } finally {
      await kv.close();
    }
  });
});
