// Which executor runs a node's tasks is configuration: the daemon passes an `ExecutorConfig`, and this is
// the one place that turns it into an executor. Adding an executor (the Docker one is next) means adding
// its kind to `ExecutorKind` (api/executor-features.ts) and a case here; the composition in src/daemon/
// does not change.

import type { ExecutorKind } from '../../api/executor-features.js';
import type { Labels, NodeDescription } from '../../api/types.js';
import type { Executor } from './executor.js';
import { describeNode } from './process/describe.js';
import { ProcessExecutor } from './process/executor.js';
import type { ExecutorLog } from './process/log.js';

/** The executor a node runs its tasks with (its options too, once an executor has some). */
export interface ExecutorConfig {
  readonly kind: ExecutorKind;
}

/** What every executor is made from. */
export interface ExecutorContext {
  /** The daemon's data dir; each executor keeps its state in a directory of its own below it. */
  dataDir: string;
  /** The user's engine labels (`shoald --label`). */
  engineLabels: Labels;
  log: ExecutorLog;
}

/** An executor kind, as the daemon uses it. */
export interface ExecutorFactory {
  /** The storage driver `/info` reports. */
  readonly storageDriver: string;
  /** What the node offers, before any executor runs (the node object created at `swarm init` or join). */
  describe(engineLabels: Labels): NodeDescription;
  create(context: ExecutorContext): Executor;
}

export function executorFactory(config: ExecutorConfig): ExecutorFactory {
  switch (config.kind) {
    case 'process':
      return {
        storageDriver: 'shoal-process',
        describe: (engineLabels) => describeNode({ engineLabels }),
        create: (context) => new ProcessExecutor(context),
      };
  }
}
