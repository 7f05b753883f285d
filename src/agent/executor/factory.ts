// Which executor runs a node's tasks is configuration: the daemon passes an `ExecutorConfig`, and this is
// the one place that turns it into an executor. Adding an executor means adding its kind to
// `ExecutorKind` (api/executor-features.ts) and a case here; the composition in src/daemon/ does not
// change. `resolveExecutor` turns the user's choice (`shoald --executor docker|process|auto`) into a
// config, asking the engine whether it is there when the choice is `auto`.

import type { ExecutorKind } from '../../api/executor-features.js';
import type { Labels, NodeDescription } from '../../api/types.js';
import { EngineClient, parseEngineHost } from './docker/client.js';
import { describeFromInfo, describeWithoutEngine, engineInfo } from './docker/describe.js';
import { DockerExecutor } from './docker/executor.js';
import type { Executor, TaskNetworks } from './executor.js';
import { describeNode } from './process/describe.js';
import { ProcessExecutor } from './process/executor.js';
import type { ExecutorLog } from './process/log.js';

/** The Docker Engine's usual socket: the default `--engine-host`. */
export const DEFAULT_ENGINE_HOST = 'unix:///var/run/docker.sock';

/** The executor a node runs its tasks with, and its options. */
export type ExecutorConfig =
  | { readonly kind: 'process' }
  | {
      readonly kind: 'docker';
      /** The container engine's API: `unix:///var/run/docker.sock`, `tcp://host:port`. */
      readonly engineHost: string;
    };

/** What the user may ask for: an executor, or `auto` (docker when its engine answers, else process). */
export type ExecutorChoice = ExecutorKind | 'auto';

/** What every executor is made from. */
export interface ExecutorContext {
  /** The daemon's data dir; each executor keeps its state in a directory of its own below it. */
  dataDir: string;
  /** The node's ID in its swarm (the docker executor labels and finds its containers by it). */
  nodeId: string;
  /** The user's engine labels (`shoald --label`). */
  engineLabels: Labels;
  log: ExecutorLog;
  /** The node's networking: tasks on overlay networks run in the namespaces it prepares. */
  networks?: TaskNetworks;
}

/** An executor kind, as the daemon uses it. */
export interface ExecutorFactory {
  /** The storage driver `/info` reports: which executor runs this node's tasks. */
  readonly storageDriver: string;
  /**
   * What the node offers, before any executor runs (the node object created at `swarm init` or join,
   * and `/info`). Never fails: a node whose engine does not answer describes the host.
   */
  describe(engineLabels: Labels): Promise<NodeDescription>;
  create(context: ExecutorContext): Executor;
}

export function executorFactory(config: ExecutorConfig): ExecutorFactory {
  switch (config.kind) {
    case 'process':
      return {
        storageDriver: 'shoal-process',
        describe: async (engineLabels) => describeNode({ engineLabels }),
        create: (context) => new ProcessExecutor(context),
      };
    case 'docker':
      return {
        storageDriver: 'shoal-docker',
        describe: (engineLabels) => describeDockerNode(config.engineHost, engineLabels),
        create: (context) =>
          new DockerExecutor({
            engineHost: config.engineHost,
            dataDir: context.dataDir,
            nodeId: context.nodeId,
            engineLabels: context.engineLabels,
            log: context.log,
            ...(context.networks ? { networks: context.networks } : {}),
          }),
      };
  }
}

async function describeDockerNode(engineHost: string, engineLabels: Labels): Promise<NodeDescription> {
  const client = new EngineClient(parseEngineHost(engineHost));
  try {
    return describeFromInfo(await engineInfo(client, 5_000), engineLabels);
  } catch {
    return describeWithoutEngine(engineLabels);
  } finally {
    client.close();
  }
}

/**
 * The executor for `shoald --executor <choice> --engine-host <host>`: `auto` is docker when the engine
 * answers `/_ping` (within `timeoutMs`), else process. An invalid engine host is an error whatever the
 * choice asks, so that a typo is not silently a process executor.
 */
export async function resolveExecutor(
  choice: ExecutorChoice,
  engineHost: string,
  timeoutMs = 2_000,
): Promise<{ config: ExecutorConfig; reason: string }> {
  const address = parseEngineHost(engineHost);
  if (choice === 'process') return { config: { kind: 'process' }, reason: 'asked for' };
  if (choice === 'docker')
    return { config: { kind: 'docker', engineHost: address.display }, reason: 'asked for' };
  const client = new EngineClient(address);
  try {
    await client.ping(timeoutMs);
    return {
      config: { kind: 'docker', engineHost: address.display },
      reason: `the engine at ${address.display} answers`,
    };
  } catch (err) {
    return {
      config: { kind: 'process' },
      reason: `no container engine answers at ${address.display} (${(err as Error).message})`,
    };
  } finally {
    client.close();
  }
}
