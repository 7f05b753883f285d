// Published ports as nodes carry them out. Host mode (`--publish published=P,target=T,mode=host`): the
// node's networking gives such a task a namespace of its own (even on no overlay network) and sends P on
// the host's addresses to the task's T. Ingress mode (the routing mesh, Docker's default): every node sends
// P to one serving task of the service, over the ingress network. Shared by the executors, the managers'
// node views and the node's networking.

import type { MeshPort } from './networks.js';
import type { Endpoint, Task } from './types.js';

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

/**
 * The ports a service publishes through the routing mesh: its `Endpoint.Ports` in ingress mode (the
 * default), each with the published port the control API gave it, TCP or UDP.
 */
export function meshPortsOf(endpoint: Pick<Endpoint, 'Ports'> | undefined): MeshPort[] {
  const out: MeshPort[] = [];
  for (const port of endpoint?.Ports ?? []) {
    if ((port.PublishMode ?? 'ingress') !== 'ingress' || !port.PublishedPort || !port.TargetPort) continue;
    const protocol = port.Protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') continue;
    out.push({ protocol, published: port.PublishedPort, target: port.TargetPort });
  }
  return out;
}
