// What a node running the process executor tells the managers about itself, in the shape `docker node
// inspect` shows: hostname, platform (`uname -m` style architecture), CPUs and memory, engine version,
// labels and plugins.

import { availableParallelism, hostname as osHostname, machine, totalmem } from 'node:os';
import type { Labels, NodeDescription } from '../../../api/types.js';
import { EXECUTOR_LABEL } from '../../../api/executor-features.js';
import { SHOAL_VERSION } from '../../../version.js';

/**
 * The plugins this executor offers, as Docker lists them. Logs are captured in a JSON-lines file of its
 * own, which is what json-file keeps; it has no network or volume drivers (tasks run on the host's network
 * and filesystem).
 */
export const PROCESS_EXECUTOR_PLUGINS: readonly { Type: string; Name: string }[] = [
  { Type: 'Log', Name: 'json-file' },
];

/** The engine labels this node shows: the user's (`--label`), and which executor runs its tasks. */
export function processEngineLabels(userLabels: Labels | undefined): Labels {
  const labels: Labels = Object.create(null) as Labels;
  for (const [key, value] of Object.entries(userLabels ?? {})) labels[key] = value;
  labels[EXECUTOR_LABEL] = 'process';
  return { ...labels };
}

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
      Labels: processEngineLabels(options.engineLabels),
      Plugins: PROCESS_EXECUTOR_PLUGINS.map((plugin) => ({ ...plugin })),
    },
  };
}
