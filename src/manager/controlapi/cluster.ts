// The cluster object: defaults at `swarm init`, validation of `swarm update`, and what leaves the
// manager (never the CA key).

import { invalidArgument, unimplemented } from '../../api/errors.js';
import type { Cluster, SwarmSpec } from '../../api/types.js';
import { validateLimitLabels } from '../limits.js';

export const NANOS_PER_SECOND = 1_000_000_000;
export const DEFAULT_HEARTBEAT_PERIOD = 5 * NANOS_PER_SECOND;
export const MIN_HEARTBEAT_PERIOD = NANOS_PER_SECOND;
export const DEFAULT_NODE_CERT_EXPIRY = 90 * 24 * 3600 * NANOS_PER_SECOND;
export const MIN_NODE_CERT_EXPIRY = 3600 * NANOS_PER_SECOND;
export const DEFAULT_TASK_HISTORY = 5;

/** The spec a new cluster starts with, as swarmkit's defaults. */
export function defaultSwarmSpec(): SwarmSpec {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: DEFAULT_TASK_HISTORY },
    Raft: {
      SnapshotInterval: 10000,
      KeepOldSnapshots: 0,
      LogEntriesForSlowFollowers: 500,
      ElectionTick: 10,
      HeartbeatTick: 1,
    },
    Dispatcher: { HeartbeatPeriod: DEFAULT_HEARTBEAT_PERIOD },
    CAConfig: { NodeCertExpiry: DEFAULT_NODE_CERT_EXPIRY },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

/**
 * Applies the fields an init request sets on top of the defaults. Like Docker, zero values mean "keep
 * the default" at init (the CLI sends zeros for flags the user did not give).
 */
export function mergeInitSpec(base: SwarmSpec, requested: SwarmSpec | undefined): SwarmSpec {
  const spec = structuredClone(base);
  if (!requested) return spec;
  if (requested.Labels) spec.Labels = { ...requested.Labels };
  const history = requested.Orchestration?.TaskHistoryRetentionLimit;
  if (history !== undefined && history !== null) spec.Orchestration = { TaskHistoryRetentionLimit: history };
  const raft = requested.Raft ?? {};
  for (const key of ['SnapshotInterval', 'KeepOldSnapshots', 'LogEntriesForSlowFollowers'] as const) {
    if (raft[key]) spec.Raft![key] = raft[key];
  }
  if (requested.Dispatcher?.HeartbeatPeriod)
    spec.Dispatcher = { HeartbeatPeriod: requested.Dispatcher.HeartbeatPeriod };
  if (requested.CAConfig?.NodeCertExpiry)
    spec.CAConfig = { NodeCertExpiry: requested.CAConfig.NodeCertExpiry };
  if (requested.TaskDefaults?.LogDriver) spec.TaskDefaults = { LogDriver: requested.TaskDefaults.LogDriver };
  if (requested.EncryptionConfig) spec.EncryptionConfig = { ...requested.EncryptionConfig };
  return spec;
}

const integer = (value: unknown, field: string): void => {
  if (value !== undefined && value !== null && (typeof value !== 'number' || !Number.isInteger(value))) {
    throw invalidArgument(
      `json: cannot unmarshal ${typeof value} into Go struct field ${field} of type int64`,
    );
  }
};

/** swarmkit's validateClusterSpec plus the Docker daemon's checks, with their messages. */
export function validateSwarmSpec(spec: SwarmSpec): void {
  integer(
    spec.Orchestration?.TaskHistoryRetentionLimit,
    'OrchestrationConfig.Orchestration.TaskHistoryRetentionLimit',
  );
  integer(spec.Dispatcher?.HeartbeatPeriod, 'DispatcherConfig.Dispatcher.HeartbeatPeriod');
  integer(spec.CAConfig?.NodeCertExpiry, 'CAConfig.CAConfig.NodeCertExpiry');
  const expiry = spec.CAConfig?.NodeCertExpiry;
  if (expiry !== undefined && expiry !== 0 && expiry < MIN_NODE_CERT_EXPIRY) {
    throw invalidArgument('minimum certificate expiry time is: 1h0m0s', { rpc: true });
  }
  const heartbeat = spec.Dispatcher?.HeartbeatPeriod;
  if (heartbeat !== undefined && heartbeat < 0) {
    throw invalidArgument('heartbeat time period cannot be a negative duration', { rpc: true });
  }
  // Docker accepts any period down to 1ns; below a second, heartbeats cannot keep up (each is a round
  // trip, and a node is down after three missed periods), so healthy nodes are marked down.
  if (heartbeat !== undefined && heartbeat > 0 && heartbeat < MIN_HEARTBEAT_PERIOD) {
    throw invalidArgument('heartbeat time period cannot be less than 1s', { rpc: true });
  }
  validateLimitLabels(spec);
  if ((spec.CAConfig?.ExternalCAs?.length ?? 0) > 0) {
    throw unimplemented('external CAs are not supported yet by shoal');
  }
}

/** The cluster as `GET /swarm` shows it: without the CA key and other manager-only material. */
export function publicCluster(cluster: Cluster): Cluster {
  const { RootCA: _secret, UnlockKey: _key, ...rest } = cluster;
  return { ...rest, DefaultAddrPool: rest.DefaultAddrPool ?? null };
}

/** The cluster as `/info` embeds it: also without join tokens. */
export function infoCluster(cluster: Cluster): Omit<Cluster, 'JoinTokens' | 'RootCA' | 'UnlockKey'> {
  const { RootCA: _secret, JoinTokens: _tokens, UnlockKey: _key, ...rest } = cluster;
  return rest;
}
