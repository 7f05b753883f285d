// How stored objects look through the Engine API: the Docker shapes, without shoal's internal
// bookkeeping fields, with the conversion artefacts Docker's daemon adds (so `inspect` output and
// read-modify-write round trips match Docker's).

import type { Node, Secret, Service, ServiceSpec, Task } from '../../api/types.js';

function presentSpec(spec: ServiceSpec): ServiceSpec {
  const out = structuredClone(spec);
  const task = (out.TaskTemplate ??= {});
  if (task.ContainerSpec) {
    task.ContainerSpec.Isolation ??= 'default';
    task.ForceUpdate ??= 0;
    task.Runtime ??= 'container';
  }
  return out;
}

export function presentService(service: Service): Service {
  const { SpecVersion: _sv, PreviousSpecVersion: _psv, ...rest } = service;
  const out: Service = { ...rest, Spec: presentSpec(service.Spec) };
  if (service.PreviousSpec) out.PreviousSpec = presentSpec(service.PreviousSpec);
  return out;
}

export function presentTask(task: Task): Task {
  const {
    ServiceAnnotations: _annotations,
    SpecVersion: _specVersion,
    Endpoint: _endpoint,
    AppliedAt: _appliedAt,
    ...rest
  } = task;
  // No deep copy: task listings are polled every 200 ms by converging clients, and the response is
  // serialized at once. The spec already carries Docker's conversion defaults (normalizeServiceSpec).
  return { ...rest, Labels: task.Labels ?? {} };
}

export function presentNode(node: Node, leaderId: string | undefined): Node {
  const { Role: _observedRole, ...rest } = node;
  const out: Node = { ...rest, Spec: { Labels: {}, ...node.Spec } };
  if (node.ManagerStatus)
    out.ManagerStatus = { ...node.ManagerStatus, Leader: node.ID === leaderId || undefined };
  if (out.ManagerStatus && !out.ManagerStatus.Leader) delete out.ManagerStatus.Leader;
  return out;
}

/** A secret never leaves the manager with its data. */
export function presentSecret(secret: Secret): Secret {
  const { Data: _data, ...spec } = secret.Spec;
  return { ...secret, Spec: spec };
}
