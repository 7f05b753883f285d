// `shoal events`: the request the docker CLI sends (relative times made absolute client-side, filters as
// JSON) and the output it prints, checked against the stream and stdout recorded from docker CLI 28.2.2
// talking to Docker Engine 20.10.24 (spec/engine-api-trace/events.md).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeEvent, prettyEvent } from '../../../src/cli/commands/events.js';
import { FakeClient, routes, runShoal } from './helpers.js';

// `docker events --filter type=service --since 20m --until 0s`: the body and what the CLI printed.
const RECORDED_BODY = `{"Type":"service","Action":"update","Actor":{"ID":"2hl4j963o2qhxyuvkiqwwvpyz","Attributes":{"name":"web","updatestate.new":"rollback_completed","updatestate.old":"rollback_started"}},"scope":"swarm","time":1795643776,"timeNano":1795643776040166964}
{"Type":"service","Action":"create","Actor":{"ID":"3j29e39kel9r2okx9nosxf0l3","Attributes":{"name":"logger"}},"scope":"swarm","time":1795643784,"timeNano":1795643784109467780}
{"Type":"service","Action":"update","Actor":{"ID":"ulmjzsm026slox0vbwu2olgr5","Attributes":{"name":"websync"}},"scope":"swarm","time":1795643818,"timeNano":1795643818165051355}
{"Type":"service","Action":"update","Actor":{"ID":"ulmjzsm026slox0vbwu2olgr5","Attributes":{"name":"websync","replicas.new":"1","replicas.old":"2"}},"scope":"swarm","time":1795643819,"timeNano":1795643819083319588}
{"Type":"service","Action":"update","Actor":{"ID":"ulmjzsm026slox0vbwu2olgr5","Attributes":{"name":"websync","replicas.new":"2","replicas.old":"1","updatestate.new":"rollback_started","updatestate.old":"updating"}},"scope":"swarm","time":1795643820,"timeNano":1795643820104625695}
`;
const RECORDED_STDOUT = `2026-11-25T21:56:16.040166964Z service update 2hl4j963o2qhxyuvkiqwwvpyz (name=web, updatestate.new=rollback_completed, updatestate.old=rollback_started)
2026-11-25T21:56:24.109467780Z service create 3j29e39kel9r2okx9nosxf0l3 (name=logger)
2026-11-25T21:56:58.165051355Z service update ulmjzsm026slox0vbwu2olgr5 (name=websync)
2026-11-25T21:56:59.083319588Z service update ulmjzsm026slox0vbwu2olgr5 (name=websync, replicas.new=1, replicas.old=2)
2026-11-25T21:57:00.104625695Z service update ulmjzsm026slox0vbwu2olgr5 (name=websync, replicas.new=2, replicas.old=1, updatestate.new=rollback_started, updatestate.old=updating)
`;

function client(body: string | Buffer[] = RECORDED_BODY): FakeClient {
  const c = new FakeClient(routes({}));
  c.streams.set('/events', Array.isArray(body) ? Buffer.concat(body) : Buffer.from(body));
  return c;
}

describe('shoal events', () => {
  let zone: string | undefined;
  before(() => {
    zone = process.env.TZ;
    process.env.TZ = 'UTC';
  });
  after(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });

  it('sends relative times as absolute Unix seconds and the filters as JSON, like the docker CLI', async () => {
    const c = client('');
    const r = await runShoal(
      ['events', '--since', '20m', '--until', '0s', '-f', 'type=service', '--filter', 'type=node'],
      { client: c },
    );
    assert.equal(r.code, 0, r.err);
    // runShoal's clock: 2026-11-25T23:40:00Z = 1795650000.
    assert.deepEqual(c.lines, [
      `GET /events?filters=${encodeURIComponent('{"type":{"node":true,"service":true}}')}&since=1795648800&until=1795650000`,
    ]);
  });

  it('passes Unix and RFC 3339 times on as the docker CLI converts them', async () => {
    const c = client('');
    await runShoal(['events', '--since', '1795643762', '--until', '2026-11-25T21:58:00Z'], { client: c });
    assert.deepEqual(c.lines, ['GET /events?since=1795643762&until=1795643880.000000000']);
  });

  it('prints events as the docker CLI does: local RFC 3339 time, nine digits, sorted attributes', async () => {
    const r = await runShoal(['events', '--since', '20m', '--until', '0s'], { client: client() });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, RECORDED_STDOUT);
  });

  it('prints the time in the local zone, with its offset', () => {
    const event = decodeEvent(RECORDED_BODY.split('\n')[1]!);
    process.env.TZ = 'Asia/Kolkata';
    try {
      assert.equal(
        prettyEvent(event),
        '2026-11-26T03:26:24.109467780+05:30 service create 3j29e39kel9r2okx9nosxf0l3 (name=logger)\n',
      );
    } finally {
      process.env.TZ = 'UTC';
    }
    assert.equal(
      prettyEvent({ ...event, TimeNano: 0n, Actor: { ID: 'x', Attributes: null } }),
      '2026-11-25T21:56:24.000000000Z service create x\n',
    );
    assert.equal(
      prettyEvent({ ...event, TimeNano: 0n, Time: 0n }),
      'service create 3j29e39kel9r2okx9nosxf0l3 (name=logger)\n',
    );
  });

  it('prints {{json .}} (and --format json) as the daemon sent it, every digit kept', async () => {
    for (const format of ['{{json .}}', 'json']) {
      const r = await runShoal(['events', '--format', format], { client: client() });
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, RECORDED_BODY);
    }
  });

  it('executes templates over events.Message', async () => {
    const r = await runShoal(
      [
        'events',
        '--format',
        '{{.Type}} {{.Action}} {{.Scope}} {{.Time}} {{.TimeNano}} {{.Actor.ID}} {{index .Actor.Attributes "replicas.new"}} [{{.Status}}]',
      ],
      { client: client(RECORDED_BODY.split('\n')[3]! + '\n') },
    );
    assert.equal(
      r.out,
      'service update swarm 1795643819 1795643819083319588 ulmjzsm026slox0vbwu2olgr5 1 []\n',
    );
  });

  it("refuses a template that does not fit an event with Docker's message and exit code 64", async () => {
    const c = client();
    const bad = await runShoal(['events', '--format', '{{.Nope}}'], { client: c });
    assert.equal(bad.code, 64);
    assert.equal(
      bad.err,
      'Error parsing format: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *events.Message\n',
    );
    const unparsable = await runShoal(['events', '--format', '{{.Type'], { client: c });
    assert.equal(unparsable.code, 64);
    assert.match(unparsable.err, /^Error parsing format: template: :1: /);
    assert.deepEqual(c.lines, [], 'nothing sent');
  });

  it('refuses a filter without = and an unparsable time as the docker CLI does', async () => {
    const c = client();
    const filter = await runShoal(['events', '--filter', 'foo'], { client: c });
    assert.equal(filter.code, 125);
    assert.match(
      filter.err,
      /^invalid argument "foo" for "-f, --filter" flag: bad format of filter \(expected name=value\)\n/,
    );
    const since = await runShoal(['events', '--since', 'bogus'], { client: c });
    assert.equal(since.code, 1);
    assert.equal(since.err, 'failed to parse value as time or duration: "bogus"\n');
    assert.deepEqual(c.lines, []);
  });

  it('reads events split anywhere across chunks, multi-byte characters included', async () => {
    const line =
      '{"Type":"node","Action":"update","Actor":{"ID":"n1","Attributes":{"name":"höst-ü"}},"scope":"swarm","time":1,"timeNano":1000000001}\n';
    const bytes = Buffer.from(line + line);
    const at = bytes.indexOf(Buffer.from('ö')) + 1; // inside the two bytes of ö
    const r = await runShoal(['events'], { client: client([bytes.subarray(0, at), bytes.subarray(at)]) });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '1970-01-01T00:00:01.000000001Z node update n1 (name=höst-ü)\n'.repeat(2));
  });

  it('decodes as Go does: exact int64 times, keys matched without case, unknown keys ignored', () => {
    const event = decodeEvent(
      '{"type":"service","ACTION":"remove","Actor":{"ID":"s","Attributes":{"name":"x"}},"Scope":"swarm","timeNano":9223372036854775807,"extra":[1,{"a":null}]}',
    );
    assert.equal(event.Type, 'service');
    assert.equal(event.Action, 'remove');
    assert.equal(event.Scope, 'swarm');
    assert.equal(event.TimeNano, 9223372036854775807n);
    assert.equal(event.Time, 0n);
    assert.throws(() => decodeEvent('{"Type":1}'), {
      message: 'json: cannot unmarshal number into Go struct field events.Message.Type of type string',
    });
    assert.throws(() => decodeEvent('{"Type":"x"'), { message: 'unexpected EOF' });
  });
});
