// `/nodes…`: list, inspect, update, remove.

import type { EngineBackend } from '../backend.js';
import { filtersQuery } from '../filters.js';
import { readBodyAs } from '../decode.js';
import { boolQuery, empty, json, versionQuery } from '../http.js';
import { NodeSpecSchema } from '../schemas.js';
import type { Router } from '../router.js';

export const NODE_FILTERS = ['id', 'label', 'name', 'node.label', 'membership', 'role'] as const;

export function registerNodeRoutes(router: Router, backend: EngineBackend): void {
  router.get('/nodes', async (ctx) => {
    const control = backend.control();
    const filters = filtersQuery(ctx.query, NODE_FILTERS);
    return json(await control.listNodes(filters));
  });

  router.get('/nodes/{id}', async (ctx) => json(await backend.control().getNode(ctx.params.id!)));

  router.post('/nodes/{id}/update', async (ctx) => {
    const control = backend.control();
    const version = versionQuery(ctx.query, 'node');
    const spec = await readBodyAs(ctx, NodeSpecSchema);
    await control.updateNode(ctx.params.id!, version, spec);
    return empty();
  });

  router.delete('/nodes/{id}', async (ctx) => {
    await backend.control().removeNode(ctx.params.id!, boolQuery(ctx.query, 'force'));
    return empty();
  });
}
