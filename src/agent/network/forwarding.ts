// The host's IPv4 forwarding, which the gateway bridge needs on (as Docker sets it). A host where it was off
// is no router, and must not become one because shoal runs there: shoal notes in the data dir that it was
// the one to turn it on, its nftables table then drops what would be forwarded between two interfaces
// neither of which is a bridge or a veth (kernel.ts nftScript), and `swarm leave` turns it off again — unless
// a bridge that is not shoal's is there (a dockerd's), whose containers need it.

import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AgentLog } from '../log.js';
import { runScript } from './kernel.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

export class ForwardingGuard {
  private readonly marker: string;

  constructor(dataDir: string) {
    this.marker = join(dataDir, 'network', 'forwarding-was-off');
  }

  /** Whether shoal turned forwarding on (so its table must guard it). */
  guarded(): Promise<boolean> {
    return exists(this.marker);
  }

  /** Call before turning forwarding on: notes whether it was off. Returns whether it is guarded. */
  async beforeTurningOn(): Promise<boolean> {
    const now = (await readFile(IP_FORWARD, 'utf8').catch(() => '1')).trim();
    if (now === '0') {
      await mkdir(dirname(this.marker), { recursive: true });
      await writeFile(this.marker, 'shoal turned net.ipv4.ip_forward on; swarm leave turns it off\n');
    }
    return this.guarded();
  }

  /** On leave, before the data dir goes: forwarding back off if shoal turned it on and no other bridge needs it. */
  async restore(ownBridge: string, log: AgentLog): Promise<void> {
    if (!(await this.guarded())) return;
    const { stdout } = await runScript('ip -j link show type bridge').catch(() => ({ stdout: '[]' }));
    const others = (JSON.parse(stdout || '[]') as { ifname: string }[])
      .map((l) => l.ifname)
      .filter((name) => name !== ownBridge);
    if (others.length > 0) {
      log.info('network: leaving forwarding on, other bridges need it', { bridges: others });
      return;
    }
    await writeFile(IP_FORWARD, '0\n').catch((err: unknown) =>
      log.warn('network: turning forwarding back off failed', { err }),
    );
  }
}
