// go-connections' nat package: port specifications as `docker run -p` and Compose's short port syntax
// write them (`[ip:][hostPort:]containerPort[/proto]`, ranges on either side), with its error texts.
// `docker stack deploy` reads Compose ports through ParsePortSpecs and swarmopts.ConvertPortToPortConfig.

import { parseIP } from './ip.js';
import { parseUint } from './strconv.js';

export interface PortBinding {
  readonly hostIP: string;
  readonly hostPort: string;
}

export interface PortMapping {
  /** nat.Port: `80/tcp`, `80-81/udp`. */
  readonly port: string;
  readonly binding: PortBinding;
}

/** nat.ParsePortRange: `80` or `80-90`. */
export function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new Error('empty string specified for ports');
  if (!ports.includes('-')) {
    const p = parseUint(ports, 10, 16);
    return [p, p];
  }
  const parts = ports.split('-');
  const start = parseUint(parts[0]!, 10, 16);
  const end = parseUint(parts[1]!, 10, 16);
  if (end < start) throw new Error(`invalid range specified for port: ${ports}`);
  return [start, end];
}

/** nat.SplitProtoPort: [proto, port]; tcp unless said. */
export function splitProtoPort(rawPort: string): [string, string] {
  const parts = rawPort.split('/');
  if (rawPort.length === 0 || parts[0]!.length === 0) return ['', ''];
  if (parts.length === 1) return ['tcp', rawPort];
  if (parts[1]!.length === 0) return ['tcp', parts[0]!];
  return [parts[1]!, parts[0]!];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const container = parts[n - 1]!;
  switch (n) {
    case 1:
      return ['', '', container];
    case 2:
      return ['', parts[0]!, container];
    case 3:
      return [parts[0]!, parts[1]!, container];
    default:
      return [parts.slice(0, n - 2).join(':'), parts[n - 2]!, container];
  }
}

function newPort(proto: string, port: string): string {
  const [start, end] = port === '' ? [0, 0] : parsePortRange(port);
  return start === end ? `${start}/${proto}` : `${start}-${end}/${proto}`;
}

/** nat.ParsePortSpec. */
export function parsePortSpec(rawPort: string): PortMapping[] {
  let [ip, hostPort, containerPort] = splitParts(rawPort);
  const [proto, port] = splitProtoPort(containerPort);
  containerPort = port;
  if (ip !== '' && ip.startsWith('[')) {
    const close = ip.indexOf(']');
    if (close < 0 || close !== ip.length - 1) {
      throw new Error(`invalid IP address ${ip}: address ${ip}:: missing ']' in address`);
    }
    ip = ip.slice(1, close);
  }
  if (ip !== '' && parseIP(ip) === undefined) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${rawPort}<empty>`);
  let start: number;
  let end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw new Error(`invalid containerPort: ${containerPort}`);
  }
  let hostStart = 0;
  let hostEnd = 0;
  if (hostPort.length > 0) {
    try {
      [hostStart, hostEnd] = parsePortRange(hostPort);
    } catch {
      throw new Error(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== '' && end - start !== hostEnd - hostStart && end !== start) {
    throw new Error(
      `invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`,
    );
  }
  const lower = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(lower)) throw new Error(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= end - start; i++) {
    const container = String(start + i);
    if (hostPort.length > 0) hostPort = String(hostStart + i);
    // A single container port with a host port range: the range is where the engine picks from.
    if (start === end && hostStart !== hostEnd) hostPort = `${hostPort}-${hostEnd}`;
    out.push({ port: newPort(lower, container), binding: { hostIP: ip, hostPort } });
  }
  return out;
}

/** nat.ParsePortSpecs: every port with its bindings, in the order first seen. */
export function parsePortSpecs(specs: readonly string[]): Map<string, PortBinding[]> {
  const bindings = new Map<string, PortBinding[]>();
  for (const spec of specs) {
    for (const { port, binding } of parsePortSpec(spec)) {
      const list = bindings.get(port) ?? [];
      list.push(binding);
      bindings.set(port, list);
    }
  }
  return bindings;
}
