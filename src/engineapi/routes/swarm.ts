// `/swarm…`: init, join, leave, inspect, update, unlock key.

import { invalidArgument } from '../../api/errors.js';
import type { EngineBackend } from '../backend.js';
import { readBodyAs } from '../decode.js';
import { boolQuery, empty, json, versionQuery } from '../http.js';
import { InitRequestSchema, JoinRequestSchema, SwarmSpecSchema, UnlockRequestSchema } from '../schemas.js';
import type { Router } from '../router.js';

export function registerSwarmRoutes(router: Router, backend: EngineBackend): void {
  router.get('/swarm', async () => {
    const cluster = await backend.control().inspectSwarm();
    return json(cluster);
  });

  router.post('/swarm/init', async (ctx) => {
    const nodeId = await backend.init(await readBodyAs(ctx, InitRequestSchema));
    return json(nodeId);
  });

  router.post('/swarm/join', async (ctx) => {
    await backend.join(await readBodyAs(ctx, JoinRequestSchema));
    return empty();
  });

  router.post('/swarm/leave', async (ctx) => {
    await backend.leave(boolQuery(ctx.query, 'force'));
    return empty();
  });

  router.post('/swarm/update', async (ctx) => {
    const control = backend.control();
    const version = versionQuery(ctx.query, 'swarm');
    const spec = await readBodyAs(ctx, SwarmSpecSchema);
    await control.updateSwarm(version, spec, {
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
    const body = await readBodyAs(ctx, UnlockRequestSchema);
    if (typeof body.UnlockKey !== 'string' || body.UnlockKey === '')
      throw invalidArgument('invalid key string');
    await backend.unlock(body.UnlockKey);
    return empty();
  });
}
