// What a node running the process executor tells the managers about itself, in the shape `docker node
// inspect` shows: hostname, platform (`uname -m` style architecture), CPUs and memory, engine version,
// labels and plugins.

import { availableParallelism, hostname as osHostname, machine, totalmem } from 'node:os';
import type { Labels, NodeDescription } from '../../../api/types.js';
import { SHOAL_VERSION } from '../../../version.js';

/**
 * The plugins this executor offers, as Docker lists them (sorted by type, then name). Logs are captured
 * in our own JSON-lines file, closest to Docker's json-file driver; networks and volumes are what shoal's
 * networking and the local driver provide.
 */
export const PROCESS_EXECUTOR_PLUGINS: readonly { Type: string; Name: string }[] = [
  { Type: 'Log', Name: 'json-file' },
  { Type: 'Network', Name: 'bridge' },
  { Type: 'Network', Name: 'host' },
  { Type: 'Network', Name: 'null' },
  { Type: 'Network', Name: 'overlay' },
  { Type: 'Volume', Name: 'local' },
];

export interface DescribeOptions {
  hostname?: string;
  engineLabels?: Labels;
}

export function describeNode(options: DescribeOptions): NodeDescription {
  return {
    Hostname: options.hostname ?? osHostname(),
    Platform: { Architecture: machine(), OS: 'linux' },
    Resources: { NanoCPUs: availableParallelism() * 1e9, MemoryBytes: totalmem() },
    Engine: {
      EngineVersion: SHOAL_VERSION,
      // Docker leaves Labels out when there are none.
      ...(options.engineLabels && Object.keys(options.engineLabels).length > 0
        ? { Labels: { ...options.engineLabels } }
        : {}),
      Plugins: PROCESS_EXECUTOR_PLUGINS.map((plugin) => ({ ...plugin })),
    },
  };
}
