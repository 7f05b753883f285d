// An agent with a fake executor, connected in-process to a harness dispatcher.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Agent, type AgentOptions } from '../../../src/agent/agent.js';
import type { DispatcherClient } from '../../../src/api/dispatcher.js';
import type { Dispatcher } from '../../../src/manager/dispatcher/dispatcher.js';
import type { Node } from '../../../src/api/types.js';
import type { Harness } from '../dispatcher/setup.js';
import { FakeExecutor } from './fake-executor.js';

const dirs: string[] = [];

export function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-agent-test-'));
  dirs.push(dir);
  return dir;
}

export function removeStateDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface RunningAgent {
  agent: Agent;
  executor: FakeExecutor;
  stateDir: string;
}

export async function startAgent(
  h: Harness,
  node: Node,
  options: {
    executor?: FakeExecutor;
    stateDir?: string;
    client?: DispatcherClient;
    onRemoved?: AgentOptions['onRemoved'];
  } = {},
): Promise<RunningAgent> {
  const executor = options.executor ?? new FakeExecutor();
  const dir = options.stateDir ?? stateDir();
  const agent = new Agent({
    client: options.client ?? h.dispatcher.localClient(node.ID),
    executor,
    stateDir: dir,
    clock: h.clock,
    random: () => 0.5,
    ...(options.onRemoved ? { onRemoved: options.onRemoved } : {}),
  });
  await agent.start();
  return { agent, executor, stateDir: dir };
}

/**
 * A client that always talks to the harness's current dispatcher, like a transport that finds the
 * new leader after a manager restart.
 */
export function followingClient(current: () => Dispatcher, nodeId: string): DispatcherClient {
  const client = () => current().localClient(nodeId);
  return {
    session: (request, onMessage, onEnd) => client().session(request, onMessage, onEnd),
    heartbeat: (sessionId) => client().heartbeat(sessionId),
    updateTaskStatus: (sessionId, updates) => client().updateTaskStatus(sessionId, updates),
    assignments: (sessionId, onMessage, onEnd) => client().assignments(sessionId, onMessage, onEnd),
    logSubscriptions: (sessionId, onMessage, onEnd) => client().logSubscriptions(sessionId, onMessage, onEnd),
    publishLogs: (sessionId, message) => client().publishLogs(sessionId, message),
  };
}
