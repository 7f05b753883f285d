// From the Engine API's logs query to the cluster protocol's options.

import type { LogStreamOptions } from '../../api/dispatcher.js';
import type { LogsRequest } from '../../api/control.js';

export function logStreamOptions(request: LogsRequest): LogStreamOptions {
  const tail = request.tail === '' || request.tail === 'all' ? NaN : Number(request.tail);
  return {
    follow: request.follow,
    stdout: request.stdout,
    stderr: request.stderr,
    // Docker treats a negative or unparsable tail as "all".
    ...(Number.isInteger(tail) && tail >= 0 ? { tail } : {}),
    ...(request.since > 0 ? { since: Math.floor(request.since * 1000) } : {}),
    ...(request.until > 0 ? { until: Math.floor(request.until * 1000) } : {}),
  };
}
