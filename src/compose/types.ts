// The typed Compose configuration, shaped as docker/cli's cli/compose/types: what the loader decodes each
// file into, what the files merge into, what `stack config` prints and what the converter reads. Go's nil
// is `undefined` here (a pointer, slice or map that was not given), so that merging can tell "not given"
// from a zero value where Docker's merge does; durations are nanoseconds, sizes bytes.

/** A map from a Compose file: keys are what the user wrote; read and written through api/own.ts. */
export type StringMap = Record<string, string>;

/** `environment`/build `args`: a key without `=` is a variable without a value (null). */
export type MappingWithEquals = Record<string, string | null>;

export interface BuildConfig {
  context?: string;
  dockerfile?: string;
  args?: MappingWithEquals;
  labels?: StringMap;
  cacheFrom?: string[];
  extraHosts?: string[];
  network?: string;
  target?: string;
}

export interface LoggingConfig {
  driver: string;
  options?: StringMap;
}

export interface UpdateConfig {
  parallelism?: number;
  delay: number;
  failureAction: string;
  monitor: number;
  maxFailureRatio: number;
  order: string;
}

export interface ResourceLimit {
  cpus: string;
  memory: number;
  pids: number;
}

export interface GenericResource {
  discreteResourceSpec?: { kind: string; value: number };
}

export interface Resource {
  cpus: string;
  memory: number;
  genericResources?: GenericResource[];
}

export interface Resources {
  limits?: ResourceLimit;
  reservations?: Resource;
}

export interface RestartPolicy {
  condition: string;
  delay?: number;
  maxAttempts?: number;
  window?: number;
}

export interface Placement {
  constraints?: string[];
  preferences?: { spread: string }[];
  maxReplicas: number;
}

export interface DeployConfig {
  mode: string;
  replicas?: number;
  labels?: StringMap;
  updateConfig?: UpdateConfig;
  rollbackConfig?: UpdateConfig;
  resources: Resources;
  restartPolicy?: RestartPolicy;
  placement: Placement;
  endpointMode: string;
}

export interface HealthCheckConfig {
  test?: string[];
  timeout?: number;
  interval?: number;
  retries?: number;
  startPeriod?: number;
  startInterval?: number;
  disable: boolean;
}

export interface ServiceNetworkConfig {
  aliases?: string[];
  driverOpts?: StringMap;
  ipv4Address: string;
  ipv6Address: string;
}

export interface ServicePortConfig {
  mode: string;
  target: number;
  published: number;
  protocol: string;
}

export interface ServiceVolumeConfig {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
  consistency: string;
  bind?: { propagation: string };
  volume?: { nocopy: boolean; subpath: string };
  image?: { subpath: string };
  tmpfs?: { size: number };
  cluster?: Record<string, never>;
}

export interface FileReferenceConfig {
  source: string;
  target: string;
  uid: string;
  gid: string;
  mode?: number;
}

export interface UlimitsConfig {
  single: number;
  soft: number;
  hard: number;
}

export interface CredentialSpecConfig {
  config: string;
  file: string;
  registry: string;
}

/** A `depends_on` entry in the long syntax (shoal's `x-shoal: {depends_on: true}`; compose-spec's keys). */
export interface DependsOnCondition {
  condition: string;
  required?: boolean;
  restart?: boolean | string;
}

export interface ServiceConfig {
  name: string;
  build: BuildConfig;
  capAdd?: string[];
  capDrop?: string[];
  cgroupnsMode: string;
  cgroupParent: string;
  command?: string[];
  configs?: FileReferenceConfig[];
  containerName: string;
  credentialSpec: CredentialSpecConfig;
  dependsOn?: string[];
  /** The long syntax's conditions, when the file used it (only accepted with `x-shoal.depends_on`). */
  dependsOnConditions?: Record<string, DependsOnCondition>;
  deploy: DeployConfig;
  devices?: string[];
  dns?: string[];
  dnsSearch?: string[];
  domainName: string;
  entrypoint?: string[];
  environment?: MappingWithEquals;
  envFile?: string[];
  expose?: string[];
  externalLinks?: string[];
  extraHosts?: string[];
  hostname: string;
  healthCheck?: HealthCheckConfig;
  image: string;
  init?: boolean;
  ipc: string;
  isolation: string;
  labels?: StringMap;
  links?: string[];
  logging?: LoggingConfig;
  macAddress: string;
  networkMode: string;
  networks?: Record<string, ServiceNetworkConfig | null>;
  pid: string;
  ports?: ServicePortConfig[];
  privileged: boolean;
  readOnly: boolean;
  restart: string;
  secrets?: FileReferenceConfig[];
  securityOpt?: string[];
  shmSize: string;
  stdinOpen: boolean;
  stopGracePeriod?: number;
  stopSignal: string;
  sysctls?: StringMap;
  tmpfs?: string[];
  tty: boolean;
  ulimits?: Record<string, UlimitsConfig>;
  user: string;
  oomScoreAdj: number;
  usernsMode: string;
  volumes?: ServiceVolumeConfig[];
  workingDir: string;
  extras?: Record<string, unknown>;
}

export interface External {
  name: string;
  external: boolean;
}

export interface NetworkConfig {
  name: string;
  driver: string;
  driverOpts?: StringMap;
  ipam: { driver: string; config?: { subnet: string }[] };
  external: External;
  internal: boolean;
  attachable: boolean;
  labels?: StringMap;
  extras?: Record<string, unknown>;
}

export interface VolumeConfig {
  name: string;
  driver: string;
  driverOpts?: StringMap;
  external: External;
  labels?: StringMap;
  extras?: Record<string, unknown>;
  /** `x-cluster-spec` (3.10+), kept as written. */
  spec?: Record<string, unknown>;
}

export interface FileObjectConfig {
  name: string;
  file: string;
  external: External;
  labels?: StringMap;
  extras?: Record<string, unknown>;
  driver: string;
  driverOpts?: StringMap;
  templateDriver: string;
}

export interface Config {
  filename: string;
  version: string;
  services: ServiceConfig[];
  networks?: Record<string, NetworkConfig>;
  volumes?: Record<string, VolumeConfig>;
  secrets?: Record<string, FileObjectConfig>;
  configs?: Record<string, FileObjectConfig>;
  extras?: Record<string, unknown>;
}

/** Whether the first file asked for `depends_on` to be honoured (`x-shoal: {depends_on: true}`). */
export function dependsOnEnabledIn(config: Config): boolean {
  const ext = config.extras?.['x-shoal'];
  return ext !== null && typeof ext === 'object' && (ext as Record<string, unknown>)['depends_on'] === true;
}
