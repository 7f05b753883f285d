// `/services…`: create, list, inspect, update, remove, logs.

import type { EngineBackend, ServiceUpdateOptions } from '../backend.js';
import { filtersQuery } from '../filters.js';
import { readBodyAs } from '../decode.js';
import { boolQuery, empty, json, versionQuery, type RequestContext } from '../http.js';
import { ServiceSpecSchema } from '../schemas.js';
import type { Router } from '../router.js';
import { parseLogsRequest, streamLogs } from './logs.js';

export const SERVICE_FILTERS = ['id', 'label', 'mode', 'name'] as const;

/** `X-Registry-Auth` (`--with-registry-auth`): credentials kept with the spec, never logged or shown. */
export function registryAuthHeader(ctx: RequestContext): { registryAuth?: string } {
  const header = ctx.req.headers['x-registry-auth'];
  const value = Array.isArray(header) ? header[0] : header;
  return value ? { registryAuth: value } : {};
}

export function registerServiceRoutes(router: Router, backend: EngineBackend): void {
  router.get('/services', async (ctx) => {
    const control = backend.control();
    const filters = filtersQuery(ctx.query, SERVICE_FILTERS);
    return json(await control.listServices(filters, boolQuery(ctx.query, 'status')));
  });

  router.post('/services/create', async (ctx) => {
    const control = backend.control();
    const spec = await readBodyAs(ctx, ServiceSpecSchema);
    const result = await control.createService(spec, ctx.version, registryAuthHeader(ctx));
    return json(result.Warnings?.length ? result : { ID: result.ID }, 201);
  });

  router.get('/services/{id}', async (ctx) =>
    json(await backend.control().getService(ctx.params.id!, boolQuery(ctx.query, 'insertDefaults'))),
  );

  router.post('/services/{id}/update', async (ctx) => {
    const control = backend.control();
    const version = versionQuery(ctx.query, 'service');
    const spec = await readBodyAs(ctx, ServiceSpecSchema);
    const options: ServiceUpdateOptions = registryAuthHeader(ctx);
    const rollback = ctx.query.get('rollback');
    if (rollback) options.rollback = rollback;
    const authFrom = ctx.query.get('registryAuthFrom');
    if (authFrom) options.registryAuthFrom = authFrom;
    return json(await control.updateService(ctx.params.id!, version, spec, options, ctx.version));
  });

  router.delete('/services/{id}', async (ctx) => {
    await backend.control().removeService(ctx.params.id!);
    return empty();
  });

  router.get('/services/{id}/logs', async (ctx) => {
    const control = backend.control();
    const request = parseLogsRequest(ctx.query);
    return streamLogs(ctx, request, control.serviceLogs(ctx.params.id!, request, ctx.signal));
  });
}
