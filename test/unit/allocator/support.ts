// Builders for the allocator tests: networks (allocated the way the control API stores them), and a view
// of plain arrays for the pure core.

import type { Network, NetworkSpec, Node, Service, Task } from '../../../src/api/types.js';
import type { AllocationView } from '../../../src/manager/allocator/core.js';
import { addressPools, allocateNetwork } from '../../../src/manager/allocator/networks.js';

let counter = 0;

/** A network as stored before its allocation. */
export function network(spec: Partial<NetworkSpec> = {}, id = `net${++counter}`): Network {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Name: id, Labels: {}, DriverConfiguration: { Name: 'overlay' }, ...spec },
  };
}

/** Networks allocated one after the other, from Docker's default pool. */
export function allocated(...specs: Network[]): Network[] {
  const done: Network[] = [];
  for (const n of specs)
    done.push(allocateNetwork(n, { networks: done, ...addressPools(undefined), host: [] }));
  return done;
}

/** A subnet as `--subnet` gives it. */
export const withSubnet = (text: string, range?: string): Partial<NetworkSpec> => ({
  IPAMOptions: {
    Driver: { Name: 'default' },
    Configs: [{ Subnet: text, ...(range ? { Range: range } : {}) }],
  },
});

/** The plain-array view the core reads. */
export function viewOf(objects: {
  networks?: Network[];
  services?: Service[];
  tasks?: Task[];
  nodes?: Node[];
}): AllocationView {
  const networks = objects.networks ?? [];
  const services = objects.services ?? [];
  const tasks = objects.tasks ?? [];
  const nodes = objects.nodes ?? [];
  return {
    network: (id) => networks.find((n) => n.ID === id),
    networks: () => networks,
    service: (id) => services.find((s) => s.ID === id),
    services: () => services,
    task: (id) => tasks.find((t) => t.ID === id),
    tasks: () => tasks,
    node: (id) => nodes.find((n) => n.ID === id),
    nodes: () => nodes,
    tasksOnNode: (id) => tasks.filter((t) => t.NodeID === id),
  };
}
