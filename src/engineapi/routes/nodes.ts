// `/nodes…`: list, inspect, update, remove.

import type { NodeSpec } from '../../api/types.js';
import type { EngineBackend } from '../backend.js';
import { Filters } from '../../api/filters.js';
import { boolQuery, empty, json, readJsonObject, versionQuery } from '../http.js';
import type { Router } from '../router.js';

export const NODE_FILTERS = ['id', 'label', 'name', 'node.label', 'membership', 'role'] as const;

export function registerNodeRoutes(router: Router, backend: EngineBackend): void {
  router.get('/nodes', async (ctx) => {
    const control = backend.control();
    const filters = Filters.parse(ctx.query.get('filters'), NODE_FILTERS);
    return json(await control.listNodes(filters));
  });

  router.get('/nodes/{id}', async (ctx) => json(await backend.control().getNode(ctx.params.id!)));

  router.post('/nodes/{id}/update', async (ctx) => {
    const control = backend.control();
    const version = versionQuery(ctx.query, 'node');
    const spec = await readJsonObject(ctx, 'swarm.NodeSpec');
    await control.updateNode(ctx.params.id!, version, spec as NodeSpec);
    return empty();
  });

  router.delete('/nodes/{id}', async (ctx) => {
    await backend.control().removeNode(ctx.params.id!, boolQuery(ctx.query, 'force'));
    return empty();
  });
}
