// `/networks…`: list, inspect, create, remove and prune swarm networks — Docker's routes
// (api/server/router/network). shoal has no local networks, so a node that is not a manager lists none and
// finds none, as Docker's daemon answers for the swarm's networks there; creating one on a worker gets
// Docker's refusal. Containers cannot be connected to networks: shoal has none.

import { invalidArgument, isShoalError, notFound, ShoalError, WORKER_NOT_MANAGER } from '../../api/errors.js';
import { NumError, parseBool } from '../../api/strconv.js';
import type { ControlBackend, EngineBackend } from '../backend.js';
import { readBodyAs, struct, str } from '../decode.js';
import { filtersQuery } from '../filters.js';
import { empty, json } from '../http.js';
import type { Router } from '../router.js';
import { NetworkCreateRequestSchema } from '../schemas.js';

/** The filters of `GET /networks` (api/types/network.ValidateFilters). */
export const NETWORK_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
/** The filters of `POST /networks/prune` (daemon/prune.go). */
export const NETWORK_PRUNE_FILTERS = ['label', 'label!', 'until'] as const;

/** The control API when this node is a manager; undefined on a worker or outside a swarm. */
function managerControl(backend: EngineBackend): ControlBackend | undefined {
  try {
    return backend.control();
  } catch (err) {
    if (isShoalError(err) && err.code === 'Unavailable') return undefined;
    throw err;
  }
}

/** `verbose` as the router reads it: strconv.ParseBool, its error wrapped. */
function verboseQuery(query: URLSearchParams): boolean {
  const value = query.get('verbose');
  if (value === null || value === '') return false;
  try {
    return parseBool(value);
  } catch (err) {
    if (err instanceof NumError) throw invalidArgument(`invalid value for verbose: ${value}: ${err.message}`);
    throw err;
  }
}

const ConnectSchema = struct<{ Container?: string }>('types.NetworkConnect', { Container: str() });

export function registerNetworkRoutes(router: Router, backend: EngineBackend): void {
  router.get('/networks', async (ctx) => {
    const filters = filtersQuery(ctx.query, NETWORK_FILTERS);
    const control = managerControl(backend);
    return json(control ? await control.listNetworks(filters) : []);
  });

  router.get('/networks/{id}', async (ctx) => {
    const ref = ctx.params.id!;
    const verbose = verboseQuery(ctx.query);
    const control = managerControl(backend);
    if (!control) throw notFound(`network ${ref} not found`);
    return json(await control.getNetwork(ref, { scope: ctx.query.get('scope') ?? undefined, verbose }));
  });

  router.post('/networks/create', async (ctx) => {
    const request = await readBodyAs(ctx, NetworkCreateRequestSchema);
    let control: ControlBackend;
    try {
      control = backend.control();
    } catch (err) {
      if (isShoalError(err) && err.apiMessage() === WORKER_NOT_MANAGER) {
        throw new ShoalError(
          'PermissionDenied',
          'Cannot create a multi-host network from a worker node. Please create the network from a manager node.',
        );
      }
      throw err;
    }
    return json(await control.createNetwork(request), 201);
  });

  router.delete('/networks/{id}', async (ctx) => {
    const ref = ctx.params.id!;
    const control = managerControl(backend);
    if (!control) throw notFound(`network ${ref} not found`);
    await control.removeNetwork(ref);
    return empty(204);
  });

  router.post('/networks/prune', async (ctx) => {
    const filters = filtersQuery(ctx.query, NETWORK_PRUNE_FILTERS);
    const control = managerControl(backend);
    return json(control ? await control.pruneNetworks(filters) : { NetworksDeleted: null });
  });

  // Swarm networks take tasks, not containers; and shoal has no containers to connect.
  for (const action of ['connect', 'disconnect']) {
    router.post(`/networks/{id}/${action}`, async (ctx) => {
      const body = await readBodyAs(ctx, ConnectSchema);
      throw notFound(`No such container: ${body.Container ?? ''}`);
    });
  }
}

/** The name server.ts registers the network routes under. */
export const registerReferenceRoutes = registerNetworkRoutes;
