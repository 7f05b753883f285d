#!/usr/bin/env node
// shoald: the shoal node daemon. Serves the Engine API on a root-only unix socket, and runs the manager
// and/or agent roles of the swarm this node belongs to.

import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdirSync } from 'node:fs';
import {
  DEFAULT_ENGINE_HOST,
  resolveExecutor,
  type ExecutorChoice,
  type ExecutorConfig,
} from '../agent/executor/factory.js';
import { EngineServer } from '../engineapi/server.js';
import { SHOAL_VERSION } from '../version.js';
import { createLogger, protectStdio, writeStderr } from './logger.js';
import { observability } from './observability.js';
import { DataDirInUseError, lockDataDir } from './pidfile.js';
import { SwarmNode } from './swarm-node.js';
import { hostFacts } from './sysinfo.js';
import { disableCoreDumps } from './core-dumps.js';

const DEFAULT_DATA_DIR = '/var/lib/shoal';
const DEFAULT_HOST = 'unix:///run/shoal/shoal.sock';

function parseLabel(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`invalid label '${value}': expected key=value`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Two API addresses that name the same socket (`unix:///x` and `/x`). */
function sameAddress(a: string, b: string): boolean {
  const normal = (value: string): string => value.replace(/^unix:\/\//, '');
  return normal(a) === normal(b);
}

async function main(): Promise<void> {
  // Before anything can write to them: a failed write to stdout or stderr must not end the daemon.
  protectStdio();
  const program = new Command('shoald')
    .description('The shoal node daemon: Docker Swarm mode, rebuilt')
    .version(SHOAL_VERSION, '-v, --version', 'Print version information and quit')
    .option('--data-dir <path>', 'Root directory of persistent shoal state', DEFAULT_DATA_DIR)
    .option(
      '-H, --host <address>',
      'Engine API socket to listen on (unix:///path or tcp://host:port)',
      DEFAULT_HOST,
    )
    .option('-D, --debug', 'Enable debug logging', false)
    .option('--label <key=value>', 'Engine label for this node (repeatable)', parseLabel, {})
    .addOption(
      new Option(
        '--executor <kind>',
        "What runs this node's tasks: docker (containers on the engine at --engine-host), process (host processes), or auto (docker when the engine answers)",
      )
        .choices(['auto', 'docker', 'process'])
        .default('auto'),
    )
    .option('--engine-host <address>', 'The container engine of the docker executor', DEFAULT_ENGINE_HOST)
    .option(
      '--web-addr <host:port>',
      'Serve the dashboard here (managers; off by default). Any address but loopback requires the token',
    )
    .option(
      '--metrics-addr <host:port>',
      'Serve Prometheus metrics at /metrics here (off by default). Any address but loopback requires the token',
    )
    .option(
      '--etcd-client-port <port>',
      "A manager's etcd member serves the cluster store here, on its advertise address (swarms on etcd)",
      parsePort,
      2379,
    )
    .option(
      '--etcd-peer-port <port>',
      "A manager's etcd member talks to the other members here",
      parsePort,
      2380,
    )
    .option(
      '--web-token <token>',
      'The token the dashboard and metrics require (default: one made at start and logged, when an address is not loopback)',
    )
    .helpOption('-h, --help', 'Print usage')
    .parse();
  const opts = program.opts<{
    dataDir: string;
    host: string;
    debug: boolean;
    label: Record<string, string>;
    executor: ExecutorChoice;
    engineHost: string;
    webAddr?: string;
    metricsAddr?: string;
    webToken?: string;
    etcdClientPort: number;
    etcdPeerPort: number;
  }>();

  const log = createLogger({ debug: opts.debug });
  // Before any secret is in memory: no core file may hold one.
  disableCoreDumps(log);
  let seeing: ReturnType<typeof observability>;
  try {
    seeing = observability({
      webAddr: opts.webAddr,
      metricsAddr: opts.metricsAddr,
      token: opts.webToken,
      log,
    });
  } catch (err) {
    log.error((err as Error).message);
    process.exit(1);
  }
  let executor: ExecutorConfig;
  try {
    // The engine behind shoald's own socket would be shoald itself.
    if (opts.executor !== 'process' && sameAddress(opts.engineHost, opts.host)) {
      throw new Error(
        `--engine-host ${opts.engineHost} is shoald's own API socket (-H); give the container engine's`,
      );
    }
    const resolved = await resolveExecutor(opts.executor, opts.engineHost);
    executor = resolved.config;
    log.info(`tasks run on the ${executor.kind} executor`, {
      chosen: opts.executor,
      why: resolved.reason,
      ...(executor.kind === 'docker' ? { engine: executor.engineHost } : {}),
    });
  } catch (err) {
    log.error((err as Error).message);
    process.exit(1);
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  let releasePidFile: () => void;
  try {
    releasePidFile = await lockDataDir(opts.dataDir, {
      onPidFileError: (err) => log.warn('cannot write the PID file; carrying on without it', { error: err }),
    });
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      log.error(err.message);
      process.exit(1);
    }
    throw err;
  }

  const node = new SwarmNode({
    dataDir: opts.dataDir,
    log,
    serverVersion: SHOAL_VERSION,
    host: hostFacts(),
    debug: opts.debug,
    engineLabels: opts.label,
    executor,
    ...(seeing.metrics ? { metrics: seeing.metrics } : {}),
    etcdPorts: { clientPort: opts.etcdClientPort, peerPort: opts.etcdPeerPort },
  });
  const server = new EngineServer({
    backend: node,
    address: opts.host,
    serverVersion: SHOAL_VERSION,
    log: (level, msg, fields) => log.log(level, msg, fields),
    // The engine's API is passed through when the node really has one: the docker executor's, or one
    // named with --engine-host (a node running processes beside a container engine). The default address
    // alone is not a reason to forward calls to an engine that may not exist.
    ...(executor.kind === 'docker'
      ? { engineHost: executor.engineHost }
      : program.getOptionValueSource('engineHost') === 'cli'
        ? { engineHost: opts.engineHost }
        : {}),
    ...(seeing.metrics ? { observeRequest: seeing.metrics.observeApiRequest.bind(seeing.metrics) } : {}),
  });

  try {
    await server.listen();
  } catch (err) {
    log.error('cannot serve the Engine API', { address: opts.host, error: err });
    releasePidFile();
    process.exit(1);
  }
  try {
    await seeing.listen(node);
  } catch (err) {
    log.error('cannot serve the dashboard or the metrics', { error: err });
    releasePidFile();
    process.exit(1);
  }
  await node.start();
  log.info('shoald started', {
    version: SHOAL_VERSION,
    dataDir: opts.dataDir,
    host: opts.host,
    pid: process.pid,
  });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    // Tasks keep running (under the task runner, or on the container engine); the next shoald re-adopts them.
    const forceExit = setTimeout(() => {
      log.error('shutdown took too long, exiting');
      process.exit(1);
    }, 20_000);
    forceExit.unref();
    void (async () => {
      try {
        await server.close();
        await seeing.close();
        await node.stop();
      } catch (err) {
        log.error('error during shutdown', { error: err });
      } finally {
        releasePidFile();
        log.info('shoald stopped');
        process.exit(0);
      }
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new InvalidArgumentError('not a port number');
  return port;
}

main().catch((err: unknown) => {
  writeStderr(`shoald: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
