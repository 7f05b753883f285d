// Listen and advertise addresses for the cluster port, resolved the way the Docker daemon resolves
// them: explicit addresses win, interface names stand for their IPv4 address, and without a hint the
// address of the interface holding the default route is used.

import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { invalidArgument } from '../api/errors.js';

export const DEFAULT_CLUSTER_PORT = 2377;

export interface HostPort {
  host: string;
  port: number;
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses `host`, `host:port`, `:port`, `[v6]:port`; the port defaults to `defaultPort`. */
export function parseHostPort(input: string, defaultPort: number, field: string): HostPort {
  const text = input.trim();
  let host = text;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const [h, p] = text.split(':');
    host = h!;
    if (p !== '') {
      if (!/^\d+$/.test(p!)) throw invalidArgument(`invalid ${field} "${input}": invalid port "${p}"`);
      port = Number(p);
    }
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidArgument(`invalid ${field} "${input}": invalid port "${port}"`);
  }
  return { host, port };
}

const isIPv4 = (s: string): boolean =>
  /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((p) => Number(p) <= 255);
const isIP = (s: string): boolean => isIPv4(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));

/** The IPv4 address of a named interface, if it has exactly one. */
function interfaceAddress(name: string): string | undefined {
  const addrs = networkInterfaces()[name];
  if (!addrs) return undefined;
  const v4 = addrs.filter((a) => a.family === 'IPv4');
  if (v4.length > 1) {
    throw invalidArgument(
      `interface ${name} has more than one IPv4 address (${v4.map((a) => a.address).join(' and ')})`,
    );
  }
  return v4[0]?.address;
}

/** The interface holding the IPv4 default route, from /proc/net/route. */
function defaultRouteInterface(): string | undefined {
  try {
    const lines = readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const [iface, destination, , flags] = line.trim().split(/\s+/);
      if (destination === '00000000' && (parseInt(flags ?? '0', 16) & 1) === 1) return iface;
    }
  } catch {
    // no procfs: fall through
  }
  return undefined;
}

/** Resolves the address other nodes should use, as `docker swarm init/join` does. */
export function resolveAdvertiseAddr(advertise: string | undefined, listen: HostPort): HostPort {
  if (advertise) {
    const parsed = parseHostPort(advertise, listen.port, 'AdvertiseAddr');
    if (isIP(parsed.host)) return parsed;
    const ip = interfaceAddress(parsed.host);
    if (!ip)
      throw invalidArgument(
        `advertise address must be a non-zero IP address or network interface (with optional port number)`,
      );
    return { host: ip, port: parsed.port };
  }
  if (listen.host && listen.host !== '0.0.0.0' && listen.host !== '::') {
    if (isIP(listen.host)) return listen;
    const ip = interfaceAddress(listen.host);
    if (ip) return { host: ip, port: listen.port };
  }
  const iface = defaultRouteInterface();
  const ip = iface ? interfaceAddress(iface) : undefined;
  if (!ip) {
    throw invalidArgument(
      "could not find the system's IP address - please specify one with --advertise-addr",
    );
  }
  return { host: ip, port: listen.port };
}

/** The listen address: an IP or interface name, with port; `0.0.0.0:2377` by default. */
export function resolveListenAddr(listen: string | undefined): HostPort {
  const parsed = parseHostPort(
    listen || `0.0.0.0:${DEFAULT_CLUSTER_PORT}`,
    DEFAULT_CLUSTER_PORT,
    'ListenAddr',
  );
  if (parsed.host === '') return { host: '0.0.0.0', port: parsed.port };
  if (isIP(parsed.host)) return parsed;
  const ip = interfaceAddress(parsed.host);
  if (!ip) throw invalidArgument(`invalid ListenAddr "${listen}": no such interface`);
  return { host: ip, port: parsed.port };
}

/**
 * The local address the kernel would use to reach `remote` (a UDP "connect" sends nothing). A joining
 * node without --advertise-addr advertises this, as Docker does: the address its manager can reach.
 */
export function localAddressTowards(remote: HostPort): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(remote.host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.connect(remote.port, remote.host, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}
