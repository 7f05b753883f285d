// swarmkit's placeholders in ContainerSpec.Hostname, Env values and mounts (`--hostname
// "{{.Node.Hostname}}-{{.Task.Slot}}"`, `--mount source=data-{{.Task.Slot}},target=/data`), expanded by the
// executors as Docker's does (swarmkit template.ExpandContainerSpec: the hostname, env values, and a
// mount's source, target, volume labels and volume driver options). The fields of Go's template context
// are supported, plus `index .Service.Labels "key"`; any other template is refused rather than left
// half-expanded.

import { ownString, ownValue, setOwn } from '../../api/own.js';
import type { ContainerSpec, Mount, Task } from '../../api/types.js';

export interface TemplateNode {
  hostname: string;
  os: string;
  architecture: string;
}

const PLACEHOLDER = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/** The spec with its Hostname, Env values and mounts expanded for this task on this node. */
export function expandContainerSpec(spec: ContainerSpec, task: Task, node: TemplateNode): ContainerSpec {
  const fields = templateFields(task, node);
  const labels = task.ServiceAnnotations?.Labels ?? {};
  const expand = (value: string): string =>
    value.replace(PLACEHOLDER, (whole, expression: string) => {
      // The template and the label names are the user's: only own entries (`{{constructor}}` is no field).
      const field = ownValue(fields, expression);
      if (field !== undefined) return field;
      const label = /^index \.Service\.Labels "([^"]*)"$/.exec(expression);
      if (label) return ownString(labels, label[1]!) ?? '';
      throw new Error(`failed to expand ${whole} in the container spec: unsupported template`);
    });
  return {
    ...spec,
    Hostname: spec.Hostname === undefined ? undefined : expand(spec.Hostname),
    Env: spec.Env?.map((entry) => {
      const equals = entry.indexOf('=');
      return equals === -1 ? entry : entry.slice(0, equals + 1) + expand(entry.slice(equals + 1));
    }),
    Mounts: spec.Mounts?.map((mount) => expandMount(mount, expand)),
  };
}

/** A mount's string fields, as swarmkit's expandMounts: source, target, volume labels and driver options. */
function expandMount(mount: Mount, expand: (value: string) => string): Mount {
  const expanded: Mount = { ...mount };
  if (mount.Source !== undefined) expanded.Source = expand(mount.Source);
  if (mount.Target !== undefined) expanded.Target = expand(mount.Target);
  const volume = mount.VolumeOptions;
  if (volume) {
    const copy: Record<string, unknown> = { ...volume };
    if (isStringMap(volume.Labels)) copy.Labels = expandValues(volume.Labels, expand);
    const driver = volume.DriverConfig;
    if (typeof driver === 'object' && driver !== null) {
      const driverCopy: Record<string, unknown> = { ...(driver as Record<string, unknown>) };
      const options = (driver as Record<string, unknown>).Options;
      if (isStringMap(options)) driverCopy.Options = expandValues(options, expand);
      copy.DriverConfig = driverCopy;
    }
    expanded.VolumeOptions = copy;
  }
  return expanded;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of the map with every value expanded (the keys are the user's: own entries only). */
function expandValues(
  map: Record<string, string>,
  expand: (value: string) => string,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(map))
    if (typeof value === 'string') setOwn(result, key, expand(value));
  return result;
}

function templateFields(task: Task, node: TemplateNode): Record<string, string> {
  const serviceName = task.ServiceAnnotations?.Name ?? '';
  // swarmkit's slot for a global task (slot 0) is the node's ID.
  const slot = task.Slot ? String(task.Slot) : (task.NodeID ?? '');
  return {
    '.Service.ID': task.ServiceID,
    '.Service.Name': serviceName,
    '.Node.ID': task.NodeID ?? '',
    '.Node.Hostname': node.hostname,
    '.Node.Platform.OS': node.os,
    '.Node.Platform.Architecture': node.architecture,
    '.Task.ID': task.ID,
    '.Task.Name': task.Name || `${serviceName}.${slot}.${task.ID}`,
    '.Task.Slot': slot,
  };
}
