// A node's networking without a daemon, for the data path tests: run inside a test host's namespace
// (`nsenter --net`), it drives one NodeNetworking from JSON lines on stdin — {id, op, args} — and answers
// {id, ok, result | error} on stdout. Ops: start(tasks), update(update, complete), prepare(task),
// release(taskId), retain(taskIds), purge(), close().

import { createInterface } from 'node:readline';
import type { Task } from '../../../src/api/types.js';
import type { NetworkViewUpdate } from '../../../src/api/network-view.js';
import { NodeNetworking } from '../../../src/agent/network/networking.js';

const [dataDir, nodeId, underlay, resolvConf] = process.argv.slice(2);
if (!dataDir || !nodeId) throw new Error('usage: driver <dataDir> <nodeId> [underlay] [resolv.conf]');
const quiet = () => {};
const log = {
  debug: quiet,
  info: quiet,
  warn: quiet,
  error: (m: string, f?: unknown) => console.error(m, f),
};
const networking = new NodeNetworking({
  dataDir,
  nodeId,
  log,
  underlayAddr: () => underlay || undefined,
  ...(resolvConf ? { hostResolvConf: resolvConf } : {}),
});

type Request = { id: number; op: string; args: unknown[] };
const ops: Record<string, (...args: never[]) => Promise<unknown> | unknown> = {
  start: (tasks: Task[]) => networking.start(tasks),
  update: (update: NetworkViewUpdate, complete: boolean) => networking.applyUpdate(update, complete),
  prepare: (task: Task) => networking.prepareTaskNetwork(task),
  release: (taskId: string) => networking.releaseTaskNetwork(taskId),
  retain: (taskIds: string[]) => networking.retainOnly(new Set(taskIds)),
  purge: () => networking.purge(),
  close: () => networking.close(),
  attached: () => networking.attachedTasks(),
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line) as Request;
  const op = ops[request.op];
  void (async () => {
    try {
      if (!op) throw new Error(`unknown op ${request.op}`);
      const result = await (op as (...args: unknown[]) => unknown)(...request.args);
      process.stdout.write(`${JSON.stringify({ id: request.id, ok: true, result: result ?? null })}\n`);
    } catch (err) {
      process.stdout.write(
        `${JSON.stringify({ id: request.id, ok: false, error: (err as Error).message })}\n`,
      );
    }
  })();
});
