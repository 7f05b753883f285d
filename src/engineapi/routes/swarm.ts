// `/swarm…`: init, join, leave, inspect, update, unlock key.

import { invalidArgument, unavailable } from '../../api/errors.js';
import type { SwarmSpec } from '../../api/types.js';
import type { EngineBackend, InitRequest, JoinRequest } from '../backend.js';
import { boolQuery, empty, json, readJsonObject, versionQuery } from '../http.js';
import type { Router } from '../router.js';

export function registerSwarmRoutes(router: Router, backend: EngineBackend): void {
  router.get('/swarm', async () => {
    const cluster = await backend.control().inspectSwarm();
    return json(cluster);
  });

  router.post('/swarm/init', async (ctx) => {
    const body = await readJsonObject(ctx, 'swarm.InitRequest');
    const nodeId = await backend.init(body as InitRequest);
    return json(nodeId);
  });

  router.post('/swarm/join', async (ctx) => {
    const body = await readJsonObject(ctx, 'swarm.JoinRequest');
    await backend.join(body as JoinRequest);
    return empty();
  });

  router.post('/swarm/leave', async (ctx) => {
    await backend.leave(boolQuery(ctx.query, 'force'));
    return empty();
  });

  router.post('/swarm/update', async (ctx) => {
    const control = backend.control();
    const version = versionQuery(ctx.query, 'swarm');
    const spec = await readJsonObject(ctx, 'swarm.Spec');
    await control.updateSwarm(version, spec as SwarmSpec, {
      rotateWorkerToken: boolQuery(ctx.query, 'rotateWorkerToken'),
      rotateManagerToken: boolQuery(ctx.query, 'rotateManagerToken'),
      rotateManagerUnlockKey: boolQuery(ctx.query, 'rotateManagerUnlockKey'),
    });
    return empty();
  });

  router.get('/swarm/unlockkey', async () => {
    const key = await backend.control().unlockKey();
    return json({ UnlockKey: key });
  });

  router.post('/swarm/unlock', async (ctx) => {
    const body = await readJsonObject(ctx, 'swarm.UnlockRequest');
    if (typeof body.UnlockKey !== 'string' || body.UnlockKey === '')
      throw invalidArgument('invalid key string');
    const info = await backend.swarmInfo();
    if (info.LocalNodeState !== 'locked') throw unavailable('swarm is not locked');
    throw invalidArgument('autolock is not supported yet');
  });
}
