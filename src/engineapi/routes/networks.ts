// `/networks…`: only what a service spec's references are looked up with for now. shoal has no networks
// yet, so the list is empty and every name is unknown — which is what makes the docker CLI refuse
// `--network x` with Docker's own `network x not found` instead of shoal storing a reference to nothing.
// (Secrets and configs have their own routes, in secrets.ts.)

import { notFound } from '../../api/errors.js';
import type { EngineBackend } from '../backend.js';
import { filtersQuery } from '../filters.js';
import { json } from '../http.js';
import type { Router } from '../router.js';

export const NETWORK_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;

export function registerReferenceRoutes(
  router: Router,
  _backend: EngineBackend,
  options: { networksOnEngine: boolean },
): void {
  // With an engine behind the socket, every network call is the engine's (its local networks, as a Swarm
  // node's dockerd lists them): shoal has no networks of its own yet, and answering the lookups here
  // would hide the networks `docker network create` makes there. The engine answers a lookup with
  // `scope=swarm` (the CLI's for `service create --network`) with the same 404.
  if (!options.networksOnEngine) {
    router.get('/networks', async (ctx) => {
      filtersQuery(ctx.query, NETWORK_FILTERS);
      return json([]);
    });

    router.get('/networks/{id}', async (ctx) => {
      throw notFound(`network ${ctx.params.id!} not found`);
    });
  }
}
