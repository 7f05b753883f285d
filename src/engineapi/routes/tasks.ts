// `/tasks…`: list (with the CLI's hidden `_up-to-date` filter), inspect, logs.

import type { EngineBackend } from '../backend.js';
import { filtersQuery } from '../filters.js';
import { json, jsonList } from '../http.js';
import type { Router } from '../router.js';
import { parseLogsRequest, streamLogs } from './logs.js';

export const TASK_FILTERS = [
  '_up-to-date',
  'desired-state',
  'id',
  'label',
  'name',
  'node',
  'service',
] as const;

export function registerTaskRoutes(router: Router, backend: EngineBackend): void {
  router.get('/tasks', async (ctx) => {
    const control = backend.control();
    const filters = filtersQuery(ctx.query, TASK_FILTERS);
    return jsonList(await control.listTasks(filters));
  });

  router.get('/tasks/{id}', async (ctx) => json(await backend.control().getTask(ctx.params.id!)));

  router.get('/tasks/{id}/logs', async (ctx) => {
    const control = backend.control();
    const request = parseLogsRequest(ctx.query);
    return streamLogs(ctx, request, control.taskLogs(ctx.params.id!, request, ctx.signal));
  });
}
