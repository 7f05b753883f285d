// Listen, advertise and data-path addresses of the cluster port, resolved and refused the way the
// Docker daemon resolves and refuses them (same texts, same status codes): explicit addresses win,
// interface names stand for their IPv4 address, and without a hint the address of the interface
// holding the default route is used.

import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { ownValue } from '../api/own.js';
import { networkInterfaces } from 'node:os';
import { invalidArgument, ShoalError } from '../api/errors.js';

export const DEFAULT_CLUSTER_PORT = 2377;

export interface HostPort {
  host: string;
  port: number;
}

const LISTEN_ADDR_ERROR =
  'listen address must be an IP address or network interface (with optional port number)';
const ADVERTISE_ADDR_ERROR =
  'advertise address must be a non-zero IP address or network interface (with optional port number)';
const DATA_PATH_ADDR_ERROR =
  'data path address must be a non-zero IP address or network interface (without a port number)';

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits `host`, `host:port`, `:port`, `[v6]:port`; undefined when the text has no such shape. */
function splitHostPort(input: string): { host: string; port: string | undefined } | undefined {
  const text = input.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] || undefined };
  const colons = (text.match(/:/g) ?? []).length;
  if (colons === 0) return { host: text, port: undefined };
  if (colons === 1) {
    const [host, port] = text.split(':');
    return { host: host!, port: port || undefined };
  }
  // A bare IPv6 address.
  return isIP(text) ? { host: text, port: undefined } : undefined;
}

/** Parses an address with an optional port (default `defaultPort`); throws `message` when malformed. */
export function parseHostPort(input: string, defaultPort: number, message: string): HostPort {
  const parts = splitHostPort(input);
  if (!parts || (parts.port !== undefined && !/^\d+$/.test(parts.port))) throw invalidArgument(message);
  return { host: parts.host, port: parts.port === undefined ? defaultPort : Number(parts.port) };
}

const isIPv4 = (s: string): boolean =>
  /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((p) => Number(p) <= 255);
const isIP = (s: string): boolean => isIPv4(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
const isUnspecified = (host: string): boolean => host === '0.0.0.0' || host === '::';

/** The IPv4 address of a named interface, if it has exactly one. */
function interfaceAddress(name: string): string | undefined {
  const addrs = ownValue(networkInterfaces(), name);
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

/** An IP as given, or an interface's address; undefined when it is neither. */
function resolveHost(host: string): string | undefined {
  if (isIP(host)) return host;
  return interfaceAddress(host);
}

/**
 * The listen address (`--listen-addr`, which the CLI always sends: `0.0.0.0:2377` by default). A port
 * out of range is only found when listening in Docker, hence its text and status.
 */
export function resolveListenAddr(listen: string | undefined): HostPort {
  if (!listen) throw invalidArgument('invalid ListenAddr "": invalid empty address');
  const parsed = parseHostPort(listen, DEFAULT_CLUSTER_PORT, LISTEN_ADDR_ERROR);
  const host = parsed.host === '' ? '0.0.0.0' : resolveHost(parsed.host);
  if (host === undefined) throw invalidArgument(LISTEN_ADDR_ERROR);
  if (parsed.port < 1 || parsed.port > 65535) {
    throw new ShoalError(
      'Unknown',
      `manager stopped: failed to listen on remote API address: listen tcp: address ${parsed.port}: invalid port`,
    );
  }
  return { host, port: parsed.port };
}

/** The address other nodes should use, as `docker swarm init` resolves it. */
export function resolveAdvertiseAddr(advertise: string | undefined, listen: HostPort): HostPort {
  if (advertise) {
    const parsed = parseHostPort(advertise, listen.port, ADVERTISE_ADDR_ERROR);
    const host = resolveHost(parsed.host);
    if (host === undefined || isUnspecified(host)) throw invalidArgument(ADVERTISE_ADDR_ERROR);
    // Docker accepts any port here (it is only advertised); so does shoal.
    return { host, port: parsed.port };
  }
  if (!isUnspecified(listen.host)) return listen;
  const iface = defaultRouteInterface();
  const ip = iface ? interfaceAddress(iface) : undefined;
  if (!ip) {
    throw invalidArgument(
      "could not find the system's IP address - please specify one with --advertise-addr",
    );
  }
  return { host: ip, port: listen.port };
}

/**
 * `--data-path-addr`: an IP or interface, without a port — the address the node's VXLAN traffic leaves
 * from and other nodes send it to. Returns the IP it stands for (an interface's, when it names one).
 */
export function validateDataPathAddr(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  const parts = splitHostPort(addr);
  if (!parts || parts.port !== undefined) throw invalidArgument(DATA_PATH_ADDR_ERROR);
  const host = resolveHost(parts.host);
  if (host === undefined || isUnspecified(host)) throw invalidArgument(DATA_PATH_ADDR_ERROR);
  return host;
}

/** A manager address given to `swarm join` (`host` or `host:port`, 2377 by default). */
export function parseRemoteAddr(addr: string): HostPort {
  return parseHostPort(addr, DEFAULT_CLUSTER_PORT, `invalid remote address "${addr}"`);
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
