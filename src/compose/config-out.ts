// `docker stack config`: the merged, interpolated configuration written back as the docker CLI writes
// it — yaml.v3 encoding docker/cli's compose types (cli/compose/types): fields in struct order under
// their yaml names, empty ones left out, maps sorted, durations as Go prints them (`1m30s`), byte sizes
// as quoted numbers, `external` as a boolean, ulimits as a number when soft and hard are one, services
// and `x-` keys last. Deliberate difference: `oom_score_adj` is read (Docker's decoder drops it) and
// printed under its own name.

import { formatDuration } from '../api/duration.js';
import { GoTime } from './gotime.js';
import type {
  Config,
  External,
  FileObjectConfig,
  FileReferenceConfig,
  NetworkConfig,
  ServiceConfig,
  ServiceVolumeConfig,
  UpdateConfig,
  VolumeConfig,
} from './types.js';
import { encodeYAML, ybool, yint, ymap, ynull, yseq, ysorted, ystr, type YNode } from './yaml-out.js';

type Entry = [string, YNode];

/** Fields with yaml's omitempty: each helper adds its entry only when the value is not Go's zero. */
class Fields {
  readonly entries: Entry[] = [];
  node(key: string, value: YNode | undefined): this {
    if (value !== undefined) this.entries.push([key, value]);
    return this;
  }
  str(key: string, value: string | undefined): this {
    return value ? this.node(key, ystr(value)) : this;
  }
  int(key: string, value: number | undefined): this {
    return value ? this.node(key, yint(value)) : this;
  }
  /** A pointer: written when set, 0 included. */
  ptr(key: string, value: number | undefined): this {
    return value !== undefined ? this.node(key, yint(value)) : this;
  }
  bool(key: string, value: boolean | undefined): this {
    return value ? this.node(key, ybool(true)) : this;
  }
  duration(key: string, value: number | undefined, pointer = false): this {
    if (value === undefined || (!pointer && value === 0)) return this;
    return this.node(key, ystr(formatDuration(value)));
  }
  list(key: string, value: readonly string[] | undefined): this {
    return value && value.length > 0 ? this.node(key, yseq(value.map(ystr))) : this;
  }
  map(key: string, value: Readonly<Record<string, string>> | undefined): this {
    return value && Object.keys(value).length > 0 ? this.node(key, stringMap(value)) : this;
  }
  /** A struct with omitempty: left out when all its fields are zero. */
  struct(key: string, fields: Fields): this {
    return fields.entries.length > 0 ? this.node(key, ymap(fields.entries)) : this;
  }
  extras(value: Readonly<Record<string, unknown>> | undefined): this {
    if (!value) return this;
    const sorted = ysorted(Object.entries(value).map(([k, v]) => [k, anyNode(v)]));
    if (sorted.kind === 'map') this.entries.push(...sorted.entries);
    return this;
  }
  done(): YNode {
    return ymap(this.entries);
  }
}

function stringMap(value: Readonly<Record<string, string>>): YNode {
  return ysorted(Object.entries(value).map(([k, v]) => [k, ystr(v)]));
}

/** A value decoded into `any` (the `x-` keys). */
function anyNode(v: unknown): YNode {
  if (v === null || v === undefined) return ynull;
  if (typeof v === 'string') return ystr(v);
  if (v instanceof GoTime) return { kind: 'time', value: v.rfc3339() };
  if (typeof v === 'boolean') return ybool(v);
  if (typeof v === 'number') return Number.isInteger(v) ? yint(v) : { kind: 'float', value: v, bits: 64 };
  if (Array.isArray(v)) return yseq(v.map(anyNode));
  return ysorted(Object.entries(v as Record<string, unknown>).map(([k, val]) => [k, anyNode(val)]));
}

function external(value: External): YNode | undefined {
  if (!value.external && value.name === '') return undefined;
  if (value.name === '') return ybool(value.external);
  return ymap([['name', ystr(value.name)]]);
}

function updateConfig(u: UpdateConfig | undefined): YNode | undefined {
  if (!u) return undefined;
  return new Fields()
    .ptr('parallelism', u.parallelism)
    .duration('delay', u.delay)
    .str('failure_action', u.failureAction)
    .duration('monitor', u.monitor)
    .node(
      'max_failure_ratio',
      u.maxFailureRatio ? { kind: 'float', value: u.maxFailureRatio, bits: 32 } : undefined,
    )
    .str('order', u.order)
    .done();
}

function fileReferences(refs: readonly FileReferenceConfig[] | undefined): YNode | undefined {
  if (!refs || refs.length === 0) return undefined;
  return yseq(
    refs.map((r) =>
      new Fields()
        .str('source', r.source)
        .str('target', r.target)
        .str('uid', r.uid)
        .str('gid', r.gid)
        .ptr('mode', r.mode)
        .done(),
    ),
  );
}

function volumes(list: readonly ServiceVolumeConfig[] | undefined): YNode | undefined {
  if (!list || list.length === 0) return undefined;
  return yseq(
    list.map((v) =>
      new Fields()
        .str('type', v.type)
        .str('source', v.source)
        .str('target', v.target)
        .bool('read_only', v.readOnly)
        .str('consistency', v.consistency)
        .node('bind', v.bind ? new Fields().str('propagation', v.bind.propagation).done() : undefined)
        .node(
          'volume',
          v.volume
            ? new Fields().bool('nocopy', v.volume.nocopy).str('subpath', v.volume.subpath).done()
            : undefined,
        )
        .node('image', v.image ? new Fields().str('subpath', v.image.subpath).done() : undefined)
        .node('tmpfs', v.tmpfs ? new Fields().int('size', v.tmpfs.size).done() : undefined)
        .node('cluster', v.cluster ? ymap([]) : undefined)
        .done(),
    ),
  );
}

function deploy(s: ServiceConfig): Fields {
  const d = s.deploy;
  const resources = new Fields();
  if (d.resources.limits) {
    const l = d.resources.limits;
    resources.node(
      'limits',
      new Fields()
        .str('cpus', l.cpus)
        .node('memory', l.memory ? ystr(String(l.memory)) : undefined)
        .int('pids', l.pids)
        .done(),
    );
  }
  if (d.resources.reservations) {
    const r = d.resources.reservations;
    resources.node(
      'reservations',
      new Fields()
        .str('cpus', r.cpus)
        .node('memory', r.memory ? ystr(String(r.memory)) : undefined)
        .node(
          'generic_resources',
          r.genericResources && r.genericResources.length > 0
            ? yseq(
                r.genericResources.map((g) =>
                  new Fields()
                    .node(
                      'discrete_resource_spec',
                      g.discreteResourceSpec
                        ? ymap([
                            ['kind', ystr(g.discreteResourceSpec.kind)],
                            ['value', yint(g.discreteResourceSpec.value)],
                          ])
                        : undefined,
                    )
                    .done(),
                ),
              )
            : undefined,
        )
        .done(),
    );
  }
  const restart = d.restartPolicy;
  return new Fields()
    .str('mode', d.mode)
    .ptr('replicas', d.replicas)
    .map('labels', d.labels)
    .node('update_config', updateConfig(d.updateConfig))
    .node('rollback_config', updateConfig(d.rollbackConfig))
    .struct('resources', resources)
    .node(
      'restart_policy',
      restart
        ? new Fields()
            .str('condition', restart.condition)
            .duration('delay', restart.delay, true)
            .ptr('max_attempts', restart.maxAttempts)
            .duration('window', restart.window, true)
            .done()
        : undefined,
    )
    .struct(
      'placement',
      new Fields()
        .list('constraints', d.placement.constraints)
        .node(
          'preferences',
          d.placement.preferences && d.placement.preferences.length > 0
            ? yseq(d.placement.preferences.map((p) => new Fields().str('spread', p.spread).done()))
            : undefined,
        )
        .int('max_replicas_per_node', d.placement.maxReplicas),
    )
    .str('endpoint_mode', d.endpointMode);
}

function service(s: ServiceConfig): YNode {
  const b = s.build;
  const f = new Fields()
    .struct(
      'build',
      new Fields()
        .str('context', b.context)
        .str('dockerfile', b.dockerfile)
        .node('args', b.args && Object.keys(b.args).length > 0 ? envNode(b.args) : undefined)
        .map('labels', b.labels)
        .list('cache_from', b.cacheFrom)
        .list('extra_hosts', b.extraHosts)
        .str('network', b.network)
        .str('target', b.target),
    )
    .list('cap_add', s.capAdd)
    .list('cap_drop', s.capDrop)
    .str('cgroupns_mode', s.cgroupnsMode)
    .str('cgroup_parent', s.cgroupParent)
    .list('command', s.command)
    .node('configs', fileReferences(s.configs))
    .str('container_name', s.containerName)
    .struct(
      'credential_spec',
      new Fields()
        .str('config', s.credentialSpec.config)
        .str('file', s.credentialSpec.file)
        .str('registry', s.credentialSpec.registry),
    )
    .node('depends_on', dependsOn(s))
    .struct('deploy', deploy(s))
    .list('devices', s.devices)
    .list('dns', s.dns)
    .list('dns_search', s.dnsSearch)
    .str('domainname', s.domainName)
    .list('entrypoint', s.entrypoint)
    .node(
      'environment',
      s.environment && Object.keys(s.environment).length > 0 ? envNode(s.environment) : undefined,
    )
    .list('env_file', s.envFile)
    .list('expose', s.expose)
    .list('external_links', s.externalLinks)
    .list('extra_hosts', s.extraHosts)
    .str('hostname', s.hostname)
    .node('healthcheck', s.healthCheck ? healthcheck(s) : undefined)
    .str('image', s.image)
    .node('init', s.init !== undefined ? ybool(s.init) : undefined)
    .str('ipc', s.ipc)
    .str('isolation', s.isolation)
    .map('labels', s.labels)
    .list('links', s.links)
    .node(
      'logging',
      s.logging
        ? new Fields().str('driver', s.logging.driver).map('options', s.logging.options).done()
        : undefined,
    )
    .str('mac_address', s.macAddress)
    .str('network_mode', s.networkMode)
    .node('networks', s.networks && Object.keys(s.networks).length > 0 ? serviceNetworks(s) : undefined)
    .str('pid', s.pid)
    .node(
      'ports',
      s.ports && s.ports.length > 0
        ? yseq(
            s.ports.map((p) =>
              new Fields()
                .str('mode', p.mode)
                .int('target', p.target)
                .int('published', p.published)
                .str('protocol', p.protocol)
                .done(),
            ),
          )
        : undefined,
    )
    .bool('privileged', s.privileged)
    .bool('read_only', s.readOnly)
    .str('restart', s.restart)
    .node('secrets', fileReferences(s.secrets))
    .list('security_opt', s.securityOpt)
    .str('shm_size', s.shmSize)
    .bool('stdin_open', s.stdinOpen)
    .duration('stop_grace_period', s.stopGracePeriod, true)
    .str('stop_signal', s.stopSignal)
    .map('sysctls', s.sysctls)
    .list('tmpfs', s.tmpfs)
    .bool('tty', s.tty)
    .node(
      'ulimits',
      s.ulimits && Object.keys(s.ulimits).length > 0
        ? ysorted(
            Object.entries(s.ulimits).map(([name, u]) => [
              name,
              u.single !== 0 ? yint(u.single) : new Fields().int('soft', u.soft).int('hard', u.hard).done(),
            ]),
          )
        : undefined,
    )
    .str('user', s.user)
    .int('oom_score_adj', s.oomScoreAdj)
    .str('userns_mode', s.usernsMode)
    .node('volumes', volumes(s.volumes))
    .str('working_dir', s.workingDir)
    .extras(s.extras);
  return f.done();
}

function envNode(env: Readonly<Record<string, string | null>>): YNode {
  return ysorted(Object.entries(env).map(([k, v]) => [k, v === null ? ynull : ystr(v)]));
}

function dependsOn(s: ServiceConfig): YNode | undefined {
  if (s.dependsOnConditions) {
    return ysorted(
      Object.entries(s.dependsOnConditions).map(([name, c]) => [
        name,
        new Fields()
          .str('condition', c.condition)
          .node('required', c.required !== undefined ? ybool(c.required) : undefined)
          .node(
            'restart',
            c.restart === undefined
              ? undefined
              : typeof c.restart === 'boolean'
                ? ybool(c.restart)
                : ystr(c.restart),
          )
          .done(),
      ]),
    );
  }
  return s.dependsOn && s.dependsOn.length > 0 ? yseq(s.dependsOn.map(ystr)) : undefined;
}

function healthcheck(s: ServiceConfig): YNode {
  const h = s.healthCheck!;
  return new Fields()
    .list('test', h.test)
    .duration('timeout', h.timeout, true)
    .duration('interval', h.interval, true)
    .ptr('retries', h.retries)
    .duration('start_period', h.startPeriod, true)
    .duration('start_interval', h.startInterval, true)
    .bool('disable', h.disable)
    .done();
}

function serviceNetworks(s: ServiceConfig): YNode {
  return ysorted(
    Object.entries(s.networks!).map(([name, n]) => [
      name,
      n === null
        ? ynull
        : new Fields()
            .list('aliases', n.aliases)
            .map('driver_opts', n.driverOpts)
            .str('ipv4_address', n.ipv4Address)
            .str('ipv6_address', n.ipv6Address)
            .done(),
    ]),
  );
}

function network(n: NetworkConfig): YNode {
  return new Fields()
    .str('name', n.name)
    .str('driver', n.driver)
    .map('driver_opts', n.driverOpts)
    .struct(
      'ipam',
      new Fields()
        .str('driver', n.ipam.driver)
        .node(
          'config',
          n.ipam.config && n.ipam.config.length > 0
            ? yseq(n.ipam.config.map((c) => new Fields().str('subnet', c.subnet).done()))
            : undefined,
        ),
    )
    .node('external', external(n.external))
    .bool('internal', n.internal)
    .bool('attachable', n.attachable)
    .map('labels', n.labels)
    .extras(n.extras)
    .done();
}

function volume(v: VolumeConfig): YNode {
  const f = new Fields()
    .str('name', v.name)
    .str('driver', v.driver)
    .map('driver_opts', v.driverOpts)
    .node('external', external(v.external))
    .map('labels', v.labels)
    .node('x-cluster-spec', v.spec ? anyNode(v.spec) : undefined);
  return f.extras(v.extras).done();
}

function fileObject(o: FileObjectConfig): YNode {
  return new Fields()
    .str('name', o.name)
    .str('file', o.file)
    .node('external', external(o.external))
    .map('labels', o.labels)
    .str('driver', o.driver)
    .map('driver_opts', o.driverOpts)
    .str('template_driver', o.templateDriver)
    .extras(o.extras)
    .done();
}

function objects<T>(
  value: Readonly<Record<string, T>> | undefined,
  write: (t: T) => YNode,
): YNode | undefined {
  if (!value || Object.keys(value).length === 0) return undefined;
  return ysorted(Object.entries(value).map(([k, v]) => [k, write(v)]));
}

/** The text `stack config` prints. */
export function configYAML(config: Config): string {
  const root = new Fields()
    .node('version', ystr(config.version))
    .node('services', ysorted(config.services.map((s) => [s.name, service(s)])))
    .node('networks', objects(config.networks, network))
    .node('volumes', objects(config.volumes, volume))
    .node('secrets', objects(config.secrets, fileObject))
    .node('configs', objects(config.configs, fileObject))
    .extras(config.extras);
  return encodeYAML(root.done());
}
