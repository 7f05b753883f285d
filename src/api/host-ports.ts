// A task's host-mode published ports (`--publish published=P,target=T,mode=host`), as the node carries them
// out: the node's networking gives such a task a namespace of its own (even on no overlay network) and
// sends P on the host's addresses to the task's T. Shared by the executors and the node's networking.

import type { Task } from './types.js';

/** A port the task publishes on its node (`--publish published=P,target=T,mode=host`). */
export interface HostPortPlan {
  readonly protocol: 'tcp' | 'udp';
  readonly published: number;
  readonly target: number;
}

/**
 * The task's host-mode ports with a published port: the allocator's `Endpoint.Ports` when there are, else
 * the endpoint spec the orchestrator copied into the task. (The control API refuses the rest: ingress mode,
 * no published port, SCTP.)
 */
export function hostPortsOfTask(task: Pick<Task, 'Endpoint'>): HostPortPlan[] {
  const endpoint = task.Endpoint;
  const ports = endpoint?.Ports?.length ? endpoint.Ports : (endpoint?.Spec?.Ports ?? []);
  const out: HostPortPlan[] = [];
  for (const port of ports) {
    if (port.PublishMode !== 'host' || !port.PublishedPort || !port.TargetPort) continue;
    const protocol = port.Protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') continue;
    out.push({ protocol, published: port.PublishedPort, target: port.TargetPort });
  }
  return out;
}

/** Whether the task runs in a namespace of its own: it is on an overlay network, or publishes ports. */
export function needsTaskNamespace(task: Pick<Task, 'NetworksAttachments' | 'Endpoint'>): boolean {
  return (task.NetworksAttachments?.length ?? 0) > 0 || hostPortsOfTask(task).length > 0;
}
