// One process of a simulated fleet (bench/sim/fleet.ts starts several): joins `count` nodes to a swarm with
// the real cluster protocol — a join token, a certificate from the swarm's CA, mutual TLS, one HTTP/2
// session per node with its heartbeats, assignments and task status — each node with the real agent and a
// simulated executor. Told over IPC to kill nodes (their sessions stop, as when a host dies) or to change
// how tasks behave.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import { silentAgentLog } from '../../src/agent/log.js';
import { ClusterClient } from '../../src/agent/transport/cluster-client.js';
import { joinCluster } from '../../src/agent/transport/join.js';
import { SimulatedExecutor, type SimulatedBehaviour } from './executor.js';
import type { FleetCommand, FleetReport } from './protocol.js';

interface SimulatedNode {
  readonly hostname: string;
  readonly agent: Agent;
  readonly client: ClusterClient;
}

const [managerAddr = '', token = '', countText = '0', prefix = 'sim'] = process.argv.slice(2);
const count = Number(countText);
// The manager lets one IP address hold only so many connections without a certificate (32), and every
// simulated node comes from 127.0.0.1: each process joins a few at a time, and retries as a node would.
const JOIN_CONCURRENCY = 4;
const JOIN_ATTEMPTS = 5;

let behaviour: SimulatedBehaviour = { startDelayMs: 0, failRate: 0 };
const nodes = new Map<string, SimulatedNode>();
const stateRoot = mkdtempSync(join(tmpdir(), `shoal-fleet-${prefix}-`));

function report(message: FleetReport): void {
  process.send?.(message);
}

async function startNode(index: number): Promise<void> {
  const hostname = `${prefix}-${index}`;
  const executor = new SimulatedExecutor(hostname, () => behaviour);
  const description = await executor.describe();
  let credentials;
  for (let attempt = 1; ; attempt++) {
    try {
      credentials = await joinCluster({ managerAddr, token, description });
      break;
    } catch (err) {
      if (attempt === JOIN_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
  const client = new ClusterClient({ managerAddr, credentials });
  const agent = new Agent({ client, executor, stateDir: join(stateRoot, hostname), log: silentAgentLog });
  await agent.start();
  nodes.set(hostname, { hostname, agent, client });
}

async function joinAll(): Promise<void> {
  let next = 0;
  let joined = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await startNode(index);
      joined++;
      if (joined % 50 === 0 || joined === count) report({ kind: 'joined', joined });
    }
  };
  await Promise.all(Array.from({ length: Math.min(JOIN_CONCURRENCY, count) }, worker));
}

async function kill(hostnames: readonly string[]): Promise<void> {
  await Promise.all(
    hostnames.map(async (hostname) => {
      const node = nodes.get(hostname);
      if (!node) return;
      nodes.delete(hostname);
      // The agent stops without telling anyone (tasks are left as they are, like a dead host's); its
      // connection closes with it.
      await node.agent.stop();
      node.client.close();
    }),
  );
  report({ kind: 'killed', count: hostnames.length });
}

process.on('message', (message: FleetCommand) => {
  switch (message.kind) {
    case 'kill':
      void kill(message.hostnames);
      break;
    case 'behave':
      behaviour = message.behaviour;
      report({ kind: 'behaving' });
      break;
    case 'exit':
      rmSync(stateRoot, { recursive: true, force: true });
      process.exit(0);
  }
});

joinAll().then(
  () => report({ kind: 'ready', hostnames: [...nodes.keys()] }),
  (err: unknown) => {
    report({ kind: 'failed', error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);
