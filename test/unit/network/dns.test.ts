// The embedded DNS: the names a task may see (scoped to its own networks), and the answers as libnetwork's
// resolver gives them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';

import type { OverlayTask } from '../../../src/api/networks.js';
import { answerQuery } from '../../../src/agent/network/dns/answer.js';
import { buildRecords, resolveName, resolveReverse } from '../../../src/agent/network/dns/records.js';
import { DnsServer } from '../../../src/agent/network/dns/server.js';

const ep = (
  taskId: string,
  service: string,
  ip: string,
  options: Partial<OverlayTask> = {},
): OverlayTask => ({
  taskId,
  taskName: `${service}.1.${taskId}`,
  serviceId: `id-${service}`,
  serviceName: service,
  nodeId: 'n1',
  serving: true,
  addresses: [`${ip}/24`],
  aliases: [],
  ...options,
});

const app = buildRecords('app-id', 'app', [
  ep('w1', 'web', '10.0.1.3', { aliases: ['www'] }),
  ep('w2', 'web', '10.0.1.4', { aliases: ['www'] }),
  ep('w3', 'web', '10.0.1.5', { serving: false }),
  ep('c1', 'client', '10.0.1.6'),
]);
const back = buildRecords('back-id', 'back', [ep('d1', 'db', '10.0.2.3'), ep('w9', 'web', '10.0.2.9')]);

/** dns-packet's decoded answer (its types leave out the rcode it decodes). */
const decode = (bytes: Buffer) =>
  dnsPacket.decode(bytes) as unknown as Omit<ReturnType<typeof dnsPacket.decode>, 'answers'> & {
    rcode: string;
    answers?: { type: string; name: string; ttl?: number; data?: unknown }[];
  };

const query = (name: string, type: 'A' | 'AAAA' | 'PTR' | 'MX' | 'TXT' = 'A', id = 7) =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
  });

describe('embedded DNS', () => {
  it('resolves services, tasks.<service>, aliases and task names on the networks the task is on', () => {
    assert.deepEqual(resolveName('web', [app]).addresses, ['10.0.1.3', '10.0.1.4']);
    assert.deepEqual(resolveName('tasks.web.', [app]).addresses, ['10.0.1.3', '10.0.1.4']);
    assert.deepEqual(resolveName('WWW', [app]).addresses, ['10.0.1.3', '10.0.1.4']);
    assert.deepEqual(resolveName('tasks.www', [app]).addresses, ['10.0.1.3', '10.0.1.4']);
    assert.deepEqual(resolveName('web.1.w2', [app]).addresses, ['10.0.1.4']);
    // A task not serving (being stopped, not running yet) is not answered.
    assert.deepEqual(resolveName('web.1.w3', [app]), { addresses: [], known: false });
    // Scoped: a task only on `back` sees `web` there, not on `app`; one on neither sees nothing.
    assert.deepEqual(resolveName('web', [back]).addresses, ['10.0.2.9']);
    assert.deepEqual(resolveName('client', [back]), { addresses: [], known: false });
    assert.deepEqual(resolveName('web', []), { addresses: [], known: false });
    // The first network (in the task's order) that has the name answers; `name.network` picks one.
    assert.deepEqual(resolveName('web', [back, app]).addresses, ['10.0.2.9']);
    assert.deepEqual(resolveName('web.app', [back, app]).addresses, ['10.0.1.3', '10.0.1.4']);
    assert.deepEqual(resolveName('tasks.web.app', [back, app]).addresses, ['10.0.1.3', '10.0.1.4']);
    assert.deepEqual(resolveName('web.app', [back]), { addresses: [], known: false });
    assert.equal(resolveReverse('4.1.0.10.in-addr.arpa', [app]), 'web.1.w2.app');
    assert.equal(resolveReverse('4.1.0.10.in-addr.arpa', [back]), undefined);
  });

  it("answers as Docker's resolver: A records with TTL 600, RA set, empty NOERROR for AAAA, PTR; the rest forwarded", () => {
    const outcome = answerQuery(query('tasks.web'), { networks: [app], transport: 'udp', shuffle: (x) => x });
    assert.equal(outcome.kind, 'answer');
    const answer = decode((outcome as { response: Buffer }).response);
    assert.equal(answer.id, 7);
    assert.equal(answer.type, 'response');
    assert.equal(answer.flag_rd, true);
    assert.equal(answer.flag_ra, true);
    assert.equal(answer.flag_aa, false);
    assert.equal(answer.rcode, 'NOERROR');
    assert.deepEqual(
      answer.answers?.map((a) => [a.type, a.name, a.ttl, a.data]),
      [
        ['A', 'tasks.web', 600, '10.0.1.3'],
        ['A', 'tasks.web', 600, '10.0.1.4'],
      ],
    );
    const aaaa = answerQuery(query('web', 'AAAA'), { networks: [app], transport: 'udp' });
    assert.equal(aaaa.kind, 'answer');
    const empty = decode((aaaa as { response: Buffer }).response);
    assert.equal(empty.rcode, 'NOERROR');
    assert.equal(empty.answers?.length, 0);
    const ptr = answerQuery(query('3.1.0.10.in-addr.arpa', 'PTR'), { networks: [app], transport: 'udp' });
    assert.equal(decode((ptr as { response: Buffer }).response).answers?.[0]?.data, 'web.1.w1.app');
    assert.equal(answerQuery(query('example.org'), { networks: [app], transport: 'udp' }).kind, 'forward');
    assert.equal(answerQuery(query('web', 'TXT'), { networks: [app], transport: 'udp' }).kind, 'forward');
    assert.equal(answerQuery(Buffer.from([1, 2, 3]), { networks: [app], transport: 'udp' }).kind, 'drop');
  });

  it('cuts a UDP answer that does not fit 512 bytes and marks it truncated; TCP gets all of it', () => {
    const many = buildRecords(
      'big',
      'big',
      Array.from({ length: 60 }, (_, i) =>
        ep(`t${i}`, 'web', `10.0.${Math.floor(i / 200)}.${(i % 200) + 2}`),
      ),
    );
    const udp = decode(
      (answerQuery(query('web'), { networks: [many], transport: 'udp' }) as { response: Buffer }).response,
    );
    assert.equal(udp.flag_tc, true);
    assert.ok(udp.answers!.length < 60 && udp.answers!.length > 0);
    const tcp = decode(
      (answerQuery(query('web'), { networks: [many], transport: 'tcp' }) as { response: Buffer }).response,
    );
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers!.length, 60);
  });

  it('answers SERVFAIL at once when no resolver can be asked, and quickly when none answers', async () => {
    const none = new DnsServer({ asker: () => ({ networks: [app] }), upstreams: () => [] });
    const started = Date.now();
    const reply = decode((await none.handle(query('example.org', 'A', 42), '172.18.0.2', 'udp'))!);
    assert.equal(reply.rcode, 'SERVFAIL');
    assert.equal(reply.id, 42);
    // 127.0.0.9:53 refuses (nothing listens there): the next server, then SERVFAIL, without waiting.
    const refused = new DnsServer({
      asker: () => ({ networks: [app] }),
      upstreams: () => ['127.0.0.9', 'not-an-ip'],
    });
    const failed = decode((await refused.handle(query('example.org'), '172.18.0.2', 'udp'))!);
    assert.equal(failed.rcode, 'SERVFAIL');
    assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
  });

  it('forwards only for tasks of this node, and never for a task whose networks are all internal', async () => {
    let asked = 0;
    const upstreams = (): string[] => {
      asked++;
      return ['127.0.0.9'];
    };
    const stranger = new DnsServer({ asker: () => undefined, upstreams });
    const notForYou = decode((await stranger.handle(query('example.org', 'A', 7), '192.0.2.50', 'udp'))!);
    assert.equal(notForYou.rcode, 'REFUSED');
    assert.equal(notForYou.id, 7);
    // Nor does a stranger learn the swarm's names.
    assert.equal(decode((await stranger.handle(query('web'), '192.0.2.50', 'udp'))!).rcode, 'REFUSED');
    const internal = new DnsServer({ asker: () => ({ networks: [app], internalOnly: true }), upstreams });
    assert.equal(
      decode((await internal.handle(query('example.org'), '172.18.0.2', 'udp'))!).rcode,
      'SERVFAIL',
    );
    // Its own networks' names it still gets.
    assert.equal(decode((await internal.handle(query('web'), '172.18.0.2', 'udp'))!).rcode, 'NOERROR');
    assert.equal(asked, 0, 'no resolver was asked');
  });
});
