// `service inspect --pretty` and `node inspect --pretty`: the human-readable pages of docker/cli's
// serviceInspectPrettyTemplate and nodeInspectPrettyTemplate, reproduced line for line (tabs,
// trailing spaces and blank lines included), with Go's way of printing durations, lists and floats.

import { formatDuration, humanDuration, prettyPrint } from '../../api/duration.js';
import type { Node, Service } from '../../api/types.js';
import { bytesSize } from '../../api/units.js';
import { formatFloat32, formatFloat } from '../../api/strconv.js';
import { goTimeString } from '../format-helpers.js';
import { nanosSince } from './task-list.js';

/** Go's `%v` of a []string: `[a b c]`. */
const goList = (items: readonly string[]): string => `[${items.join(' ')}]`;

/** Map entries in Go's template range order (sorted keys). */
const sortedEntries = (m: Record<string, string> | null | undefined): [string, string][] =>
  Object.entries(m ?? {}).sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));

/** Go's `%v` of a float64 (CPU counts). */
const goFloat64 = (v: number): string => formatFloat(v, 'g', -1);

/** The `--pretty` page of one service (with the defaults the daemon inserted). */
export function servicePretty(
  service: Service,
  networkNames: ReadonlyMap<string, string>,
  nowMs: number,
): string {
  const spec = service.Spec ?? {};
  const task = spec.TaskTemplate ?? {};
  const cs = task.ContainerSpec ?? {};
  let out = `\nID:\t\t${service.ID}\nName:\t\t${spec.Name ?? ''}`;
  const labels = sortedEntries(spec.Labels);
  if (labels.length > 0) {
    out += '\nLabels:';
    for (const [k, v] of labels) out += `\n ${k}${v ? `=${v}` : ''}`;
  }
  out += '\nService Mode:';
  const mode = spec.Mode ?? {};
  if (mode.Global) {
    out += '\tGlobal';
  } else if (mode.Replicated) {
    out += '\tReplicated';
    if (mode.Replicated.Replicas !== undefined && mode.Replicated.Replicas !== null) {
      out += `\n Replicas:\t${mode.Replicated.Replicas}`;
    }
  }
  const us = service.UpdateStatus;
  if (us && us.State) {
    out += `\nUpdateStatus:\n State:\t\t${us.State}`;
    if (us.StartedAt) out += `\n Started:\t${humanDuration(nanosSince(us.StartedAt, nowMs))} ago`;
    if (us.State === 'completed' && us.CompletedAt) {
      out += `\n Completed:\t${humanDuration(nanosSince(us.CompletedAt, nowMs))} ago`;
    }
    out += `\n Message:\t${us.Message ?? ''}`;
  }
  out += '\nPlacement:';
  const placement = task.Placement;
  if (placement?.Constraints?.length) out += `\n Constraints:\t${goList(placement.Constraints)}`;
  const prefs = (placement?.Preferences ?? [])
    .filter((p) => p.Spread)
    .map((p) => `spread=${p.Spread.SpreadDescriptor}`);
  if (prefs.length > 0) out += `\n Preferences:   ${goList(prefs)}`;
  if (placement?.MaxReplicas) out += `\n Max Replicas Per Node:   ${placement.MaxReplicas}`;
  for (const [title, cfg, orderLabel] of [
    ['UpdateConfig', spec.UpdateConfig, 'Update order:      '],
    ['RollbackConfig', spec.RollbackConfig, 'Rollback order:    '],
  ] as const) {
    if (!cfg) continue;
    out += `\n${title}:\n Parallelism:\t${cfg.Parallelism ?? 0}`;
    if ((cfg.Delay ?? 0) > 0) out += `\n Delay:\t\t${formatDuration(cfg.Delay!)}`;
    out += `\n On failure:\t${cfg.FailureAction ?? ''}`;
    if ((cfg.Monitor ?? 0) > 0) out += `\n Monitoring Period: ${formatDuration(cfg.Monitor!)}`;
    out += `\n Max failure ratio: ${formatFloat32(cfg.MaxFailureRatio ?? 0)}\n ${orderLabel}${cfg.Order ?? ''}`;
  }
  out += `\nContainerSpec:\n Image:\t\t${cs.Image ?? ''}`;
  if (cs.Args?.length) out += `\n Args:\t\t${cs.Args.map((a) => a + ' ').join('')}`;
  if (cs.Env?.length) out += `\n Env:\t\t${cs.Env.map((e) => e + ' ').join('')}`;
  if (cs.Dir) out += `\n Dir:\t\t${cs.Dir}`;
  if (cs.Init !== undefined && cs.Init !== null) out += `\n Init:\t\t${cs.Init}`;
  if (cs.User) out += `\n User: ${cs.User}`;
  const capAdd = cs.CapabilityAdd ?? [];
  const capDrop = cs.CapabilityDrop ?? [];
  if (capAdd.length > 0 || capDrop.length > 0) {
    out += '\nCapabilities:';
    if (capAdd.length > 0) out += `\n Add: ${capAdd.join(', ')}`;
    if (capDrop.length > 0) out += `\n Drop: ${capDrop.join(', ')}`;
  }
  const sysctls = sortedEntries(cs.Sysctls);
  if (sysctls.length > 0) {
    out += '\nSysCtls:';
    for (const [k, v] of sysctls) out += `\n ${k}${v ? `: ${v}` : ''}`;
  }
  const ulimits = Object.fromEntries((cs.Ulimits ?? []).map((u) => [u.Name, `${u.Soft}:${u.Hard}`]));
  const ulimitEntries = sortedEntries(ulimits);
  if (ulimitEntries.length > 0) {
    out += '\nUlimits:';
    for (const [k, v] of ulimitEntries) out += `\n ${k}: ${v}`;
  }
  const mounts = cs.Mounts ?? [];
  if (mounts.length > 0) out += '\nMounts:';
  for (const m of mounts) {
    out += `\n Target:\t${m.Target ?? ''}\n  Source:\t${m.Source ?? ''}\n  ReadOnly:\t${m.ReadOnly === true}\n  Type:\t\t${m.Type ?? ''}`;
  }
  if (cs.Configs?.length) {
    out += '\nConfigs:';
    for (const c of cs.Configs) out += `\n Target:\t${c.File?.Name ?? ''}\n  Source:\t${c.ConfigName}`;
  }
  if (cs.Secrets?.length) {
    out += '\nSecrets:';
    for (const s of cs.Secrets) out += `\n Target:\t${s.File?.Name ?? ''}\n  Source:\t${s.SecretName}`;
  }
  const log = task.LogDriver;
  if (log) {
    out += '\nLog Driver:';
    if (log.Name) out += `\n Name:\t\t${log.Name}`;
    const opts = sortedEntries(log.Options);
    if (opts.length > 0) {
      out += '\n LogOpts:';
      for (const [k, v] of opts) out += `\n  ${k}${v ? `:       ${v}` : ''}`;
    }
    out += '\n';
  }
  const resources = task.Resources;
  if (resources) {
    out += '\nResources:';
    const res = resources.Reservations;
    if (res && ((res.NanoCPUs ?? 0) > 0 || (res.MemoryBytes ?? 0) > 0)) {
      out += '\n Reservations:';
      if ((res.NanoCPUs ?? 0) > 0) out += `\n  CPU:\t\t${goFloat64(res.NanoCPUs! / 1e9)}`;
      if (res.MemoryBytes) out += `\n  Memory:\t${bytesSize(res.MemoryBytes)}`;
    }
    const lim = resources.Limits;
    if (lim && ((lim.NanoCPUs ?? 0) > 0 || (lim.MemoryBytes ?? 0) > 0 || (lim.Pids ?? 0) > 0)) {
      out += '\n Limits:';
      if ((lim.NanoCPUs ?? 0) > 0) out += `\n  CPU:\t\t${goFloat64(lim.NanoCPUs! / 1e9)}`;
      if (lim.MemoryBytes) out += `\n  Memory:\t${bytesSize(lim.MemoryBytes)}`;
    }
  }
  const pids = resources?.Limits?.Pids ?? 0;
  if (pids > 0) out += `\n  PIDs:\t\t${pids}`;
  const networks = (task.Networks ?? []).map((n) => networkNames.get(n.Target) ?? n.Target);
  if (networks.length > 0) out += `\nNetworks:${networks.map((n) => ' ' + n).join('')} `;
  out += `\nEndpoint Mode:\t${spec.EndpointSpec?.Mode ?? ''}`;
  const ports = service.Endpoint?.Ports ?? [];
  if (ports.length > 0) {
    out += '\nPorts:';
    for (const p of ports) {
      out += `\n PublishedPort = ${p.PublishedPort ?? 0}\n  Protocol = ${p.Protocol ?? ''}\n  TargetPort = ${p.TargetPort ?? 0}\n  PublishMode = ${p.PublishMode ?? ''}`;
    }
    out += ' ';
  }
  const hc = cs.Healthcheck;
  if (hc) {
    out +=
      `\n Healthcheck:\n  Interval = ${formatDuration(hc.Interval ?? 0)}\n  Retries = ${hc.Retries ?? 0}` +
      `\n  StartPeriod =\t${formatDuration(hc.StartPeriod ?? 0)}\n  Timeout =\t${formatDuration(hc.Timeout ?? 0)}`;
    if (hc.Test?.length) {
      out += '\n  Tests:';
      for (const t of hc.Test) out += `\n\t Test = ${t}`;
      out += ' ';
    }
  }
  return out + '\n\n';
}

/** The `--pretty` page of one node. */
export function nodePretty(node: Node): string {
  const spec = node.Spec ?? {};
  const desc = node.Description ?? ({} as Node['Description']);
  let out = `ID:\t\t\t${node.ID}`;
  if (spec.Name) out += `\nName:\t\t\t${spec.Name}`;
  const labels = sortedEntries(spec.Labels);
  if (labels.length > 0) {
    out += '\nLabels:';
    for (const [k, v] of labels) out += `\n - ${k}${v ? `=${v}` : ''}`;
  }
  out += `\nHostname:              \t${desc.Hostname ?? ''}`;
  out += `\nJoined at:             \t${prettyPrint(goTimeString(node.CreatedAt ?? '0001-01-01T00:00:00Z'))}`;
  out += `\nStatus:\n State:\t\t\t${prettyPrint(node.Status?.State ?? '')}`;
  if (node.Status?.Message) out += `\n Message:              \t${prettyPrint(node.Status.Message)}`;
  out += `\n Availability:         \t${prettyPrint(spec.Availability ?? '')}`;
  if (node.Status?.Addr) out += `\n Address:\t\t${node.Status.Addr}`;
  const ms = node.ManagerStatus;
  if (ms) {
    out += `\nManager Status:\n Address:\t\t${ms.Addr ?? ''}\n Raft Status:\t\t${prettyPrint(ms.Reachability ?? '')}`;
    out += ms.Leader ? '\n Leader:\t\tYes' : '\n Leader:\t\tNo';
  }
  const nanoCPUs = desc.Resources?.NanoCPUs ?? 0;
  const memory = desc.Resources?.MemoryBytes ?? 0;
  out += `\nPlatform:\n Operating System:\t${desc.Platform?.OS ?? ''}\n Architecture:\t\t${desc.Platform?.Architecture ?? ''}`;
  out += `\nResources:\n CPUs:\t\t\t${Math.trunc(nanoCPUs / 1e9)}\n Memory:\t\t${memory ? bytesSize(memory) : ''}`;
  const plugins = desc.Engine?.Plugins ?? [];
  if (plugins.length > 0) {
    // Plugin types are what the node reported: a Map, so `constructor` is a type like any other.
    const byType = new Map<string, string[]>();
    for (const p of plugins) {
      const names = byType.get(p.Type) ?? [];
      names.push(p.Name);
      byType.set(p.Type, names);
    }
    out += '\nPlugins:';
    for (const [type, names] of [...byType].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const v = names.join(', ');
      out += `\n ${type}:${v ? `\t\t${v}` : ''}`;
    }
  }
  out += `\nEngine Version:\t\t${desc.Engine?.EngineVersion ?? ''}`;
  const engineLabels = sortedEntries(desc.Engine?.Labels);
  if (engineLabels.length > 0) {
    out += '\nEngine Labels:';
    for (const [k, v] of engineLabels) out += `\n - ${k}${v ? `=${v}` : ''}`;
  }
  const tls = desc.TLSInfo;
  if (tls && (tls.TrustRoot || tls.CertIssuerSubject || tls.CertIssuerPublicKey)) {
    out += `\nTLS Info:\n TrustRoot:\n${tls.TrustRoot ?? ''}\n Issuer Subject:\t${tls.CertIssuerSubject ?? ''}\n Issuer Public Key:\t${tls.CertIssuerPublicKey ?? ''}`;
  }
  return out + '\n';
}
