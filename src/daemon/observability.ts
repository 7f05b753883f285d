// What shoald serves beside the Engine API to let people see the swarm: the dashboard (`--web-addr`,
// src/web) and the Prometheus metrics (`--metrics-addr`, src/manager/metrics). Both are off by default.
// On a loopback address they are open to this machine's users; on any other they require the token —
// `--web-token`, or one made at start and logged once — so neither is ever an open door.

import { SwarmMetrics } from '../manager/metrics/swarm-metrics.js';
import { generateToken, isLoopback, parseListenAddress } from '../web/access.js';
import { MetricsServer } from '../web/metrics-server.js';
import { DashboardServer } from '../web/server.js';
import type { Logger } from './logger.js';
import type { SwarmNode } from './swarm-node.js';

export interface ObservabilityOptions {
  webAddr?: string;
  metricsAddr?: string;
  token?: string;
  log: Logger;
}

export interface Observability {
  /** The metrics the node and its manager report to (undefined without --metrics-addr). */
  readonly metrics: SwarmMetrics | undefined;
  /** Listens on the addresses asked for; call once the node exists. */
  listen(node: SwarmNode): Promise<void>;
  close(): Promise<void>;
}

/** Checks the addresses (before anything starts) and makes the metrics the node will need. */
export function observability(options: ObservabilityOptions): Observability {
  const web = options.webAddr !== undefined ? parseListenAddress(options.webAddr, '--web-addr') : undefined;
  const metricsAt =
    options.metricsAddr !== undefined ? parseListenAddress(options.metricsAddr, '--metrics-addr') : undefined;
  if (options.token !== undefined && options.token.length < 16)
    throw new Error('--web-token must be at least 16 characters long');
  const exposed = [web, metricsAt].some((a) => a !== undefined && !isLoopback(a.host));
  // A token given is always required; one made here only where an address is not loopback.
  const token = options.token ?? (exposed ? generateToken() : undefined);
  const metrics = metricsAt ? new SwarmMetrics() : undefined;
  let dashboard: DashboardServer | undefined;
  let metricsServer: MetricsServer | undefined;
  const log = options.log.with({ component: 'web' });
  const logFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) =>
    log.log(level, msg, fields);

  return {
    metrics,
    async listen(node: SwarmNode): Promise<void> {
      if (options.token === undefined && token !== undefined) {
        // Said once, here: it is not written anywhere else.
        log.info('the dashboard and metrics token (give --web-token to choose one)', { token });
      }
      if (web) {
        dashboard = new DashboardServer({
          host: web.host,
          port: web.port,
          token,
          provider: {
            current: () => node.dashboardSource(),
            onChange: (listener) => node.onManagerChange(listener),
          },
          log: logFn,
        });
        const port = await dashboard.listen();
        const url = `http://${web.host.includes(':') ? `[${web.host}]` : web.host}:${port}/`;
        log.info('dashboard listening', { url: token !== undefined ? `${url}?token=…` : url });
        const current = node.dashboardSource();
        if ('unavailable' in current)
          log.warn(`the dashboard has nothing to show yet: ${current.unavailable}`);
      }
      if (metricsAt && metrics) {
        metrics.setNodeFacts(() => node.nodeFacts());
        metricsServer = new MetricsServer({
          host: metricsAt.host,
          port: metricsAt.port,
          token,
          render: () => metrics.render(),
          log: logFn,
        });
        const port = await metricsServer.listen();
        log.info('metrics listening', { address: `${metricsAt.host}:${port}`, path: '/metrics' });
      }
    },
    async close(): Promise<void> {
      await dashboard?.close();
      await metricsServer?.close();
    },
  };
}
