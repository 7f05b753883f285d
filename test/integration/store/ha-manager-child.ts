// One manager, as a process of its own, for the HA tests and bench/leader-failover: the real `Manager` on an
// etcd-backed store (its own member's endpoint), elected or not, its control loops running only while it
// leads. Not a test file. Driven over stdin/stdout, one line each:
//
//   argv: <swarm dir> <etcd endpoint> <node ID> <lease TTL s> [bootstrap]
//   out:  ready                      the store is open and the manager started (elected or not)
//         leading <true|false>       leadership changed
//         ok <name> / err <name> <message>   the answer to a create
//   in:   create <name>              creates a service named <name> through the control API

import { createInterface } from 'node:readline';

import { generateNodeKeyAndCsr } from '../../../src/api/certs.js';
import { bootstrapCluster } from '../../../src/manager/bootstrap.js';
import { defaultSwarmSpec } from '../../../src/manager/controlapi/cluster.js';
import { Manager } from '../../../src/manager/manager.js';

const [swarmDir, endpoint, nodeId, ttl, mode] = process.argv.slice(2);
if (!swarmDir || !endpoint || !nodeId || !ttl) {
  process.stderr.write('usage: ha-manager-child <swarm dir> <etcd endpoint> <node ID> <ttl> [bootstrap]\n');
  process.exit(2);
}
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const log = {
  ...quiet,
  error: (msg: string, fields?: Record<string, unknown>) => console.error(msg, fields),
};

const bootstrap = mode === 'bootstrap';
const manager = await Manager.open({
  swarmDir,
  store: { kind: 'etcd', endpoints: [endpoint] },
  nodeId,
  advertiseAddr: `127.0.0.1:2377`,
  log,
  create: bootstrap,
  leaderTtlSeconds: Number(ttl),
});
if (bootstrap) {
  if (!(await manager.campaign())) throw new Error('not elected');
  const { csrPem } = await generateNodeKeyAndCsr();
  await bootstrapCluster(manager.store, {
    clusterId: 'ha-cluster',
    nodeId,
    spec: defaultSwarmSpec(),
    description: {
      Hostname: nodeId,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: {},
      Engine: { EngineVersion: '1' },
    },
    advertiseAddr: '127.0.0.1:2377',
    availability: 'active',
    defaultAddrPool: null,
    subnetSize: 24,
    dataPathPort: 4789,
    csrPem,
    hostRoutes: () => [],
  });
}
let leading: boolean | undefined;
setInterval(() => {
  if (manager.leading !== leading) {
    leading = manager.leading;
    say(`leading ${leading}`);
  }
}, 5);
await manager.start();
say('ready');

for await (const line of createInterface({ input: process.stdin })) {
  const [command, name] = line.split(' ');
  if (command !== 'create' || !name) continue;
  manager.controlApi
    .createService({
      Name: name,
      TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['true'] } },
      Mode: { Replicated: { Replicas: 0 } },
    })
    .then(
      () => say(`ok ${name}`),
      (err: unknown) => say(`err ${name} ${(err as Error).message.replace(/\n/g, ' ')}`),
    );
}
