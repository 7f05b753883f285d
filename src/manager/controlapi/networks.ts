// Network calls of the control API: create, inspect, list, remove, prune — what Docker's daemon does in
// front (api/server/router/network, daemon/network.go, libnetwork's NewNetwork, daemon/cluster/networks.go)
// and swarmkit's controlapi/network.go behind, in their order and with their texts and status codes.
//
// shoal's networks are swarm networks with the overlay driver: there are no local networks (no bridge,
// host or none network, no config-only networks). A network is allocated when it is created, in the same
// transaction (src/manager/allocator/networks.ts): its subnets come from the swarm's address pools unless
// given, and never overlap each other, the nodes' addresses or this manager's routes — a subnet given that
// would is refused, as is a pool with no subnet left. What the overlay cannot do is refused with a message
// naming it, never accepted and ignored: `--opt encrypted` (IPsec is not built), IPv6, IPAM driver options
// and auxiliary addresses, driver options shoal does not know.

import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  permissionDenied,
  ShoalError,
} from '../../api/errors.js';
import { parseDuration } from '../../api/duration.js';
import { Filters } from '../../api/filters.js';
import { newId } from '../../api/ids.js';
import { cidrContains, invalidCIDRText, parseCIDR, parseIP, type ParsedCIDR } from '../../api/ip.js';
import {
  DEFAULT_IPAM_DRIVER,
  ENCRYPTED_OPTION,
  INGRESS_NETWORK_NAME,
  INTERNAL_LABEL,
  isIngressNetwork,
  MTU_OPTION,
  OVERLAY_DRIVER,
  PREDEFINED_LABEL,
  VXLAN_ID_LIST_OPTION,
  type NetworkCreateRequest,
  type NetworkLookup,
} from '../../api/networks.js';
import { hasOwnKey, ownValue } from '../../api/own.js';
import { rank } from '../../api/taskstate.js';
import type { Labels, Network, NetworkSpec, Service, SwarmIPAMConfig } from '../../api/types.js';
import type { ReadTx, WriteTx } from '../../store/objects.js';
import { needsIngress } from '../allocator/core.js';
import { nodeHostAddresses } from '../allocator/host.js';
import { addressPools, allocateNetwork, requestedVxlanIds, type HostPrefix } from '../allocator/networks.js';
import { checkSpecSize } from '../limits.js';

/** The filters of `GET /networks` (api/types/network.ValidateFilters). */
export const NETWORK_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
/** The filters of `POST /networks/prune` (daemon/prune.go). */
export const NETWORK_PRUNE_FILTERS = ['label', 'label!', 'until'] as const;

/** runconfig.IsPreDefinedNetwork: the names of Docker's local networks. */
const PREDEFINED_NAMES = new Set(['bridge', 'host', 'none', 'default']);
/** The drivers of Docker's local networks: libnetwork has them, shoal does not. */
const LOCAL_DRIVERS = new Set(['bridge', 'host', 'null', 'macvlan', 'ipvlan']);
/** swarmkit's isValidDNSName. */
const DNS_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
/** The driver options the overlay honours (beyond the VXLAN IDs, which the allocator reads). */
const OVERLAY_OPTIONS = new Set([MTU_OPTION, VXLAN_ID_LIST_OPTION]);

const rpcInvalid = (message: string): ShoalError => invalidArgument(message, { rpc: true });

/** Objects in the order swarmkit's store lists them: by ID. */
const byId = (a: { ID: string }, b: { ID: string }): number => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);

// ---------------------------------------------------------------- create

/** Go's ParseCIDR of each subnet, as the daemon reads them first (getIpamConfig: a plain error, so a 500). */
function parseSubnets(request: NetworkCreateRequest): ParsedCIDR[] {
  return (request.IPAM?.Config ?? []).map((config) => {
    const subnet = config.Subnet ?? '';
    const parsed = parseCIDR(subnet);
    if (!parsed) throw new ShoalError('Unknown', `Invalid subnet ${subnet} : ${invalidCIDRText(subnet)}`);
    return parsed;
  });
}

/** swarmkit's validateIPAMConfiguration, for each subnet. */
function validateIPAMConfigs(request: NetworkCreateRequest, subnets: readonly ParsedCIDR[]): void {
  (request.IPAM?.Config ?? []).forEach((config, i) => {
    const subnet = subnets[i]!;
    const subnetText = config.Subnet ?? '';
    if (config.IPRange) {
      const range = parseCIDR(config.IPRange);
      if (!range) throw rpcInvalid(`ipam configuration: invalid range ${config.IPRange}`);
      if (!cidrContains(subnet, { family: range.family, value: range.ip })) {
        throw rpcInvalid(`ipam configuration: subnet ${subnetText} does not contain range ${config.IPRange}`);
      }
    }
    if (config.Gateway) {
      const gateway = parseIP(config.Gateway);
      if (!gateway) throw rpcInvalid(`ipam configuration: invalid gateway ${config.Gateway}`);
      if (!cidrContains(subnet, gateway)) {
        throw rpcInvalid(
          `ipam configuration: subnet ${subnetText} does not contain gateway ${config.Gateway}`,
        );
      }
    }
  });
}

/** The driver options the overlay honours; `encrypted` and unknown options are refused, naming them. */
function validateDriverOptions(options: Labels | undefined): void {
  for (const [key, value] of Object.entries(options ?? {})) {
    if (key === ENCRYPTED_OPTION) {
      throw invalidArgument(
        'the overlay network option "encrypted" is not supported: shoal does not encrypt overlay traffic (IPsec between nodes is not built), so the network would not be encrypted; create it without --opt encrypted',
      );
    }
    if (!OVERLAY_OPTIONS.has(key)) {
      throw invalidArgument(
        `the overlay network option "${key}" is not supported by shoal (it honours ${MTU_OPTION} and ${VXLAN_ID_LIST_OPTION})`,
      );
    }
    if (key === MTU_OPTION) {
      const mtu = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(mtu >= 68 && mtu <= 65535)) {
        throw invalidArgument(`invalid MTU "${value}" in ${MTU_OPTION}: a number from 68 to 65535 is needed`);
      }
    }
  }
  requestedVxlanIds(options);
}

/** What Docker's daemon and swarmkit check, in their order, up to (not including) the store's checks. */
function validateCreate(
  tx: ReadTx,
  request: NetworkCreateRequest,
): { subnets: ParsedCIDR[]; driver: string } {
  const name = request.Name ?? '';
  // daemon/network.go createNetwork.
  if (PREDEFINED_NAMES.has(name)) {
    throw permissionDenied(`operation is not permitted on predefined ${name} network `);
  }
  const subnets = parseSubnets(request);
  // libnetwork's NewNetwork.
  if (name.trim() === '') throw invalidArgument(`invalid name: ${name}`);
  if (request.ConfigOnly) {
    if (request.Ingress || request.Internal || request.Attachable || request.Scope) {
      throw permissionDenied(
        'configuration network can only contain network specific fields. Network operator fields like [ ingress | internal | attachable | scope ] are not supported.',
      );
    }
    throw permissionDenied(
      'config-only networks are not supported: they are local to one engine, and shoal has no local networks',
    );
  }
  if (request.ConfigFrom?.Network) {
    throw notFound(`configuration network "${request.ConfigFrom.Network}" does not exist`);
  }
  const driver = request.Driver || 'bridge';
  if (driver !== OVERLAY_DRIVER) {
    if (!LOCAL_DRIVERS.has(driver)) throw notFound(`plugin "${driver}" not found`);
    if (request.Ingress) throw permissionDenied('Ingress network can only be global scope network');
    throw permissionDenied(
      `network driver "${driver}" is not supported: shoal has no local networks; only networks scoped to the swarm can be used, such as those created with the overlay driver (--driver overlay)`,
    );
  }
  if (request.Scope === 'local') {
    throw permissionDenied(`cannot downgrade network scope for ${driver} networks`);
  }
  // swarmkit's validateNetworkSpec.
  if (request.Attachable && request.Ingress) throw rpcInvalid('ingress network cannot be attachable');
  if (!DNS_NAME.test(name)) throw rpcInvalid('name must be valid as a DNS name component');
  if (name.length > 63) throw rpcInvalid('name must be 63 characters or fewer');
  if (hasOwnKey(request.Labels, PREDEFINED_LABEL)) {
    throw permissionDenied(
      `label ${PREDEFINED_LABEL} is for internally created predefined networks and cannot be applied by users`,
      { rpc: true },
    );
  }
  if (hasOwnKey(request.Labels, INTERNAL_LABEL)) {
    throw permissionDenied(
      `label ${INTERNAL_LABEL} is for predefined internal networks and cannot be applied by users`,
      { rpc: true },
    );
  }
  const ipamDriver = request.IPAM?.Driver;
  if (ipamDriver && ipamDriver.toLowerCase() !== DEFAULT_IPAM_DRIVER) {
    throw rpcInvalid(`error during lookup of plugin ${ipamDriver}`);
  }
  validateIPAMConfigs(request, subnets);
  if (request.Ingress) {
    const ingress = tx.list('network').find(isIngressNetwork);
    if (ingress) throw alreadyExists(`ingress network (${ingress.ID}) is already present`);
  }
  return { subnets, driver };
}

/** What shoal's overlay networks cannot do yet: refused, naming it. */
function validateShoalSupport(request: NetworkCreateRequest, subnets: readonly ParsedCIDR[]): void {
  if (request.EnableIPv6 || subnets.some((s) => s.family === 6)) {
    throw invalidArgument(
      'IPv6 is not supported on shoal overlay networks yet: create the network with IPv4 subnets only (without --ipv6)',
    );
  }
  if (request.EnableIPv4 === false) {
    throw invalidArgument(
      'a network without IPv4 (--ipv4=false) is not supported: shoal overlay networks are IPv4',
    );
  }
  if (Object.keys(request.IPAM?.Options ?? {}).length > 0) {
    throw invalidArgument(
      'IPAM driver options (--ipam-opt) are not supported: the default IPAM driver takes none',
    );
  }
  if ((request.IPAM?.Config ?? []).some((c) => Object.keys(c.AuxiliaryAddresses ?? {}).length > 0)) {
    throw invalidArgument(
      'auxiliary addresses (--aux-address) are not supported on swarm networks (Docker ignores them there)',
    );
  }
  validateDriverOptions(request.Options);
}

/** The stored spec (daemon/cluster/convert BasicNetworkCreateToGRPC): labels `{}` when none were given. */
function specOf(request: NetworkCreateRequest, driver: string): NetworkSpec {
  const spec: NetworkSpec = { Name: request.Name ?? '', Labels: { ...(request.Labels ?? {}) } };
  const options = request.Options ?? {};
  spec.DriverConfiguration = {
    Name: driver,
    ...(Object.keys(options).length > 0 ? { Options: { ...options } } : {}),
  };
  if (request.EnableIPv6) spec.IPv6Enabled = true;
  if (request.Internal) spec.Internal = true;
  if (request.Attachable) spec.Attachable = true;
  if (request.Ingress) spec.Ingress = true;
  if (request.IPAM) {
    const configs: SwarmIPAMConfig[] = (request.IPAM.Config ?? []).map((c) => {
      const config: SwarmIPAMConfig = {};
      if (c.Subnet) config.Subnet = c.Subnet;
      if (c.IPRange) config.Range = c.IPRange;
      if (c.Gateway) config.Gateway = c.Gateway;
      return config;
    });
    spec.IPAMOptions = {
      Driver: { Name: request.IPAM.Driver || DEFAULT_IPAM_DRIVER },
      ...(configs.length > 0 ? { Configs: configs } : {}),
    };
  }
  return spec;
}

/** Where a swarm's subnets must not go: its nodes' addresses and this manager's routes. */
export function hostPrefixes(tx: ReadTx, routes: readonly HostPrefix[]): HostPrefix[] {
  return [...nodeHostAddresses(tx.list('node')), ...routes];
}

/** The allocated network for a spec, as the allocator gives it against the swarm's other networks. */
export function allocate(tx: ReadTx, network: Network, routes: readonly HostPrefix[]): Network {
  const { pools, subnetSize } = addressPools(tx.list('cluster')[0]);
  return allocateNetwork(network, {
    networks: tx.list('network'),
    pools,
    subnetSize,
    host: hostPrefixes(tx, routes),
  });
}

/**
 * `POST /networks/create` for a swarm network: Docker's checks in Docker's order, then shoal's, then the
 * allocation; the network is stored allocated.
 */
export function createNetwork(
  tx: WriteTx,
  request: NetworkCreateRequest,
  routes: readonly HostPrefix[],
): Network {
  const name = request.Name ?? '';
  // The daemon first asks the swarm for the name, exactly (a 409 without swarmkit's prefix).
  if (tx.list('network').some((n) => n.Spec.Name === name)) {
    throw new ShoalError('AlreadyExists', `network with name ${name} already exists`);
  }
  const { subnets, driver } = validateCreate(tx, request);
  validateShoalSupport(request, subnets);
  // swarmkit's store: names are unique case-insensitively (a plain error there: gRPC's Unknown).
  if (tx.getByName('network', name)) {
    throw new ShoalError('Unknown', 'name conflicts with an existing object', { rpc: true });
  }
  const network: Network = {
    ID: newId(),
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: specOf(request, driver),
  };
  checkSpecSize(network.Spec, 'network');
  const allocated = allocate(tx, network, routes);
  tx.create('network', allocated);
  return allocated;
}

/** The ingress network swarm init makes (swarmkit's newIngressNetwork since the default address pools). */
export function newIngressNetwork(): Network {
  return {
    ID: newId(),
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: {
      Name: INGRESS_NETWORK_NAME,
      Labels: {},
      DriverConfiguration: {},
      Ingress: true,
      IPAMOptions: { Driver: {} },
    },
  };
}

// ---------------------------------------------------------------- lookups

function ambiguous(term: string, count: number, how: 'name' | 'ID prefix'): ShoalError {
  return invalidArgument(`network ${term} is ambiguous (${count} matches found based on ${how})`);
}

/**
 * daemon/cluster's getNetwork (how service specs' network targets and `network rm` find a swarm network):
 * the full ID, else the exact name, else a unique ID prefix.
 */
export function resolveNetwork(tx: ReadTx, term: string): Network {
  const exact = tx.get('network', term);
  if (exact) return exact;
  const networks = tx.list('network');
  const named = networks.filter((n) => n.Spec.Name === term);
  const matches = named.length > 0 ? named : networks.filter((n) => n.ID.startsWith(term));
  if (matches.length === 0) throw notFound(`network ${term} not found`);
  if (matches.length > 1)
    throw invalidArgument(`network ${term} is ambiguous (${matches.length} matches found)`);
  return matches[0]!;
}

/**
 * The router's findUniqueNetwork (`DELETE /networks/{id}`): the full ID, else one network of that name, else
 * one whose ID starts with the term.
 */
export function findUniqueNetwork(tx: ReadTx, term: string): Network {
  const exact = tx.get('network', term);
  if (exact) return exact;
  const networks = tx.list('network').sort(byId);
  const named = networks.filter((n) => n.Spec.Name === term);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw ambiguous(term, named.length, 'name');
  const prefixed = networks.filter((n) => n.ID.startsWith(term));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw ambiguous(term, prefixed.length, 'ID prefix');
  throw notFound(`network ${term} not found`);
}

/**
 * The router's getNetwork (`GET /networks/{id}`): what the swarm finds for the term is answered when the
 * term is a prefix of its ID or the client asked for `scope=swarm`; otherwise the networks of the scope are
 * searched by full ID, then name, then ID prefix — with the router's own texts for ambiguity.
 */
export function inspectNetwork(tx: ReadTx, term: string, lookup: NetworkLookup): Network {
  let found: Network | undefined;
  try {
    found = resolveNetwork(tx, term);
  } catch {
    found = undefined;
  }
  if (found && (found.ID.startsWith(term) || lookup.scope === 'swarm')) return found;
  const inScope = !lookup.scope || lookup.scope === 'swarm' || lookup.scope === 'global';
  const networks = inScope ? tx.list('network').sort(byId) : [];
  const exact = networks.find((n) => n.ID === term);
  if (exact) return exact;
  const named = networks.filter((n) => n.Spec.Name === term);
  if (named.length === 1) return named[0]!;
  if (named.length > 1)
    throw invalidArgument(`${named.length} matches found based on name: network ${term} is ambiguous`);
  const prefixed = networks.filter((n) => n.ID.startsWith(term));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    throw invalidArgument(
      `${prefixed.length} matches found based on ID prefix: network ${term} is ambiguous`,
    );
  }
  throw notFound(`network ${term} not found`);
}

// ---------------------------------------------------------------- use by services and tasks

/** The network IDs a service's spec attaches to (swarmkit's ByReferencedNetworkID: both fields). */
export function specNetworkIds(service: Pick<Service, 'Spec'>): string[] {
  return [...(service.Spec.TaskTemplate?.Networks ?? []), ...(service.Spec.Networks ?? [])].map(
    (n) => n.Target,
  );
}

/**
 * Why the network cannot be removed now, or undefined when it can (swarmkit's removeNetwork checks). A task
 * whose service is gone does not hold it: it is being removed (swarmkit refuses until the orchestrator has
 * marked it, which makes `docker stack rm`, removing the networks right after the services, fail at random).
 */
function inUse(tx: ReadTx, network: Network): ShoalError | undefined {
  if (isIngressNetwork(network)) {
    const dependent = tx
      .list('service')
      .sort(byId)
      .find((s) => needsIngress(s));
    return dependent
      ? failedPrecondition(`ingress network cannot be removed because service ${dependent.ID} depends on it`)
      : undefined;
  }
  const service = tx
    .list('service')
    .sort(byId)
    .find((s) => specNetworkIds(s).includes(network.ID));
  if (service) return failedPrecondition(`network ${network.ID} is in use by service ${service.ID}`);
  const task = tx
    .list('task')
    .sort(byId)
    .find(
      (t) =>
        rank(t.DesiredState) <= rank('running') &&
        rank(t.Status.State) <= rank('running') &&
        (!t.ServiceID || tx.get('service', t.ServiceID) !== undefined) &&
        (t.NetworksAttachments ?? []).some((a) => a.Network.ID === network.ID),
    );
  if (task) return failedPrecondition(`network ${network.ID} is in use by task ${task.ID}`);
  return undefined;
}

/** `DELETE /networks/{id}`: refused while a service (or a task not done) uses the network. */
export function removeNetwork(tx: WriteTx, term: string): void {
  const network = findUniqueNetwork(tx, term);
  if (ownValue(network.Spec.Labels, PREDEFINED_LABEL) === 'true') {
    throw failedPrecondition(
      `network ${network.ID} (${network.Spec.Name}) is a swarm predefined network and cannot be removed`,
    );
  }
  const refusal = inUse(tx, network);
  if (refusal) throw refusal;
  tx.delete('network', network.ID);
}

// ---------------------------------------------------------------- list and prune

/** filters.Match: the value itself, or a regular expression that matches it (Go's regexp, as JS reads it). */
function matchesTerm(terms: readonly string[], value: string): boolean {
  if (terms.length === 0) return true;
  return terms.some((term) => {
    if (term === value) return true;
    try {
      return new RegExp(term).test(value);
    } catch {
      return false;
    }
  });
}

/** The driver a network lists with: its allocation's, as Docker shows it (empty until allocated). */
export const networkDriver = (network: Network): string => network.DriverState?.Name ?? '';

/** `GET /networks` filters, as daemon/network.FilterNetworks applies them to swarm networks. */
export function listNetworks(tx: ReadTx, filters: Filters): Network[] {
  let networks = tx
    .list('network')
    .sort(byId)
    .filter((network) => {
      if (!filters.matchExact('driver', networkDriver(network))) return false;
      if (!matchesTerm(filters.values('name'), network.Spec.Name)) return false;
      if (!matchesTerm(filters.values('id'), network.ID)) return false;
      if (!filters.matchLabels('label', network.Spec.Labels)) return false;
      return filters.matchExact('scope', 'swarm');
    });
  const dangling = filters.values('dangling');
  if (dangling.length > 1) throw invalidArgument('got more than one value for filter key "dangling"');
  if (dangling.length === 1) {
    const value = dangling[0]!;
    let unusedOnly: boolean;
    if (value === '1' || value === 'true') unusedOnly = true;
    else if (value === '0' || value === 'false') unusedOnly = false;
    else {
      throw invalidArgument(
        'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")',
      );
    }
    networks = networks.filter((n) => (inUse(tx, n) === undefined) === unusedOnly);
  }
  const types = filters.values('type');
  if (types.length > 0) {
    for (const type of types) {
      if (type !== 'custom' && type !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${type}'`);
    }
    // Every swarm network is custom: the builtin ones (bridge, host, none) are local networks.
    if (!types.includes('custom')) networks = [];
  }
  return networks;
}

/** `until` of a prune: Unix seconds (with a fraction), an RFC 3339 time or date, or a Go duration ago. */
function parseUntil(value: string, nowMs: number): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (!Number.isNaN(date) && /^\d{4}-\d{2}-\d{2}/.test(value)) return date;
  try {
    return nowMs - parseDuration(value) / 1e6;
  } catch {
    throw invalidArgument(`failed to parse value as time or duration: "${value}"`);
  }
}

/**
 * `POST /networks/prune`: every network no service or task uses, but the ingress network (it is removed
 * only when asked for by name), created before `until`, with the `label`s and without the `label!`s.
 */
export function pruneNetworks(tx: WriteTx, filters: Filters, nowMs: number): string[] {
  const untils = filters.values('until');
  if (untils.length > 1) throw invalidArgument('more than one until filter specified');
  const until = untils.length === 1 ? parseUntil(untils[0]!, nowMs) : undefined;
  const excluded = filters.values('label!');
  const removed: string[] = [];
  for (const network of listNetworks(tx, Filters.empty())) {
    if (isIngressNetwork(network)) continue;
    if (until !== undefined && Date.parse(network.CreatedAt) > until) continue;
    if (!filters.matchLabels('label', network.Spec.Labels)) continue;
    if (excluded.length > 0 && excluded.some((term) => labelMatches(network.Spec.Labels, term))) continue;
    if (ownValue(network.Spec.Labels, PREDEFINED_LABEL) === 'true' || inUse(tx, network)) continue;
    tx.delete('network', network.ID);
    removed.push(network.Spec.Name);
  }
  return removed;
}

/** A `label!` term: the label present (`key`) or with that value (`key=value`). */
function labelMatches(labels: Labels | undefined, term: string): boolean {
  const eq = term.indexOf('=');
  if (eq < 0) return hasOwnKey(labels, term);
  return ownValue(labels, term.slice(0, eq)) === term.slice(eq + 1);
}
