// Per source IP quotas for the cluster port's connections that have not (yet) proved who they are:
// those still in their TLS handshake, and those established without a verified node certificate.
// A host that holds its quota gets nothing more, at once, while everyone else is still served.

/** Gives back a slot taken with `IpQuota.acquire`; calling it again does nothing. */
export type Release = () => void;

/** At most `max` holders per IP address. */
export class IpQuota {
  private readonly counts = new Map<string, number>();
  private held = 0;

  constructor(private readonly max: number) {}

  /** Takes a slot for `ip`: its release, or undefined when `ip` already holds `max`. */
  acquire(ip: string): Release | undefined {
    const count = this.counts.get(ip) ?? 0;
    if (count >= this.max) return undefined;
    this.counts.set(ip, count + 1);
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      const left = (this.counts.get(ip) ?? 1) - 1;
      if (left > 0) this.counts.set(ip, left);
      else this.counts.delete(ip);
    };
  }

  /** Slots `ip` holds. */
  heldBy(ip: string): number {
    return this.counts.get(ip) ?? 0;
  }

  /** Slots held over all addresses. */
  get total(): number {
    return this.held;
  }
}
