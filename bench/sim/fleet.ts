// A simulated fleet for benchmarks: `processes` child processes (fleet-main.ts), each holding its share of
// `nodes` simulated nodes joined to a real manager over the real cluster protocol.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SimulatedBehaviour } from './executor.js';
import type { FleetCommand, FleetReport } from './protocol.js';

const ENTRY = fileURLToPath(new URL('./fleet-main.js', import.meta.url));

interface Member {
  readonly child: ChildProcess;
  hostnames: string[];
}

export class SimulatedFleet {
  private constructor(private readonly members: Member[]) {}

  /** Joins `nodes` nodes spread over `processes` processes; resolves once every one has a session. */
  static async join(options: {
    managerAddr: string;
    token: string;
    nodes: number;
    processes: number;
    onProgress?: (joined: number) => void;
  }): Promise<SimulatedFleet> {
    const joinedBy = new Array<number>(options.processes).fill(0);
    const members = await Promise.all(
      Array.from({ length: options.processes }, (_, i) => {
        const share =
          Math.floor(options.nodes / options.processes) + (i < options.nodes % options.processes ? 1 : 0);
        const child = fork(ENTRY, [options.managerAddr, options.token, String(share), `sim${i}`], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        return new Promise<Member>((resolve, reject) => {
          child.on('message', (report: FleetReport) => {
            if (report.kind === 'joined') {
              joinedBy[i] = report.joined;
              options.onProgress?.(joinedBy.reduce((a, b) => a + b, 0));
            } else if (report.kind === 'ready') resolve({ child, hostnames: [...report.hostnames] });
            else if (report.kind === 'failed') reject(new Error(`fleet process ${i}: ${report.error}`));
          });
          child.once('exit', (code) => reject(new Error(`fleet process ${i} exited (${code})`)));
        });
      }),
    );
    return new SimulatedFleet(members);
  }

  get hostnames(): string[] {
    return this.members.flatMap((m) => m.hostnames);
  }

  /** Stops the sessions of these nodes at once, as if their hosts died. */
  async kill(hostnames: readonly string[]): Promise<void> {
    const doomed = new Set(hostnames);
    await Promise.all(
      this.members.map((member) => {
        const mine = member.hostnames.filter((h) => doomed.has(h));
        if (mine.length === 0) return Promise.resolve();
        member.hostnames = member.hostnames.filter((h) => !doomed.has(h));
        return this.ask(member, { kind: 'kill', hostnames: mine }, 'killed');
      }),
    );
  }

  /** How tasks started from now on behave. */
  async behave(behaviour: SimulatedBehaviour): Promise<void> {
    await Promise.all(this.members.map((m) => this.ask(m, { kind: 'behave', behaviour }, 'behaving')));
  }

  /** CPU seconds (user + system) the fleet's processes have used so far. */
  cpuSeconds(readStat: (pid: number) => number): number {
    return this.members.reduce((sum, m) => sum + (m.child.pid ? readStat(m.child.pid) : 0), 0);
  }

  close(): void {
    for (const m of this.members) {
      if (m.child.connected) m.child.send({ kind: 'exit' } satisfies FleetCommand);
      setTimeout(() => m.child.kill('SIGKILL'), 2_000).unref();
    }
  }

  private ask(member: Member, command: FleetCommand, answer: FleetReport['kind']): Promise<void> {
    return new Promise((resolve) => {
      const listen = (report: FleetReport): void => {
        if (report.kind !== answer) return;
        member.child.off('message', listen);
        resolve();
      };
      member.child.on('message', listen);
      member.child.send(command);
    });
  }
}
