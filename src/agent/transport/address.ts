// Manager addresses as nodes are given them (`host:port`, `[v6]:port`), turned into the URL
// authority HTTP/2 connects to.

import { invalidArgument } from '../../api/errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Splits `10.0.0.1:2377`, `manager-1:2377`, `[fd00::1]:2377`. Throws InvalidArgument otherwise. */
export function parseManagerAddr(addr: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port > 0 && port < 65536)) {
    throw invalidArgument(`invalid manager address ${JSON.stringify(addr)}: expected host:port`);
  }
  return { host: match[1] ?? match[2]!, port };
}

/** `https://host:port`, with IPv6 hosts in brackets. */
export function managerUrl(addr: string): string {
  const { host, port } = parseManagerAddr(addr);
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
