// `/secrets…` and `/configs…`: create, list, inspect, update (labels only), remove — Docker's routes
// (api/server/router/swarm), managers only: on a worker `backend.control()` answers Docker's 503 before the
// body is read. A secret's data goes in and never comes out; a config's comes out of list and inspect.

import { invalidArgument } from '../../api/errors.js';
import { NumError, parseUintBig } from '../../api/strconv.js';
import type { EngineBackend } from '../backend.js';
import { readBodyAs } from '../decode.js';
import { filtersQuery } from '../filters.js';
import { empty, json } from '../http.js';
import type { Router } from '../router.js';
import { ConfigSpecSchema, SecretSpecSchema } from '../schemas.js';

/** The filters of `GET /secrets` and `GET /configs` (daemon/cluster/filters.go). */
export const SECRET_FILTERS = ['id', 'label', 'name', 'names'] as const;

/**
 * The `version` of an update. Docker decodes the body first, then answers a missing or bad version with
 * `invalid secret version` (`invalid config version`), without strconv's reason.
 */
function updateVersion(query: URLSearchParams, kind: 'secret' | 'config'): number {
  let version: bigint;
  try {
    version = parseUintBig(query.get('version') ?? '', 10, 64);
  } catch (err) {
    if (err instanceof NumError) throw invalidArgument(`invalid ${kind} version`);
    throw err;
  }
  // Versions are store revisions, far below 2^53; a larger one matches no object and is simply stale.
  return version > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(version);
}

export function registerSecretRoutes(router: Router, backend: EngineBackend): void {
  router.get('/secrets', async (ctx) => {
    const control = backend.control();
    return json(await control.listSecrets(filtersQuery(ctx.query, SECRET_FILTERS)));
  });

  router.post('/secrets/create', async (ctx) => {
    const control = backend.control();
    const spec = await readBodyAs(ctx, SecretSpecSchema);
    return json(await control.createSecret(spec), 201);
  });

  router.get('/secrets/{id}', async (ctx) => json(await backend.control().getSecret(ctx.params.id!)));

  router.post('/secrets/{id}/update', async (ctx) => {
    const control = backend.control();
    const spec = await readBodyAs(ctx, SecretSpecSchema);
    await control.updateSecret(ctx.params.id!, updateVersion(ctx.query, 'secret'), spec);
    return empty();
  });

  router.delete('/secrets/{id}', async (ctx) => {
    await backend.control().removeSecret(ctx.params.id!);
    return empty(204);
  });

  router.get('/configs', async (ctx) => {
    const control = backend.control();
    return json(await control.listConfigs(filtersQuery(ctx.query, SECRET_FILTERS)));
  });

  router.post('/configs/create', async (ctx) => {
    const control = backend.control();
    const spec = await readBodyAs(ctx, ConfigSpecSchema);
    return json(await control.createConfig(spec), 201);
  });

  router.get('/configs/{id}', async (ctx) => json(await backend.control().getConfig(ctx.params.id!)));

  router.post('/configs/{id}/update', async (ctx) => {
    const control = backend.control();
    const spec = await readBodyAs(ctx, ConfigSpecSchema);
    await control.updateConfig(ctx.params.id!, updateVersion(ctx.query, 'config'), spec);
    return empty();
  });

  router.delete('/configs/{id}', async (ctx) => {
    await backend.control().removeConfig(ctx.params.id!);
    return empty(204);
  });
}
