// The secrets and configs the managers sent this node (swarmkit's agent/secrets and agent/configs): kept in
// the agent's memory only — never in the state DB or anywhere in the data dir — and handed to each task
// restricted to what its spec references. A restarted daemon has none until the managers' first complete
// set of assignments, which carries again everything the node's tasks use.

import type { ConfigAssignment, SecretAssignment } from '../api/dispatcher.js';
import type { Task } from '../api/types.js';
import type { TaskDependencies } from './executor/executor.js';

export class DependencyStore {
  private readonly secrets = new Map<string, SecretAssignment>();
  private readonly configs = new Map<string, ConfigAssignment>();
  private completeSeen = false;
  private markComplete!: () => void;
  private readonly completeArrived = new Promise<void>((resolve) => (this.markComplete = resolve));

  updateSecret(secret: SecretAssignment): void {
    this.secrets.set(secret.ID, secret);
  }

  removeSecret(id: string): void {
    this.secrets.delete(id);
  }

  updateConfig(config: ConfigAssignment): void {
    this.configs.set(config.ID, config);
  }

  removeConfig(id: string): void {
    this.configs.delete(id);
  }

  /** A complete set begins: what it does not carry again is forgotten. */
  reset(): void {
    this.secrets.clear();
    this.configs.clear();
  }

  /** A complete set has been applied. */
  completed(): void {
    this.completeSeen = true;
    this.markComplete();
  }

  /** Forgets everything (the node leaves the swarm, or the daemon stops). */
  clear(): void {
    this.reset();
  }

  /** IDs of what the node holds, for tests and diagnostics (never the data). */
  held(): { secrets: string[]; configs: string[] } {
    return { secrets: [...this.secrets.keys()].sort(), configs: [...this.configs.keys()].sort() };
  }

  /** What `task` may use: the secrets and configs its spec references, and nothing else. */
  restrict(task: Task): TaskDependencies {
    const container = task.Spec.ContainerSpec;
    const secretIds = new Set((container?.Secrets ?? []).map((ref) => ref.SecretID));
    const configIds = new Set((container?.Configs ?? []).map((ref) => ref.ConfigID));
    // The getters read the store when called, so that a task prepared after the managers' complete set
    // sees what it carried.
    const { secrets, configs, completeArrived } = this;
    const completeSeen = (): boolean => this.completeSeen;
    return {
      secret(id) {
        if (!secretIds.has(id)) throw new Error(`task not authorized to access secret ${id}`);
        const secret = secrets.get(id);
        if (!secret) throw new Error(`secret ${id} not found`);
        return secret;
      },
      config(id) {
        if (!configIds.has(id)) throw new Error(`task not authorized to access config ${id}`);
        const config = configs.get(id);
        if (!config) throw new Error(`config ${id} not found`);
        return config;
      },
      ready: () => completeArrived,
      get complete() {
        return completeSeen();
      },
    };
  }
}
