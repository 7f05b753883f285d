// What a node running the docker executor tells the managers about itself: what its engine says of
// itself (`GET /info`, as moby's executor.Describe reads its own daemon's info) — hostname, platform, CPUs,
// memory, labels and plugins — and `GET /version` (the engine's version), with shoald's own `--label`s and
// the executor label added.

import { availableParallelism, hostname as osHostname, machine, totalmem } from 'node:os';
import { EXECUTOR_LABEL } from '../../../api/executor-features.js';
import { setOwn } from '../../../api/own.js';
import type { Labels, NodeDescription } from '../../../api/types.js';
import type { EngineClient } from './client.js';

/** The parts of `GET /info` the description is made of. */
export interface EngineInfo {
  Name?: string;
  ServerVersion?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Driver?: string;
  Labels?: string[] | null;
  Plugins?: {
    Volume?: string[] | null;
    Network?: string[] | null;
    Log?: string[] | null;
    Authorization?: string[] | null;
  };
}

/** The plugin types a node description lists, in the order Docker sorts them. */
const PLUGIN_TYPES = ['Authorization', 'Log', 'Network', 'Volume'] as const;

/** The engine's labels (`key=value` strings, the last of a key winning), then shoald's, then the executor's. */
export function dockerEngineLabels(
  engineLabels: readonly string[] | null | undefined,
  userLabels: Labels | undefined,
): Labels {
  const labels: Labels = {};
  for (const entry of engineLabels ?? []) {
    const equals = entry.indexOf('=');
    if (equals > 0) setOwn(labels, entry.slice(0, equals), entry.slice(equals + 1));
  }
  for (const [key, value] of Object.entries(userLabels ?? {})) setOwn(labels, key, value);
  setOwn(labels, EXECUTOR_LABEL, 'docker');
  return labels;
}

/** The description of a node whose engine answered `info`. */
export function describeFromInfo(info: EngineInfo, userLabels: Labels | undefined): NodeDescription {
  const plugins = new Map<string, { Type: string; Name: string }>();
  for (const type of PLUGIN_TYPES) {
    for (const name of info.Plugins?.[type] ?? [])
      plugins.set(`${type}\0${name}`, { Type: type, Name: name });
  }
  const sorted = [...plugins.values()].sort((a, b) =>
    a.Type === b.Type ? (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0) : a.Type < b.Type ? -1 : 1,
  );
  return {
    Hostname: info.Name || osHostname(),
    Platform: { Architecture: info.Architecture || machine(), OS: info.OSType || 'linux' },
    Resources: {
      NanoCPUs: (info.NCPU ?? availableParallelism()) * 1e9,
      MemoryBytes: info.MemTotal ?? totalmem(),
    },
    Engine: {
      EngineVersion: info.ServerVersion ?? '',
      Labels: dockerEngineLabels(info.Labels, userLabels),
      Plugins: sorted,
    },
  };
}

/**
 * What the node can say while its engine does not answer: the host's facts, no engine version and no
 * plugins — and still the executor label, so that nothing is scheduled on it that it could not run.
 */
export function describeWithoutEngine(userLabels: Labels | undefined): NodeDescription {
  return {
    Hostname: osHostname(),
    Platform: { Architecture: machine(), OS: 'linux' },
    Resources: { NanoCPUs: availableParallelism() * 1e9, MemoryBytes: totalmem() },
    Engine: { EngineVersion: '', Labels: dockerEngineLabels([], userLabels), Plugins: [] },
  };
}

/** Asks the engine (`GET /info`, and `GET /version` for the version of the engine itself). */
export async function engineInfo(client: EngineClient, timeoutMs = 10_000): Promise<EngineInfo> {
  const [info, version] = await Promise.all([
    client.request<EngineInfo>('GET', '/info', { timeoutMs }),
    client.request<{ Version?: string }>('GET', '/version', { timeoutMs }),
  ]);
  return { ...info.body, ServerVersion: version.body.Version || info.body.ServerVersion };
}
