// What a live view of the swarm (the dashboard) reads through the control API: which nodes, services and
// tasks each committed write touched, and those objects as the Engine API shows them, read together in one
// snapshot. Following the store's watch costs a few IDs per write; reading happens when the reader wants,
// so it decides how much to coalesce.

import type { ChangedObjects, ObjectsQuery, ObjectsRead, TaskReading } from '../../api/control.js';
import type { Service, Task } from '../../api/types.js';
import type { ObjectEventBatch, ReadTx } from '../../store/objects.js';
import { presentNode, presentService } from './present.js';
import { serviceStatus } from './services.js';

/** The IDs of the nodes, services and tasks one committed batch wrote (nothing for other kinds). */
export function changedObjects(batch: ObjectEventBatch): ChangedObjects | undefined {
  const changed: ChangedObjects = { revision: batch.revision, nodes: [], services: [], tasks: [] };
  for (const event of batch.events) {
    if (event.kind === 'node') changed.nodes.push(event.object.ID);
    else if (event.kind === 'service') changed.services.push(event.object.ID);
    else if (event.kind === 'task') changed.tasks.push(event.object.ID);
  }
  return changed.nodes.length + changed.services.length + changed.tasks.length > 0 ? changed : undefined;
}

export interface ReadContext {
  revision: number;
  leaderId: string | undefined;
  /** The task as the Engine API shows it. */
  present(task: Task): Task;
  /** The orchestrator's dirty check, negated (the `_up-to-date` filter). */
  isUpToDate(task: Task, service: Service): boolean;
}

/** The objects `query` names, as the Engine API shows them, and those that no longer exist. */
export function readObjects(tx: ReadTx, query: ObjectsQuery, context: ReadContext): ObjectsRead {
  const out: ObjectsRead = {
    revision: context.revision,
    nodes: [],
    services: [],
    tasks: [],
    missing: { nodes: [], services: [], tasks: [] },
  };
  const nodes =
    query === 'all' ? tx.list('node') : pick(query.nodes, (id) => tx.get('node', id), out.missing.nodes);
  for (const node of nodes) out.nodes.push(presentNode(node, context.leaderId));
  const services =
    query === 'all'
      ? tx.list('service')
      : pick(query.services, (id) => tx.get('service', id), out.missing.services);
  for (const service of services)
    out.services.push(presentService(service, serviceStatus(service, tx.tasksByService(service.ID))));
  const tasks =
    query === 'all' ? tx.list('task') : pick(query.tasks, (id) => tx.get('task', id), out.missing.tasks);
  for (const task of tasks) out.tasks.push(readTask(tx, task, context));
  return out;
}

function readTask(tx: ReadTx, task: Task, context: ReadContext): TaskReading {
  const service = tx.get('service', task.ServiceID);
  const reading: TaskReading = {
    task: context.present(task),
    upToDate: service !== undefined && context.isUpToDate(task, service),
  };
  if (task.Health) reading.health = task.Health.Status;
  return reading;
}

function pick<T>(ids: readonly string[], get: (id: string) => T | undefined, missing: string[]): T[] {
  const found: T[] = [];
  for (const id of new Set(ids)) {
    const object = get(id);
    if (object) found.push(object);
    else missing.push(id);
  }
  return found;
}
