// `GET /distribution/{name}/json`: what `docker service create` and `update --image` ask to pin a tag to a
// digest (the registry's descriptor of the image, and its platforms). A node with a container engine behind
// its socket passes the call to it with the request's credentials (engine-proxy.ts); without one — the route
// here — the image is checked as dockerd checks it and the call fails with a message saying why, which the
// docker CLI — like the shoal CLI — turns into its warning (`image … could not be accessed on a registry to
// record its digest …`): any failure does, whatever its status.

import { ShoalError, invalidArgument } from '../../api/errors.js';
import { parseAnyReference, ReferenceError } from '../../api/reference.js';
import type { Router } from '../router.js';

export function registerDistributionRoutes(router: Router): void {
  router.get('/distribution/{name:.*}/json', async (ctx) => {
    const name = ctx.params.name!;
    checkReference(name);
    throw new ShoalError(
      'Unimplemented',
      `cannot look up ${name} on its registry: this node has no container engine (its executor does not pull images)`,
    );
  });
}

/** dockerd's checks of the name: Go's reference errors (400), and a bare image ID (500). */
function checkReference(name: string): void {
  let ref;
  try {
    ref = parseAnyReference(name);
  } catch (err) {
    if (err instanceof ReferenceError) throw invalidArgument(err.message);
    throw err;
  }
  if (!('path' in ref)) throw new ShoalError('Unknown', 'no manifest found for full image ID');
}
