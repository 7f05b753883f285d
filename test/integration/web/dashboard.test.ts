// Issue 17 as a user would see it: a 3-node swarm (one manager, two workers; the process executor) whose
// manager serves the dashboard and the metrics on its 198.18.x.x address, so both require the token.
// Debian's headless Chromium, driven by playwright-core and started inside the manager's host (its
// network namespace), watches the page while the test scales a service, kills a node and rolls an update;
// each state is screenshotted into test-output/dashboard/. Then /metrics is scraped, parsed strictly, and
// its counts compared with `docker node ls` and `docker service ps`.
//
// The one timing assertion: each change must show on the page within a second of the change in the API —
// the issue's acceptance criterion. It is measured from the swarm event the change made (the store write,
// stamped by the manager's clock) to the moment the page's DOM shows it (the browser's clock; both run on
// this machine), not with sleeps. The page is fed by server-sent events batched over 40 ms and draws on the
// next animation frame, so a second is a generous bound; the measured delays are printed.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { dockerCli, eventually, TestCluster, type Host } from '../../harness/index.js';
import { parseExposition, sampleValue } from '../../unit/support/prometheus-text.js';

const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps opening connections to the outside.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TOKEN = 'dashboard-test-token-0123456789abcdef';
const WEB_PORT = 9090;
const METRICS_PORT = 9323;
/** The acceptance criterion: a change shows on the page within a second. */
const PAGE_DELAY_BOUND_MS = 1000;
// dist/test/integration/web → the repository.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const OUTPUT = join(ROOT, 'test-output', 'dashboard');

interface SwarmEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
}

/** An HTTP GET from inside a host (the test's own namespace has no route to 198.18.x.x). */
async function fetchIn(
  host: Host,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string; body: string }> {
  const script = `
    const r = await fetch(${JSON.stringify(url)}, { headers: ${JSON.stringify(headers)} });
    const contentType = r.headers.get('content-type') ?? '';
    let body = '';
    if (contentType.startsWith('text/event-stream')) {
      // A stream: its first event is enough.
      const reader = r.body.getReader();
      while (!/\\nevent: [^\\n]*\\ndata: [^\\n]*\\n/.test(body)) {
        const { value, done } = await reader.read();
        if (done) break;
        body += new TextDecoder().decode(value);
      }
    } else body = await r.text();
    process.stdout.write(JSON.stringify({ status: r.status, contentType, body }));
    process.exit(0);`;
  const { stdout } = await host.exec(process.execPath, ['--input-type=module', '-e', script], {
    timeoutMs: 20_000,
  });
  return JSON.parse(stdout) as { status: number; contentType: string; body: string };
}

describe('the dashboard of a 3-node swarm, in Chromium', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let context: BrowserContext | undefined;
  let page: Page;
  let profile: string;
  let base: string;
  const delays: { change: string; ms: number }[] = [];
  const screenshots: string[] = [];

  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await cluster.manager.docker(args, { timeoutMs: 120_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };

  /** The manager's remembered swarm events from `sinceMs` until now (GET /events with a window). */
  const eventsSince = async (sinceMs: number): Promise<SwarmEvent[]> => {
    const until = (Date.now() / 1000).toFixed(3);
    const { text } = await cluster.manager.api(
      'GET',
      `/events?since=${(sinceMs / 1000).toFixed(3)}&until=${until}`,
    );
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as SwarmEvent);
  };

  /**
   * Waits (every animation frame) until the page has exactly `count` elements matching `selector`, and
   * returns the browser's time when it first did. A function, not a string: the page's Content Security
   * Policy forbids evaluating strings, and the test runs under it.
   */
  const waitCount = async (selector: string, count: number, timeoutMs = 30_000): Promise<number> => {
    const handle = await page.waitForFunction(
      ([selector, count]: [string, number]) => {
        const dom = globalThis as unknown as {
          document: { querySelectorAll(s: string): { length: number } };
        };
        return dom.document.querySelectorAll(selector).length === count ? Date.now() : false;
      },
      [selector, count] as [string, number],
      { timeout: timeoutMs, polling: 'raf' },
    );
    return (await handle.jsonValue()) as number;
  };

  /**
   * Waits until the page shows an element matching `selector` (the change), then finds the swarm event
   * `matches` picks (the change in the API) and records the delay between the two.
   */
  const measure = async (
    change: string,
    sinceMs: number,
    matches: (event: SwarmEvent) => boolean,
    selector: string,
  ): Promise<number> => {
    const shownAt = await waitCount(selector, 1, 60_000);
    const event = (await eventsSince(sinceMs)).find(matches);
    assert.ok(event, `no swarm event for "${change}"`);
    const ms = shownAt - event.timeNano / 1e6;
    delays.push({ change, ms: Math.round(ms) });
    return ms;
  };

  const screenshot = async (name: string): Promise<void> => {
    const path = join(OUTPUT, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    screenshots.push(path);
  };

  before(async () => {
    dockerCli();
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh (Debian's chromium)`);
    cluster = await TestCluster.create({
      hosts: ['manager', 'worker1', 'worker2'],
      // 0.0.0.0: every address of the host, its 198.18.x.x one included — not loopback, so the token rules.
      daemon: {
        extraArgs: [
          '--web-addr',
          `0.0.0.0:${WEB_PORT}`,
          '--metrics-addr',
          `0.0.0.0:${METRICS_PORT}`,
          '--web-token',
          TOKEN,
        ],
      },
    });
    await cluster.init('manager', { Spec: { Dispatcher: { HeartbeatPeriod: 1e9 } } });
    await cluster.join(['worker1', 'worker2']);
    await cluster.waitForNodes();
    base = `http://${cluster.manager.address}:${WEB_PORT}`;
    rmSync(OUTPUT, { recursive: true, force: true });
    mkdirSync(OUTPUT, { recursive: true });

    // Chromium runs inside the manager's host, through a wrapper that enters its namespaces.
    profile = mkdtempSync(join(tmpdir(), 'shoal-chromium-'));
    const command = cluster.host('manager').command(CHROMIUM, []);
    const wrapper = join(profile, 'chromium-in-manager.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec ${[command.file, ...command.args].map((a) => `'${a}'`).join(' ')} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const userDataDir = join(profile, 'profile');
    mkdirSync(userDataDir);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: wrapper,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 860 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });
  afterEach((t) => cluster?.reportOnFailure(t));
  after(async () => {
    await context?.close();
    await cluster?.destroy();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (delays.length > 0)
      console.log(`dashboard: page update delays: ${delays.map((d) => `${d.change} ${d.ms} ms`).join(', ')}`);
    for (const path of screenshots) console.log(`dashboard: screenshot ${path}`);
  });

  it('answers 401 without the token on the manager address, the page and its streams alike', async () => {
    const host = cluster.host('manager');
    for (const path of ['/', '/static/app.js', '/api/stream', '/api/logs?service=x']) {
      assert.equal((await fetchIn(host, `${base}${path}`)).status, 401, path);
      assert.equal(
        (await fetchIn(host, `${base}${path}`, { Authorization: 'Bearer nope' })).status,
        401,
        path,
      );
    }
    assert.equal(
      (await fetchIn(host, `${base.replace(`${WEB_PORT}`, `${METRICS_PORT}`)}/metrics`)).status,
      401,
    );
    const page = await fetchIn(host, `${base}/`, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(page.status, 200);
    const stream = await fetchIn(host, `${base}/api/stream`, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(stream.status, 200);
    assert.match(stream.body, /event: snapshot\ndata: \{/);
  });

  it('says on a worker that a worker serves no dashboard', async () => {
    const worker = cluster.daemon('worker1');
    const stream = await fetchIn(cluster.host('worker1'), `http://${worker.address}:${WEB_PORT}/api/stream`, {
      Authorization: `Bearer ${TOKEN}`,
    });
    assert.match(
      stream.body,
      /event: unavailable\ndata: \{"message":"this node is a swarm worker: the dashboard is served by the managers"\}/,
    );
  });

  it('shows the swarm, then each change within a second: a scale, a node killed, a rolling update', async () => {
    await docker(
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--replicas',
      '3',
      '--update-parallelism',
      '2',
      '--update-delay',
      '0s',
      '--update-monitor',
      '1s',
      'busybox',
      'sh',
      '-c',
      'echo web task starting; exec sleep 3600',
    );
    await page.goto(`${base}/?token=${TOKEN}`);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    await page.waitForSelector('#connection[data-state="live"]');
    await waitCount('#grid .task[data-state="running"]', 3);
    assert.equal(await page.locator('#grid .node[data-node]').count(), 3);
    // Choose the service (its logs stream) and a task (its history).
    await page.click('.service[data-name="web"]');
    await page.waitForSelector('#logs span', { timeout: 30_000 });
    assert.match(await page.locator('#logs').innerText(), /web\.\d \| web task starting/);
    await page.click('#grid .task[data-state="running"]');
    await page.waitForSelector('#detail-panel:not([hidden]) table.history tr[data-history]');
    await screenshot('01-three-replicas');

    // Scale 3 → 5: the service's count, then five running tasks.
    let since = Date.now() - 1;
    await docker('service', 'scale', '--detach', 'web=5');
    const scaled = await measure(
      'scale to 5 (desired count)',
      since,
      (e) => e.Type === 'service' && e.Actor.Attributes['replicas.new'] === '5',
      '.service[data-name="web"][data-desired="5"]',
    );
    assert.ok(scaled < PAGE_DELAY_BOUND_MS, `the scale showed after ${scaled} ms`);
    await waitCount('#grid .task[data-state="running"]', 5);
    await screenshot('02-scaled-to-five');

    // Kill worker2's host: the node goes down on the page when the manager marks it down.
    since = Date.now() - 1;
    const worker2 = (await cluster.nodes()).find((n) => n.Description?.Hostname === 'worker2')!.ID;
    await cluster.daemon('worker2').killHost();
    const down = await measure(
      'worker2 down',
      since,
      (e) => e.Type === 'node' && e.Actor.ID === worker2 && e.Actor.Attributes['state.new'] === 'down',
      '#grid .node[data-hostname="worker2"][data-state="down"]',
    );
    assert.ok(down < PAGE_DELAY_BOUND_MS, `the node's death showed after ${down} ms`);
    await screenshot('03-worker2-down');
    // Its tasks are replaced on the other two nodes.
    await waitCount('#grid .node[data-hostname="worker2"] .task[data-desired="running"]', 0, 60_000);
    await waitCount('#grid .task[data-state="running"][data-desired="running"]', 5, 60_000);
    await screenshot('04-rescheduled');

    // A rolling update: the update starts on the page, its tasks turn from the old spec to the new.
    since = Date.now() - 1;
    await docker('service', 'update', '--detach', '--env-add', 'VERSION=2', 'web');
    const updating = await measure(
      'update started',
      since,
      (e) => e.Type === 'service' && e.Actor.Attributes['updatestate.new'] === 'updating',
      '.service[data-name="web"]:is([data-update-state="updating"], [data-update-state="completed"])',
    );
    assert.ok(updating < PAGE_DELAY_BOUND_MS, `the update's start showed after ${updating} ms`);
    await screenshot('05-updating');
    const completed = await measure(
      'update completed',
      since,
      (e) => e.Type === 'service' && e.Actor.Attributes['updatestate.new'] === 'completed',
      '.service[data-name="web"][data-update-state="completed"]',
    );
    assert.ok(completed < PAGE_DELAY_BOUND_MS, `the update's end showed after ${completed} ms`);
    await waitCount('#grid .task.outdated[data-desired="running"]', 0, 60_000);
    await waitCount('#grid .task[data-state="running"][data-desired="running"]', 5, 60_000);
    await screenshot('06-updated');
    // The events feed has followed it all.
    const feed = await page.locator('#events').innerText();
    assert.match(feed, /node update worker2 state ready → down/);
    assert.match(feed, /service update web .*replicas 3 → 5/);
    assert.match(feed, /updatestate updating → completed/);

    // On a phone-sized screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot('07-phone');
    const overflow = await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { documentElement: { scrollWidth: number } };
        innerWidth: number;
      };
      return g.document.documentElement.scrollWidth - g.innerWidth;
    });
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone's screen`);
  });

  it('serves metrics that parse as Prometheus text and count what docker node ls and service ps list', async () => {
    const host = cluster.host('manager');
    const url = `http://${cluster.manager.address}:${METRICS_PORT}/metrics`;
    await eventually(
      async () => {
        const scrape = await fetchIn(host, url, { Authorization: `Bearer ${TOKEN}` });
        assert.equal(scrape.status, 200);
        assert.match(scrape.contentType, /^text\/plain; version=0\.0\.4/);
        const families = parseExposition(scrape.body);
        const nodes = (await docker('node', 'ls', '--format', '{{.Status}}')).trim().split('\n');
        const tasks = (await docker('service', 'ps', 'web', '--format', '{{.CurrentState}}'))
          .trim()
          .split('\n');
        const services = (await docker('service', 'ls', '-q')).trim().split('\n');
        const count = (list: string[], word: string): number =>
          list.filter((s) => s.split(' ')[0]!.toLowerCase() === word).length;
        for (const state of ['ready', 'down', 'unknown', 'disconnected'])
          assert.equal(
            sampleValue(families, 'swarm_manager_nodes', { state }),
            count(nodes, state),
            `nodes ${state}`,
          );
        for (const sample of families.get('swarm_manager_tasks_total')!.samples)
          assert.equal(sample.value, count(tasks, sample.labels.state!), `tasks ${sample.labels.state}`);
        assert.equal(sampleValue(families, 'swarm_manager_services_total'), services.length);
        assert.equal(sampleValue(families, 'swarm_manager_leader'), 1);
        assert.equal(sampleValue(families, 'swarm_node_manager'), 1);
        for (const name of [
          'swarm_dispatcher_scheduling_delay_seconds_count',
          'shoal_task_start_latency_seconds_count',
          'shoal_scheduler_pass_duration_seconds_count',
          'swarm_store_write_tx_latency_seconds_count',
          'shoal_dispatcher_heartbeats_total',
        ])
          assert.ok((sampleValue(families, name) ?? 0) > 0, `${name} is 0`);
        assert.ok(
          (sampleValue(families, 'shoal_reconcile_pass_duration_seconds_count', { loop: 'orchestrator' }) ??
            0) > 0,
        );
        assert.ok(
          families
            .get('shoal_api_request_duration_seconds')!
            .samples.some((s) => s.labels.route === '/services/{id}/update' && s.name.endsWith('_count')),
          'no latency for the update route',
        );
      },
      { timeoutMs: 20_000, description: 'the metrics to match docker node ls and service ps' },
    );
  });
});
