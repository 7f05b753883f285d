// `GET /events` over a real server on a unix socket, with a scripted backend whose manager keeps a real
// event history: headers and framing, replay and close, streaming event by event, `until` in the future,
// Docker's errors, and the empty stream of a node that is not a manager.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NOT_A_MANAGER, unavailable } from '../../../src/api/errors.js';
import type { EventMessage } from '../../../src/api/control.js';
import type { ControlBackend, EngineBackend } from '../../../src/engineapi/backend.js';
import { encodeEvent, parseEventTime } from '../../../src/engineapi/routes/events.js';
import { EngineServer } from '../../../src/engineapi/server.js';
import { EventHistory } from '../../../src/manager/events/history.js';

const S = 1_000_000_000n;

function event(name: string, second: number, type: EventMessage['Type'] = 'service'): EventMessage {
  return {
    Type: type,
    Action: 'update',
    Actor: { ID: `id-${name}`, Attributes: { name } },
    scope: 'swarm',
    time: second,
    timeNano: BigInt(second) * S + 123n,
  };
}

function open(socketPath: string, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'GET', path }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a streaming response line by line, waiting for each. */
class LineReader {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiting: (() => void) | undefined;
  ended = false;

  constructor(res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.waiting?.();
    });
    res.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  async next(): Promise<string | undefined> {
    while (this.lines.length === 0 && !this.ended) await new Promise<void>((r) => (this.waiting = r));
    return this.lines.shift();
  }
}

describe('GET /events', () => {
  let dir: string;
  let socket: string;
  let server: EngineServer;
  let history: EventHistory;
  const state = { manager: true };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-events-'));
    socket = join(dir, 'api.sock');
    history = new EventHistory();
    const control = {
      subscribeEvents: (request, listener) => history.subscribe(request, listener),
    } as Partial<ControlBackend> as ControlBackend;
    const backend = {
      control: () => {
        if (!state.manager) throw unavailable(NOT_A_MANAGER);
        return control;
      },
    } as Partial<EngineBackend> as EngineBackend;
    server = new EngineServer({
      backend,
      address: `unix://${socket}`,
      serverVersion: '0.1.0',
      log: () => {},
    });
    await server.listen();
    for (const [name, second] of [
      ['a', 100],
      ['b', 200],
      ['c', 300],
    ] as const) {
      history.publish(event(name, second));
    }
    history.publish(event('vm', 250, 'node'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays the window in arrival order as chunked JSON lines, and closes when until has passed', async () => {
    const res = await open(socket, '/v1.41/events?since=150&until=300.000000123');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(
      await readAll(res),
      '{"Type":"service","Action":"update","Actor":{"ID":"id-b","Attributes":{"name":"b"}},"scope":"swarm","time":200,"timeNano":200000000123}\n' +
        '{"Type":"service","Action":"update","Actor":{"ID":"id-c","Attributes":{"name":"c"}},"scope":"swarm","time":300,"timeNano":300000000123}\n' +
        '{"Type":"node","Action":"update","Actor":{"ID":"id-vm","Attributes":{"name":"vm"}},"scope":"swarm","time":250,"timeNano":250000000123}\n',
    );
  });

  it('applies the filters to the replay', async () => {
    const filters = encodeURIComponent(JSON.stringify({ type: { node: true } }));
    const res = await open(socket, `/v1.41/events?filters=${filters}&until=1000`);
    assert.deepEqual(
      (await readAll(res))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as EventMessage).Actor.ID),
      ['id-vm'],
    );
  });

  it('streams new events one by one, after the replay, until the client goes away', async () => {
    const res = await open(socket, '/v1.41/events?since=250');
    assert.equal(res.headers['content-type'], 'application/json');
    const lines = new LineReader(res);
    // Walking back from the newest: vm (250) and c (300) are in, b (200) is older than since.
    assert.match((await lines.next())!, /"ID":"id-c"/);
    assert.match((await lines.next())!, /"ID":"id-vm"/);
    for (const name of ['live1', 'live2']) {
      history.publish(event(name, 400));
      // Each event arrives on its own, before the next one exists.
      assert.match((await lines.next())!, new RegExp(`"ID":"id-${name}"`));
    }
    assert.equal(history.listenerCount, 1);
    res.destroy();
    await waitUntil(() => history.listenerCount === 0);
  });

  it('sends only new events without since or until', async () => {
    const res = await open(socket, '/v1.41/events');
    const lines = new LineReader(res);
    history.publish(event('fresh', 500));
    assert.match((await lines.next())!, /"ID":"id-fresh"/);
    res.destroy();
    await waitUntil(() => history.listenerCount === 0);
  });

  it('streams until a future until, then closes by itself', async () => {
    const until = (Date.now() + 300) / 1000;
    const res = await open(socket, `/v1.41/events?since=10000&until=${until.toFixed(3)}`);
    const lines = new LineReader(res);
    history.publish(event('soon', 10_001));
    assert.match((await lines.next())!, /"ID":"id-soon"/);
    assert.equal(await lines.next(), undefined);
    assert.ok(lines.ended);
    assert.ok(Date.now() / 1000 >= until, 'closed at until, not before');
    await waitUntil(() => history.listenerCount === 0);
  });

  it("refuses an unknown filter key, malformed filters and bad times with Docker's messages", async () => {
    const cases: [string, string][] = [
      [`filters=${encodeURIComponent('{"foo":{"bar":true}}')}`, "Invalid filter 'foo'"],
      [
        `filters=${encodeURIComponent('{bad')}`,
        "invalid character 'b' looking for beginning of object key string",
      ],
      [
        'since=abc',
        `invalid value for 'since': invalid timestamp "abc": invalid seconds "abc": invalid syntax`,
      ],
      [
        'until=1.x',
        `invalid value for 'until': invalid timestamp "1.x": invalid nanoseconds: invalid character 'x' at position 0`,
      ],
      ['since=20&until=10', '`since` time (20) cannot be after `until` time (10)'],
    ];
    for (const [query, message] of cases) {
      const res = await open(socket, `/v1.41/events?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.deepEqual(JSON.parse(await readAll(res)), { message }, query);
    }
  });

  it('answers an empty stream on a node that is not a manager', async () => {
    state.manager = false;
    try {
      const res = await open(socket, '/v1.41/events?since=0&until=1000');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(await readAll(res), '');
      // Without until it stays open, with nothing to say, until the client leaves.
      const live = await open(socket, '/v1.41/events');
      assert.equal(live.statusCode, 200);
      const lines = new LineReader(live);
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      assert.equal(lines.ended, false);
      live.destroy();
    } finally {
      state.manager = true;
    }
  });
});

describe('event times and encoding', () => {
  it('parses Unix seconds with a fraction as dockerd does', () => {
    assert.equal(parseEventTime(null, 'since'), undefined);
    assert.equal(parseEventTime('', 'since'), undefined);
    assert.equal(parseEventTime('1700000000', 'since'), 1700000000n * S);
    assert.equal(parseEventTime('1700000000.5', 'since'), 1700000000n * S + 500000000n);
    assert.equal(parseEventTime('1700000000.000000001', 'since'), 1700000000n * S + 1n);
    assert.equal(parseEventTime('1700000000.1234567891', 'since'), 1700000000n * S + 123456789n);
    assert.equal(parseEventTime('1700000000.', 'since'), 1700000000n * S);
    assert.equal(parseEventTime('0', 'until'), 0n);
    assert.equal(parseEventTime('-5', 'until'), -5n * S);
    assert.equal(parseEventTime('+5', 'until'), 5n * S);
  });

  it('takes RFC 3339 times too', () => {
    assert.equal(parseEventTime('2026-11-25T21:56:16Z', 'since'), 1795643776n * S);
    assert.equal(parseEventTime('2026-11-25T21:56:16.040166964Z', 'since'), 1795643776n * S + 40166964n);
    assert.equal(parseEventTime('2026-11-25T22:56:16+01:00', 'since'), 1795643776n * S);
  });

  it("refuses anything else with the newer engines' messages", () => {
    const refuses = (raw: string, message: string): void =>
      assert.throws(() => parseEventTime(raw, 'since'), { message: `invalid value for 'since': ${message}` });
    refuses('2m', 'invalid timestamp "2m": invalid seconds "2m": invalid syntax');
    refuses('.5', 'invalid timestamp ".5": invalid seconds "": invalid syntax');
    refuses(
      '99999999999999999999',
      'invalid timestamp "99999999999999999999": invalid seconds "99999999999999999999": value out of range',
    );
    refuses('1.-5', `invalid timestamp "1.-5": invalid nanoseconds: invalid character '-' at position 0`);
    refuses(
      '1.' + '1'.repeat(21),
      `invalid timestamp "1.${'1'.repeat(21)}": invalid nanoseconds: length 21 exceeds maximum 20`,
    );
  });

  it('encodes an event as json.Encoder does, time digits exact', () => {
    const e: EventMessage = {
      Type: 'service',
      Action: 'update',
      Actor: { ID: 'x', Attributes: { name: 'a<b>&c\u2028', 'replicas.new': '1' } },
      scope: 'swarm',
      time: 1795643776,
      timeNano: 1795643776040166964n,
    };
    assert.equal(
      encodeEvent(e),
      '{"Type":"service","Action":"update","Actor":{"ID":"x","Attributes":{"name":"a\\u003cb\\u003e\\u0026c\\u2028","replicas.new":"1"}},"scope":"swarm","time":1795643776,"timeNano":1795643776040166964}\n',
    );
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  // The server notices a closed client on its next turn of the event loop: poll turns, not time.
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(condition(), 'condition never held');
}
