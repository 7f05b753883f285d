// `/networks…`: list, inspect, create, remove and prune swarm networks — Docker's routes
// (api/server/router/network). shoal has no local networks, so a node that is not a manager lists none and
// finds none, as Docker's daemon answers for the swarm's networks there; creating one on a worker gets
// Docker's refusal. Containers cannot be connected to networks: shoal has none.
//
// With the node's engine behind the socket, a node shows both, as a Swarm node's dockerd does: the list is
// the engine's local networks followed by the swarm's; a name or ID that is not a swarm network is the
// engine's to look up, remove, connect or disconnect; a network of another driver than overlay is created
// on the engine; prune prunes both.

import { invalidArgument, isShoalError, notFound, ShoalError, WORKER_NOT_MANAGER } from '../../api/errors.js';
import { NumError, parseBool } from '../../api/strconv.js';
import type { ControlBackend, EngineBackend } from '../backend.js';
import type { EngineProxy } from '../engine-proxy.js';
import { decodeBody, readBodyAs, struct, str } from '../decode.js';
import { filtersQuery } from '../filters.js';
import { empty, json, passToEngine, readBody } from '../http.js';
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

export function registerNetworkRoutes(router: Router, backend: EngineBackend, engine?: EngineProxy): void {
  router.get('/networks', async (ctx) => {
    const filters = filtersQuery(ctx.query, NETWORK_FILTERS);
    const control = managerControl(backend);
    const swarm = control ? await control.listNetworks(filters) : [];
    if (!engine) return json(swarm);
    const query = ctx.query.toString();
    const local = (await engine.getJson(`/networks${query ? `?${query}` : ''}`, 10_000)) as {
      Scope?: string;
    }[];
    return json([...local.filter((network) => network.Scope !== 'swarm'), ...swarm]);
  });

  router.get('/networks/{id}', async (ctx) => {
    const ref = ctx.params.id!;
    const verbose = verboseQuery(ctx.query);
    const control = managerControl(backend);
    try {
      if (!control) throw notFound(`network ${ref} not found`);
      return json(await control.getNetwork(ref, { scope: ctx.query.get('scope') ?? undefined, verbose }));
    } catch (err) {
      if (engine && isNotFound(err)) return passToEngine();
      throw err;
    }
  });

  router.post('/networks/create', async (ctx) => {
    const body = await readBody(ctx.req);
    const request = decodeBody(body, NetworkCreateRequestSchema);
    const driver = request.Driver || (engine ? 'bridge' : 'overlay');
    if (engine && driver !== 'overlay' && request.Scope !== 'swarm') return passToEngine(body);
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
    try {
      if (!control) throw notFound(`network ${ref} not found`);
      await control.removeNetwork(ref);
      return empty(204);
    } catch (err) {
      if (engine && isNotFound(err)) return passToEngine();
      throw err;
    }
  });

  router.post('/networks/prune', async (ctx) => {
    const filters = filtersQuery(ctx.query, NETWORK_PRUNE_FILTERS);
    const control = managerControl(backend);
    const swarm = control ? await control.pruneNetworks(filters) : { NetworksDeleted: null };
    if (!engine) return json(swarm);
    const query = ctx.query.toString();
    const answer = await engine.request('POST', `/networks/prune${query ? `?${query}` : ''}`, {
      timeoutMs: 60_000,
    });
    const local = (await readJson(answer)) as { NetworksDeleted?: string[] | null };
    const deleted = [...(local.NetworksDeleted ?? []), ...(swarm.NetworksDeleted ?? [])];
    return json({ NetworksDeleted: deleted.length > 0 ? deleted : null });
  });

  // Swarm networks take tasks, not containers: connecting is the engine's business, when there is one.
  for (const action of ['connect', 'disconnect']) {
    router.post(`/networks/{id}/${action}`, async (ctx) => {
      if (engine) return passToEngine();
      const body = await readBodyAs(ctx, ConnectSchema);
      throw notFound(`No such container: ${body.Container ?? ''}`);
    });
  }
}

const isNotFound = (err: unknown): boolean => isShoalError(err) && err.code === 'NotFound';

/** An engine answer's JSON body. */
async function readJson(answer: NodeJS.ReadableStream): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of answer) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}
