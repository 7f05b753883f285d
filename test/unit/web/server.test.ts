// The dashboard's and the metrics' HTTP servers on loopback: with a token, every path — the page, its
// files, its streams, /metrics — answers 401 without it and 200 with it (header, cookie, or the address's
// `?token=`, which the page trades for a cookie); without a token (a loopback address) they are open.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Access, isLoopback, parseListenAddress } from '../../../src/web/access.js';
import { MetricsServer } from '../../../src/web/metrics-server.js';
import { DashboardServer, STATIC_DIR } from '../../../src/web/server.js';
import { controlFixture, type Fixture } from './fixture.js';

const TOKEN = 'a-token-of-the-right-length-0123456789';
const quiet = (): void => undefined;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET; for an event stream, the head and the first event only. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (res.headers['content-type']?.startsWith('text/event-stream') && /\nevent: /.test(body)) {
          req.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, body });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('access', () => {
  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', 'localhost', '::ffff:127.0.0.1'])
      assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '198.18.0.10', '::', '10.0.0.1', 'example.org'])
      assert.ok(!isLoopback(host), host);
  });

  it('reads host:port', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9090', '--web-addr'), { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(parseListenAddress('[::1]:9090', '--web-addr'), { host: '::1', port: 9090 });
    assert.throws(() => parseListenAddress('9090', '--web-addr'), /invalid --web-addr "9090": use host:port/);
    assert.throws(() => parseListenAddress('a:70000', '--web-addr'), /invalid --web-addr/);
  });

  it('is open without a token', () => {
    assert.ok(new Access(undefined).open);
    assert.ok(!new Access(TOKEN).open);
  });
});

describe('dashboard and metrics servers', () => {
  let fixture: Fixture;
  let locked: DashboardServer;
  let open: DashboardServer;
  let metrics: MetricsServer;
  let lockedPort: number;
  let openPort: number;
  let metricsPort: number;

  before(async () => {
    fixture = await controlFixture();
    const provider = { current: () => ({ source: fixture.api }), onChange: () => () => undefined };
    locked = new DashboardServer({ host: '127.0.0.1', port: 0, token: TOKEN, provider, log: quiet });
    open = new DashboardServer({ host: '127.0.0.1', port: 0, token: undefined, provider, log: quiet });
    metrics = new MetricsServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      render: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' }),
      log: quiet,
    });
    [lockedPort, openPort, metricsPort] = await Promise.all([
      locked.listen(),
      open.listen(),
      metrics.listen(),
    ]);
  });
  after(async () => {
    await Promise.all([locked?.close(), open?.close(), metrics?.close()]);
    await fixture?.close();
  });

  const paths = ['/', '/static/app.js', '/static/app.css', '/api/stream', `/api/logs?service=web`];

  it('answers 401 on every path without the token, or with a wrong one', async () => {
    for (const path of paths) {
      assert.equal((await get(lockedPort, path)).status, 401, path);
      assert.equal((await get(lockedPort, path, { Authorization: 'Bearer wrong' })).status, 401, path);
      assert.equal(
        (await get(lockedPort, `${path}${path.includes('?') ? '&' : '?'}token=wrong`)).status,
        401,
      );
    }
    const answer = await get(metricsPort, '/metrics');
    assert.equal(answer.status, 401);
    assert.match(String(answer.headers['www-authenticate']), /^Bearer /);
  });

  it('answers with the token, in the header or the cookie', async () => {
    for (const path of paths) {
      assert.equal((await get(lockedPort, path, { Authorization: `Bearer ${TOKEN}` })).status, 200, path);
      assert.equal((await get(lockedPort, path, { Cookie: `x=1; shoal_token=${TOKEN}` })).status, 200, path);
    }
    const answer = await get(metricsPort, '/metrics', { Authorization: `Bearer ${TOKEN}` });
    assert.deepEqual([answer.status, answer.body], [200, 'up 1\n']);
  });

  it("trades the address's token for a cookie and takes it out of the address", async () => {
    const answer = await get(lockedPort, `/?token=${TOKEN}`);
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.location, '/');
    assert.match(
      String(answer.headers['set-cookie']),
      new RegExp(`^shoal_token=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`),
    );
  });

  it('is open on loopback without a token, serves the page and its files, and streams', async () => {
    const page = await get(openPort, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.match(page.body, /<script type="module" src="\/static\/app.js">/);
    assert.match(
      String((await get(openPort, '/static/app.js')).headers['content-type']),
      /^text\/javascript/,
    );
    assert.equal((await get(openPort, '/static/../server.js')).status, 404);
    assert.equal((await get(openPort, '/nothing')).status, 404);
    const stream = await get(openPort, '/api/stream');
    assert.match(stream.body, /^retry: 1000\n\nevent: snapshot\ndata: \{/);
    const logs = await get(openPort, `/api/logs?service=${fixture.serviceId}`);
    assert.match(logs.body, /event: lines\ndata: .*hello from the task/);
    assert.equal((await get(openPort, '/api/logs?service=nothing')).status, 404);
  });

  it('serves its files from the build', () => {
    assert.match(STATIC_DIR, /dist\/src\/web\/static$/);
  });
});
