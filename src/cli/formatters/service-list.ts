// The rows of `service ls` (docker/cli service.serviceContext): mode names, the REPLICAS column
// (`3/3`, `1/2 (max 1 per node)`, `0/1 (2/2 completed)` for jobs) and published ports grouped into
// ranges (`*:8080-8081->80-81/tcp`).

import type { Service } from '../../api/types.js';
import { formatList } from '../format/formatter.js';
import { GO_TYPE } from '../format/govalue.js';
import { displayImage, naturalCompare, truncateID } from '../format-helpers.js';

export const DEFAULT_SERVICE_TABLE_FORMAT =
  'table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}';

export const SERVICE_HEADERS = {
  ID: 'ID',
  Name: 'NAME',
  Mode: 'MODE',
  Replicas: 'REPLICAS',
  Image: 'IMAGE',
  Ports: 'PORTS',
} as const;

interface PortRange {
  pStart: number;
  pEnd: number;
  tStart: number;
  tEnd: number;
  protocol: string;
}

const rangeText = (pr: PortRange): string => {
  const pub = pr.pEnd > pr.pStart ? `${pr.pStart}-${pr.pEnd}` : String(pr.pStart);
  const tgt = pr.tEnd > pr.tStart ? `${pr.tStart}-${pr.tEnd}` : String(pr.tStart);
  return `*:${pub}->${tgt}/${pr.protocol}`;
};

/** The ingress ports of a service, consecutive mappings grouped into ranges (serviceContext.Ports). */
export function servicePorts(service: Service): string {
  const endpointPorts = service.Endpoint?.Ports;
  if (!endpointPorts) return '';
  const ports = [...endpointPorts].sort((a, b) => {
    const pa = a.Protocol ?? '';
    const pb = b.Protocol ?? '';
    if (pa === pb) return (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0);
    return pa < pb ? -1 : 1;
  });
  const out: string[] = [];
  let pr: PortRange = { pStart: 0, pEnd: 0, tStart: 0, tEnd: 0, protocol: '' };
  for (const p of ports) {
    if (p.PublishMode !== 'ingress') continue;
    const published = p.PublishedPort ?? 0;
    const target = p.TargetPort ?? 0;
    const protocol = p.Protocol ?? '';
    const isRange = pr.tEnd !== pr.tStart;
    const overlaps = target <= pr.tEnd;
    // Go's unsigned subtraction wraps, so "not consecutive" includes going backwards.
    const gap = (a: number, b: number): boolean => a - b > 1 || a < b;
    if (
      protocol !== pr.protocol ||
      gap(published, pr.pEnd) ||
      gap(target, pr.tEnd) ||
      (isRange && overlaps)
    ) {
      if (pr.pStart > 0) out.push(rangeText(pr));
      pr = { pStart: published, pEnd: published, tStart: target, tEnd: target, protocol };
      continue;
    }
    pr.pEnd = published;
    pr.tEnd = target;
  }
  if (pr.pStart > 0) out.push(rangeText(pr));
  return out.join(', ');
}

export class ServiceContext {
  readonly #service: Service;

  constructor(service: Service) {
    this.#service = service;
  }

  get ID(): string {
    return truncateID(this.#service.ID);
  }

  get Name(): string {
    return this.#service.Spec?.Name ?? '';
  }

  get Mode(): string {
    const mode = this.#service.Spec?.Mode ?? {};
    if (mode.Global) return 'global';
    if (mode.Replicated) return 'replicated';
    if (mode.ReplicatedJob) return 'replicated job';
    if (mode.GlobalJob) return 'global job';
    return '';
  }

  get Replicas(): string {
    const s = this.#service;
    const status = s.ServiceStatus;
    const running = status?.RunningTasks ?? 0;
    const desired = status?.DesiredTasks ?? 0;
    const completed = status?.CompletedTasks ?? 0;
    const mode = s.Spec?.Mode ?? {};
    // Jobs show how far the job got instead of a per-node maximum.
    if (mode.ReplicatedJob) {
      return `${running}/${desired} (${completed}/${mode.ReplicatedJob.TotalCompletions ?? 0} completed)`;
    }
    if (mode.GlobalJob) return `${running}/${desired} (${completed}/${desired + completed} completed)`;
    const max = this.Mode === 'replicated' ? (s.Spec?.TaskTemplate?.Placement?.MaxReplicas ?? 0) : 0;
    if (max > 0) return `${running}/${desired} (max ${max} per node)`;
    return `${running}/${desired}`;
  }

  get Image(): string {
    return displayImage(this.#service.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '');
  }

  get Ports(): string {
    return servicePorts(this.#service);
  }
}
Object.defineProperty(ServiceContext.prototype, GO_TYPE, { value: '*service.serviceContext' });

/** What `service ls` prints: the services sorted by name. */
export function formatServiceList(services: Service[], format: string, quiet: boolean): string {
  const sorted = [...services].sort((a, b) => naturalCompare(a.Spec?.Name ?? '', b.Spec?.Name ?? ''));
  return formatList(
    sorted.map((s) => new ServiceContext(s)),
    {
      format,
      quiet,
      defaultTableFormat: DEFAULT_SERVICE_TABLE_FORMAT,
      rawFormat:
        'id: {{.ID}}\\nname: {{.Name}}\\nmode: {{.Mode}}\\nreplicas: {{.Replicas}}\\nimage: {{.Image}}\\nports: {{.Ports}}\\n',
      rawQuietFormat: 'id: {{.ID}}',
      header: SERVICE_HEADERS,
    },
  );
}
