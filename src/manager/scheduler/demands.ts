// What a task claims from the node it runs on: reserved CPU and memory, and host-mode published ports.

import type { EndpointPortConfig, Task } from '../../api/types.js';

export interface Reservation {
  readonly nanoCPUs: number;
  readonly memoryBytes: number;
}

export function reservationOf(task: Task): Reservation {
  const reservations = task.Spec.Resources?.Reservations;
  return { nanoCPUs: reservations?.NanoCPUs ?? 0, memoryBytes: reservations?.MemoryBytes ?? 0 };
}

export const reservesAnything = (r: Reservation): boolean => r.nanoCPUs > 0 || r.memoryBytes > 0;

/** A (protocol, port) pair in one string, so that ports can live in a Set. */
export type HostPortKey = `${string}/${number}`;

/**
 * Host-mode ports with an explicit published port. The allocator's `Endpoint.Ports` win when present;
 * before allocation the endpoint spec the orchestrator copied into the task says the same thing. Host-mode
 * ports without a published port are chosen by the node itself and never conflict.
 */
export function hostPortsOf(task: Task): HostPortKey[] {
  const endpoint = task.Endpoint;
  const ports: readonly EndpointPortConfig[] = endpoint?.Ports?.length
    ? endpoint.Ports
    : (endpoint?.Spec?.Ports ?? []);
  const keys: HostPortKey[] = [];
  for (const port of ports) {
    if (port.PublishMode === 'host' && port.PublishedPort) {
      keys.push(`${port.Protocol ?? 'tcp'}/${port.PublishedPort}`);
    }
  }
  return keys;
}
