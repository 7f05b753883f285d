// swarmkit's placeholders in ContainerSpec.Hostname and Env values (`--hostname "{{.Node.Hostname}}-{{.Task.Slot}}"`),
// expanded by the executor as Docker's does (swarmkit template.ExpandContainerSpec). The fields of Go's
// template context are supported, plus `index .Service.Labels "key"`; any other template is refused
// rather than left half-expanded.

import { ownString, ownValue } from '../../../api/own.js';
import type { ContainerSpec, Task } from '../../../api/types.js';

export interface TemplateNode {
  hostname: string;
  os: string;
  architecture: string;
}

const PLACEHOLDER = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/** The spec with its Hostname and Env values expanded for this task on this node. */
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
  };
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
