// How stored objects look through the Engine API: the Docker shapes, without shoal's internal
// bookkeeping fields, with the conversion artefacts Docker's daemon adds (so `inspect` output and
// read-modify-write round trips match Docker's), and with the fields in the order Docker's daemon writes
// them (its Go structs'), which `docker inspect` of a task shows as it is. Go's `omitempty` fields that are
// empty are left out, the others are always there; test/e2e/docker-json.test.ts compares the result with
// what a real Docker 20.10 engine answered for the same commands.

import type {
  Config,
  ConfigSpec,
  ContainerStatus,
  Node,
  NodeSpec,
  ObjectVersion,
  Secret,
  SecretSpec,
  Service,
  ServiceSpec,
  Task,
  TaskSpec,
  TaskStatus,
} from '../../api/types.js';
import { presentAttachment } from './present-network.js';

// Registry credentials (`ContainerSpec.PullOptions`, from `--with-registry-auth`) never leave the manager
// through the API: Docker's ContainerSpec has no such field, and only the nodes that run a task of the
// service get them, in their assignments.

function presentSpec(spec: ServiceSpec): ServiceSpec {
  const out = structuredClone(spec);
  const task = (out.TaskTemplate ??= {});
  if (task.ContainerSpec) {
    delete task.ContainerSpec.PullOptions;
    task.ContainerSpec.Isolation ??= 'default';
    task.ForceUpdate ??= 0;
    task.Runtime ??= 'container';
  }
  return out;
}

/** A Go `Version` (`Index` is omitempty): `{}` for index 0. */
const presentVersion = (version: ObjectVersion): ObjectVersion =>
  version.Index ? { Index: version.Index } : ({} as ObjectVersion);

const nonEmpty = <T>(list: readonly T[] | undefined): list is T[] => (list?.length ?? 0) > 0;

export function presentService(service: Service, status?: Service['ServiceStatus']): Service {
  const out: Service = {
    ID: service.ID,
    Version: service.Version,
    CreatedAt: service.CreatedAt,
    UpdatedAt: service.UpdatedAt,
    Spec: presentSpec(service.Spec),
  };
  if (service.PreviousSpec) out.PreviousSpec = presentSpec(service.PreviousSpec);
  // Go's Endpoint is a struct, not a pointer: a service the allocator never touched shows an empty one.
  out.Endpoint = { ...service.Endpoint, Spec: service.Endpoint?.Spec ?? {} };
  if (service.UpdateStatus) out.UpdateStatus = service.UpdateStatus;
  if (status) out.ServiceStatus = status;
  if (service.JobStatus) {
    out.JobStatus = {
      JobIteration: presentVersion(service.JobStatus.JobIteration),
      ...(service.JobStatus.LastExecution !== undefined
        ? { LastExecution: service.JobStatus.LastExecution }
        : {}),
    };
  }
  return out;
}

/**
 * A task as Docker's daemon shows it (moby's swarm.Task): only the API's fields — the internal ones
 * (`ServiceAnnotations`, `SpecVersion`, `Endpoint`, `AppliedAt`, `LogDriver`, `Health`: the agent's health
 * reports serve updates and `service ps`; Docker's task JSON has no health) stay in the store.
 */
export function presentTask(task: Task): Task {
  // No deep copy: task listings are polled every 200 ms by converging clients, and the response is
  // serialized at once. The spec already carries Docker's conversion defaults (normalizeServiceSpec).
  const out: Partial<Task> = {
    ID: task.ID,
    Version: task.Version,
    CreatedAt: task.CreatedAt,
    UpdatedAt: task.UpdatedAt,
  };
  if (task.Name) out.Name = task.Name;
  out.Labels = task.Labels ?? {};
  out.Spec = presentTaskSpec(task.Spec);
  if (task.ServiceID) out.ServiceID = task.ServiceID;
  if (task.Slot) out.Slot = task.Slot;
  if (task.NodeID) out.NodeID = task.NodeID;
  out.Status = presentTaskStatus(task.Status);
  if (task.DesiredState) out.DesiredState = task.DesiredState;
  if (nonEmpty(task.NetworksAttachments))
    out.NetworksAttachments = task.NetworksAttachments.map(presentAttachment);
  if (nonEmpty(task.AssignedGenericResources)) out.AssignedGenericResources = task.AssignedGenericResources;
  if (task.JobIteration) out.JobIteration = presentVersion(task.JobIteration);
  return out as Task;
}

/**
 * Docker writes `Runtime` into a service's task template only, never into a task's spec; and the registry
 * credentials stay in the store. Copied only as far as needed (task listings are hot).
 */
function presentTaskSpec(spec: TaskSpec): TaskSpec {
  if (spec.Runtime === undefined && spec.ContainerSpec?.PullOptions === undefined) return spec;
  const { Runtime: _runtime, ...rest } = spec;
  if (rest.ContainerSpec?.PullOptions !== undefined) {
    const { PullOptions: _credentials, ...container } = rest.ContainerSpec;
    rest.ContainerSpec = container;
  }
  return rest;
}

function presentTaskStatus(status: TaskStatus): TaskStatus {
  const out: Partial<TaskStatus> = {};
  if (status.Timestamp) out.Timestamp = status.Timestamp;
  if (status.State) out.State = status.State;
  if (status.Message) out.Message = status.Message;
  if (status.Err) out.Err = status.Err;
  if (status.ContainerStatus) out.ContainerStatus = presentContainerStatus(status.ContainerStatus);
  // A struct in Go (always there), whose Ports are omitempty.
  out.PortStatus = nonEmpty(status.PortStatus?.Ports) ? { Ports: status.PortStatus.Ports } : {};
  return out as TaskStatus;
}

/** No omitempty: all three fields, PID 0 once the process is gone, ExitCode 0 while it runs. */
const presentContainerStatus = (c: ContainerStatus): ContainerStatus => ({
  ContainerID: c.ContainerID ?? '',
  PID: c.PID ?? 0,
  ExitCode: c.ExitCode ?? 0,
});

export function presentNode(node: Node, leaderId: string | undefined): Node {
  const out: Node = {
    ID: node.ID,
    Version: node.Version,
    CreatedAt: node.CreatedAt,
    UpdatedAt: node.UpdatedAt,
    Spec: presentNodeSpec(node.Spec),
    Description: node.Description,
    Status: node.Status,
  };
  if (node.ManagerStatus) {
    const { Leader: _leader, ...rest } = node.ManagerStatus;
    out.ManagerStatus = node.ID === leaderId ? { Leader: true, ...rest } : rest;
  }
  return out;
}

function presentNodeSpec(spec: NodeSpec): NodeSpec {
  const out: NodeSpec = {};
  if (spec.Name) out.Name = spec.Name;
  out.Labels = spec.Labels ?? {};
  if (spec.Role) out.Role = spec.Role;
  if (spec.Availability) out.Availability = spec.Availability;
  return out;
}

/** A secret never leaves the manager with its data. Fields in the order of moby's swarm.Secret. */
export function presentSecret(secret: Secret): Secret {
  const spec: SecretSpec = { Name: secret.Spec.Name, Labels: secret.Spec.Labels ?? {} };
  if (secret.Spec.Driver) spec.Driver = secret.Spec.Driver;
  if (secret.Spec.Templating) spec.Templating = secret.Spec.Templating;
  return { ...presentMeta(secret), Spec: spec };
}

/** A config leaves with its data (Docker's `GET /configs` returns it). */
export function presentConfig(config: Config): Config {
  const spec: ConfigSpec = { Name: config.Spec.Name, Labels: config.Spec.Labels ?? {} };
  if (config.Spec.Data) spec.Data = config.Spec.Data;
  if (config.Spec.Templating) spec.Templating = config.Spec.Templating;
  return { ...presentMeta(config), Spec: spec };
}

const presentMeta = (object: Secret | Config): Omit<Secret, 'Spec'> => ({
  ID: object.ID,
  Version: object.Version,
  CreatedAt: object.CreatedAt,
  UpdatedAt: object.UpdatedAt,
});
