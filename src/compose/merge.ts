// Several `-c` files merged into the first, as docker/cli's loader merges them (merge.go: mergo.Merge with
// WithOverride and WithAppendSlice, plus its transformers). Services are matched by name; within one:
// scalars of the override win only when they are not zero (`false`, "" and 0 cannot reset the base);
// pointers (`replicas`, `retries`, `max_attempts`, `parallelism`) win when given, even as 0; maps merge
// key by key (labels: the override wins even with ""; environment: only with a value); `command` and
// `entrypoint` are replaced when the override has one; `ports` are keyed by published port, `secrets` and
// `configs` by source, `volumes` by target (each sorted so, when the base had any); `ulimits` per name;
// networks per name (aliases replaced); `logging` options merged for the same driver, else replaced; every
// other list is appended. Top-level networks, volumes, secrets and configs are replaced per key.

import { ownValue } from '../api/own.js';
import { put } from './put.js';
import type {
  Config,
  DeployConfig,
  FileReferenceConfig,
  HealthCheckConfig,
  LoggingConfig,
  MappingWithEquals,
  Resources,
  RestartPolicy,
  ServiceConfig,
  ServiceNetworkConfig,
  ServicePortConfig,
  ServiceVolumeConfig,
  StringMap,
  UlimitsConfig,
  UpdateConfig,
} from './types.js';

const str = (base: string, over: string): string => (over !== '' ? over : base);
const num = (base: number, over: number): number => (over !== 0 ? over : base);
const flag = (base: boolean, over: boolean): boolean => over || base;
/** A pointer to a number (mergeUint64): the override's when it has one, 0 included. */
const ptrNum = (base: number | undefined, over: number | undefined): number | undefined => over ?? base;
/** A pointer to a non-uint64 value (durations, init): set when absent, else overwritten when not zero. */
function ptr<T>(base: T | undefined, over: T | undefined, zero: T): T | undefined {
  if (base === undefined) return over;
  if (over === undefined || over === zero) return base;
  return over;
}

function append<T>(base: T[] | undefined, over: T[] | undefined): T[] | undefined {
  if (over === undefined) return base;
  if (base === undefined) return [...over];
  return [...base, ...over];
}

/** A map[string]string: every key of the override wins, empty values too. */
function stringMap(base: StringMap | undefined, over: StringMap | undefined): StringMap | undefined {
  if (over === undefined) return base;
  const out: StringMap = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(over)) put(out, k, v);
  return out;
}

/** A map[string]*string: an override value wins when it is set and not empty, or when the base's is not. */
function pointerMap(
  base: MappingWithEquals | undefined,
  over: MappingWithEquals | undefined,
): MappingWithEquals | undefined {
  if (over === undefined) return base;
  const out: MappingWithEquals = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(over)) {
    const current = ownValue(out, k);
    // A missing or empty base value takes the override's, whatever it is; a set one only a set one.
    if (current === undefined || current === null || current === '') put(out, k, v);
    else if (v !== null && v !== '') put(out, k, v);
  }
  return out;
}

/** mergeSlice: keyed entries, the override's replacing the base's, sorted by key (only when the base had some). */
function keyedSlice<T, K extends string | number>(
  base: T[] | undefined,
  over: T[] | undefined,
  key: (t: T) => K,
): T[] | undefined {
  if (base === undefined) return append(base, over);
  if (over === undefined) return base;
  const map = new Map<K, T>();
  for (const t of base) map.set(key(t), t);
  for (const t of over) map.set(key(t), t);
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

function updateConfig(
  base: UpdateConfig | undefined,
  over: UpdateConfig | undefined,
): UpdateConfig | undefined {
  if (!base || !over) return base ?? over;
  return {
    parallelism: ptrNum(base.parallelism, over.parallelism),
    delay: num(base.delay, over.delay),
    failureAction: str(base.failureAction, over.failureAction),
    monitor: num(base.monitor, over.monitor),
    maxFailureRatio: num(base.maxFailureRatio, over.maxFailureRatio),
    order: str(base.order, over.order),
  };
}

function resources(base: Resources, over: Resources): Resources {
  const out: Resources = {};
  if (base.limits && over.limits) {
    out.limits = {
      cpus: str(base.limits.cpus, over.limits.cpus),
      memory: num(base.limits.memory, over.limits.memory),
      pids: num(base.limits.pids, over.limits.pids),
    };
  } else if (base.limits ?? over.limits) {
    out.limits = base.limits ?? over.limits;
  }
  if (base.reservations && over.reservations) {
    out.reservations = {
      cpus: str(base.reservations.cpus, over.reservations.cpus),
      memory: num(base.reservations.memory, over.reservations.memory),
      genericResources: append(base.reservations.genericResources, over.reservations.genericResources),
    };
  } else if (base.reservations ?? over.reservations) {
    out.reservations = base.reservations ?? over.reservations;
  }
  return out;
}

function restartPolicy(
  base: RestartPolicy | undefined,
  over: RestartPolicy | undefined,
): RestartPolicy | undefined {
  if (!base || !over) return base ?? over;
  return {
    condition: str(base.condition, over.condition),
    delay: ptr(base.delay, over.delay, 0),
    maxAttempts: ptrNum(base.maxAttempts, over.maxAttempts),
    window: ptr(base.window, over.window, 0),
  };
}

function deploy(base: DeployConfig, over: DeployConfig): DeployConfig {
  return {
    mode: str(base.mode, over.mode),
    replicas: ptrNum(base.replicas, over.replicas),
    labels: stringMap(base.labels, over.labels),
    updateConfig: updateConfig(base.updateConfig, over.updateConfig),
    rollbackConfig: updateConfig(base.rollbackConfig, over.rollbackConfig),
    resources: resources(base.resources, over.resources),
    restartPolicy: restartPolicy(base.restartPolicy, over.restartPolicy),
    placement: {
      constraints: append(base.placement.constraints, over.placement.constraints),
      preferences: append(base.placement.preferences, over.placement.preferences),
      maxReplicas: num(base.placement.maxReplicas, over.placement.maxReplicas),
    },
    endpointMode: str(base.endpointMode, over.endpointMode),
  };
}

function healthcheck(
  base: HealthCheckConfig | undefined,
  over: HealthCheckConfig | undefined,
): HealthCheckConfig | undefined {
  if (!base || !over) return base ?? over;
  return {
    // Appended, as Docker does: ["CMD-SHELL", "a", "CMD-SHELL", "b"].
    test: append(base.test, over.test),
    timeout: ptr(base.timeout, over.timeout, 0),
    interval: ptr(base.interval, over.interval, 0),
    retries: ptrNum(base.retries, over.retries),
    startPeriod: ptr(base.startPeriod, over.startPeriod, 0),
    startInterval: ptr(base.startInterval, over.startInterval, 0),
    disable: flag(base.disable, over.disable),
  };
}

/**
 * mergeLoggingConfig: the same driver (or one side without one) merges the options into the base's
 * (options given only by the override are lost when the base had none, as in Docker); another driver
 * replaces the whole.
 */
function logging(
  base: LoggingConfig | undefined,
  over: LoggingConfig | undefined,
): LoggingConfig | undefined {
  if (!base || !over) return base ?? over;
  if (base.driver === over.driver || base.driver === '' || over.driver === '') {
    const out: LoggingConfig = { driver: base.driver || over.driver, options: base.options };
    if (base.options && over.options) out.options = stringMap(base.options, over.options);
    return out;
  }
  return over;
}

function networks(
  base: Record<string, ServiceNetworkConfig | null> | undefined,
  over: Record<string, ServiceNetworkConfig | null> | undefined,
): Record<string, ServiceNetworkConfig | null> | undefined {
  if (over === undefined) return base;
  const out: Record<string, ServiceNetworkConfig | null> = { ...(base ?? {}) };
  for (const [name, config] of Object.entries(over)) {
    const current = ownValue(out, name);
    if (current === undefined || current === null) {
      put(out, name, config);
    } else if (config !== null) {
      put(out, name, {
        ...current,
        aliases: config.aliases,
        ipv4Address: str(current.ipv4Address, config.ipv4Address),
        ipv6Address: str(current.ipv6Address, config.ipv6Address),
      });
    }
  }
  return out;
}

function ulimits(
  base: Record<string, UlimitsConfig> | undefined,
  over: Record<string, UlimitsConfig> | undefined,
): Record<string, UlimitsConfig> | undefined {
  if (over === undefined) return base;
  const out: Record<string, UlimitsConfig> = { ...(base ?? {}) };
  for (const [name, limit] of Object.entries(over)) put(out, name, limit);
  return out;
}

/** The `x-` keys of a service: nested mappings merged, lists kept, other values replaced. */
function extras(
  base: Record<string, unknown> | undefined,
  over: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (over === undefined) return base;
  if (base === undefined) return { ...over };
  const isMap = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const current = ownValue(out, k);
    if (isMap(current) && isMap(v)) put(out, k, extras(current, v));
    else if (Array.isArray(current) && current.length > 0 && Array.isArray(v)) continue;
    else put(out, k, v);
  }
  return out;
}

function command(base: string[] | undefined, over: string[] | undefined): string[] | undefined {
  return over !== undefined && over.length > 0 ? over : base;
}

export function mergeService(base: ServiceConfig, over: ServiceConfig): ServiceConfig {
  const merged: ServiceConfig = {
    name: base.name,
    build: {
      context: over.build.context || base.build.context,
      dockerfile: over.build.dockerfile || base.build.dockerfile,
      args: pointerMap(base.build.args, over.build.args),
      labels: stringMap(base.build.labels, over.build.labels),
      cacheFrom: append(base.build.cacheFrom, over.build.cacheFrom),
      extraHosts: append(base.build.extraHosts, over.build.extraHosts),
      network: over.build.network || base.build.network,
      target: over.build.target || base.build.target,
    },
    capAdd: append(base.capAdd, over.capAdd),
    capDrop: append(base.capDrop, over.capDrop),
    cgroupnsMode: str(base.cgroupnsMode, over.cgroupnsMode),
    cgroupParent: str(base.cgroupParent, over.cgroupParent),
    command: command(base.command, over.command),
    configs: keyedSlice<FileReferenceConfig, string>(base.configs, over.configs, (c) => c.source),
    containerName: str(base.containerName, over.containerName),
    credentialSpec: {
      config: str(base.credentialSpec.config, over.credentialSpec.config),
      file: str(base.credentialSpec.file, over.credentialSpec.file),
      registry: str(base.credentialSpec.registry, over.credentialSpec.registry),
    },
    dependsOn: append(base.dependsOn, over.dependsOn),
    deploy: deploy(base.deploy, over.deploy),
    devices: append(base.devices, over.devices),
    dns: append(base.dns, over.dns),
    dnsSearch: append(base.dnsSearch, over.dnsSearch),
    domainName: str(base.domainName, over.domainName),
    entrypoint: command(base.entrypoint, over.entrypoint),
    environment: pointerMap(base.environment, over.environment),
    envFile: append(base.envFile, over.envFile),
    expose: append(base.expose, over.expose),
    externalLinks: append(base.externalLinks, over.externalLinks),
    extraHosts: append(base.extraHosts, over.extraHosts),
    hostname: str(base.hostname, over.hostname),
    healthCheck: healthcheck(base.healthCheck, over.healthCheck),
    image: str(base.image, over.image),
    init: ptr(base.init, over.init, false),
    ipc: str(base.ipc, over.ipc),
    isolation: str(base.isolation, over.isolation),
    labels: stringMap(base.labels, over.labels),
    links: append(base.links, over.links),
    logging: logging(base.logging, over.logging),
    macAddress: str(base.macAddress, over.macAddress),
    networkMode: str(base.networkMode, over.networkMode),
    networks: networks(base.networks, over.networks),
    pid: str(base.pid, over.pid),
    ports: keyedSlice<ServicePortConfig, number>(base.ports, over.ports, (p) => p.published),
    privileged: flag(base.privileged, over.privileged),
    readOnly: flag(base.readOnly, over.readOnly),
    restart: str(base.restart, over.restart),
    secrets: keyedSlice<FileReferenceConfig, string>(base.secrets, over.secrets, (s) => s.source),
    securityOpt: append(base.securityOpt, over.securityOpt),
    shmSize: str(base.shmSize, over.shmSize),
    stdinOpen: flag(base.stdinOpen, over.stdinOpen),
    stopGracePeriod: ptr(base.stopGracePeriod, over.stopGracePeriod, 0),
    stopSignal: str(base.stopSignal, over.stopSignal),
    sysctls: stringMap(base.sysctls, over.sysctls),
    tmpfs: append(base.tmpfs, over.tmpfs),
    tty: flag(base.tty, over.tty),
    ulimits: ulimits(base.ulimits, over.ulimits),
    user: str(base.user, over.user),
    oomScoreAdj: num(base.oomScoreAdj, over.oomScoreAdj),
    usernsMode: str(base.usernsMode, over.usernsMode),
    volumes: keyedSlice<ServiceVolumeConfig, string>(base.volumes, over.volumes, (v) => v.target),
    workingDir: str(base.workingDir, over.workingDir),
    extras: extras(base.extras, over.extras),
  };
  const conditions = { ...(base.dependsOnConditions ?? {}), ...(over.dependsOnConditions ?? {}) };
  if (base.dependsOnConditions || over.dependsOnConditions) merged.dependsOnConditions = conditions;
  // Build options without a value are left out, as Go's omitempty does.
  for (const key of Object.keys(merged.build) as (keyof typeof merged.build)[]) {
    if (merged.build[key] === undefined) delete merged.build[key];
  }
  return merged;
}

/** Per key, the override's entry replaces the base's as a whole. */
function replaceEntries<T>(
  base: Record<string, T> | undefined,
  over: Record<string, T> | undefined,
): Record<string, T> | undefined {
  if (over === undefined || Object.keys(over).length === 0) return base;
  const out: Record<string, T> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(over)) put(out, k, v);
  return out;
}

/** loader.merge: every file merged into the first, in order; services sorted by name. */
export function mergeConfigs(configs: readonly Config[]): Config {
  const [first, ...rest] = configs;
  let base: Config = { ...first!, services: [...first!.services].sort(byName) };
  for (const over of rest) {
    const services = new Map(base.services.map((s) => [s.name, s]));
    for (const service of over.services) {
      const current = services.get(service.name);
      services.set(service.name, current ? mergeService(current, service) : service);
    }
    base = {
      ...base,
      services: [...services.values()].sort(byName),
      volumes: replaceEntries(base.volumes, over.volumes),
      networks: replaceEntries(base.networks, over.networks),
      secrets: replaceEntries(base.secrets, over.secrets),
      configs: replaceEntries(base.configs, over.configs),
    };
  }
  return base;
}

const byName = (a: ServiceConfig, b: ServiceConfig): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
