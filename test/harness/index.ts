// The multi-host test harness in one import: `import { TestCluster, waitFor } from '../harness/index.js'`.

export { CLUSTER_PORT, TestCluster, type SwarmInitExtras, type TestClusterOptions } from './cluster.js';
export { dockerdMissing, TestDockerd, type TestDockerdOptions } from './dockerd.js';
export { podmanMissing, TestPodman } from './podman.js';
export { CommandError, type ExecOptions, type ExecResult } from './commands.js';
export {
  HarnessPrivilegeError,
  Host,
  LocalHost,
  Network,
  sweepStale,
  type NetworkOptions,
  type ProcessHost,
  type SweepReport,
} from './netns.js';
export {
  ApiError,
  DaemonStartError,
  ShoalDaemon,
  type ApiResponse,
  type CliOptions,
  type CommandResult,
  type ShoalDaemonOptions,
  type TestOutcome,
} from './shoald.js';
export { DockerCliMissingError, dockerCli, dockerCliVersion } from './docker.js';
export { eventually, sleep, waitFor, WaitTimeoutError, type WaitOptions } from './wait.js';
export { freePort } from './ports.js';
export { machineTmpfsDevices, tmpfsFiles, tmpfsMounts, type TmpfsMount } from './tmpfs.js';
