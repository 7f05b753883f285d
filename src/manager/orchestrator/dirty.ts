// "Is this task outdated?" (swarmkit orchestrator.IsTaskDirty). The update supervisor uses it to
// pick the slots to replace, and the Engine API's `_up-to-date` task filter to hide old tasks.

import { atLeast, atMost } from '../../api/taskstate.js';
import type { ContainerSpec, EndpointSpec, Node, Service, Task, TaskSpec } from '../../api/types.js';
import { jsonEqualIgnoringEmpty } from '../../api/json-equal.js';
import { isRunnable, nodeSatisfies, serviceConstraints } from './task-rules.js';

/**
 * True when the task no longer matches its service's spec:
 * 1. equal SpecVersions → clean (the fast path: the task was made from this very spec);
 * 2. only `Placement.Constraints` changed and `node` (the task's node) satisfies the new ones → clean,
 *    so a constraint edit does not restart tasks that may stay where they are;
 * 3. a task that is (meant to be) up and has pulled its image ignores a `PullOptions`-only change;
 * 4. otherwise dirty iff the TaskSpec or the endpoint spec differs.
 */
export function isTaskDirty(
  service: Readonly<Service>,
  task: Readonly<Task>,
  node?: Readonly<Node> | undefined,
): boolean {
  if (task.SpecVersion && service.SpecVersion && task.SpecVersion.Index === service.SpecVersion.Index) {
    return false;
  }
  const wanted = serviceTaskSpecFor(service, task);
  const endpointChanged =
    task.Endpoint !== undefined &&
    !jsonEqualIgnoringEmpty(
      normalizeEndpointSpec(service.Spec.EndpointSpec),
      normalizeEndpointSpec(task.Endpoint.Spec),
    );
  if (endpointChanged) return true;
  if (jsonEqualIgnoringEmpty(wanted, task.Spec)) return false;
  // Rule 2 needs the rest of the spec (including the endpoint, checked above) to be unchanged; swarmkit
  // skips the endpoint here, which would hide a port change made together with a constraint change.
  return !(
    onlyConstraintsDiffer(wanted, task.Spec) &&
    node !== undefined &&
    nodeSatisfies(serviceConstraints(service), node)
  );
}

/** A slot needs updating when it holds more than one task or its only task is dirty. */
export function isSlotDirty(
  service: Readonly<Service>,
  slot: readonly Readonly<Task>[],
  nodeOfTask: (task: Readonly<Task>) => Readonly<Node> | undefined,
): boolean {
  if (slot.length !== 1) return slot.length > 1;
  return isTaskDirty(service, slot[0]!, nodeOfTask(slot[0]!));
}

/**
 * The service's TaskSpec as this task should have it. swarmkit ignores `PullOptions` (the registry
 * credentials of `--with-registry-auth`) for a task that is desired ≤ RUNNING and observed READY..RUNNING:
 * it already has its image, so new credentials alone must not restart it.
 */
function serviceTaskSpecFor(service: Readonly<Service>, task: Readonly<Task>): TaskSpec {
  const spec = service.Spec.TaskTemplate ?? {};
  const hasImage =
    isRunnable(task) && atLeast(task.Status.State, 'ready') && atMost(task.Status.State, 'running');
  if (!hasImage || !spec.ContainerSpec || !task.Spec.ContainerSpec) return spec;
  const container: ContainerSpec = {
    ...spec.ContainerSpec,
    PullOptions: task.Spec.ContainerSpec.PullOptions,
  };
  return { ...spec, ContainerSpec: container };
}

function onlyConstraintsDiffer(wanted: TaskSpec, actual: TaskSpec): boolean {
  const withoutConstraints = (spec: TaskSpec): TaskSpec => ({
    ...spec,
    Placement: { ...spec.Placement, Constraints: undefined },
  });
  return (
    !jsonEqualIgnoringEmpty(wanted.Placement?.Constraints, actual.Placement?.Constraints) &&
    jsonEqualIgnoringEmpty(withoutConstraints(wanted), withoutConstraints(actual))
  );
}

/** `{}` and `{Mode: 'vip'}` and no spec at all are the same endpoint (VIP is the default mode). */
function normalizeEndpointSpec(spec: EndpointSpec | undefined): EndpointSpec {
  return { ...spec, Mode: spec?.Mode ?? 'vip', Ports: spec?.Ports?.length ? spec.Ports : undefined };
}
