// What the multi-host tests of services on networks share: their view of tasks, the docker CLI against the
// manager, a busybox httpd that answers with its task's name and the client address it sees, and `wget`
// from a harness host.

import assert from 'node:assert/strict';
import type { TestCluster } from '../../harness/index.js';

export interface TaskRow {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { PID?: number; ContainerID?: string } };
  NetworksAttachments?: { Network: { ID: string; Spec: { Name: string } }; Addresses?: string[] }[];
}

export interface NodeRow {
  ID: string;
  Description: { Hostname: string };
}

/** Helpers bound to the cluster a test file makes in its `before` (hence the getter). */
export function swarmHelpers(cluster: () => TestCluster) {
  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await cluster().manager.docker(args, { timeoutMs: 180_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  const tasks = (service: string): Promise<TaskRow[]> =>
    cluster().manager.apiOk<TaskRow[]>(
      'GET',
      `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
    );
  const running = async (service: string): Promise<TaskRow[]> =>
    (await tasks(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  /** `wget` from a harness host (outside any task); httpd's `[::ffff:a.b.c.d]` client shown as `a.b.c.d`. */
  const fromHost = async (host: string, url: string) => {
    const result = await cluster()
      .host(host)
      .exec('timeout', ['3', 'busybox', 'wget', '-qO-', url], { allowFailure: true });
    return { ...result, stdout: result.stdout.replace(/\[::ffff:([\d.]+)\]/, '$1').trim() };
  };
  return { docker, tasks, running, fromHost };
}

/** Docker's task name: `<service>.<slot>.<task ID>`. */
export const taskName = (service: string, t: TaskRow): string => `${service}.${t.Slot}.${t.ID}`;

/** busybox httpd serving `<dir>/$T` with a CGI `/cgi-bin/who` that answers "$T <client address>". */
export const whoScript = (dir: string): string =>
  `mkdir -p ${dir}/$T/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho "$T $REMOTE_ADDR"\\n' > ${dir}/$T/cgi-bin/who && chmod +x ${dir}/$T/cgi-bin/who && exec busybox httpd -f -p 80 -h ${dir}/$T`;
