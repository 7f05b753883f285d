// The rows of `network ls` (docker/cli network.networkContext) and the typed view `network inspect
// --format` templates run against first (network.Inspect of the docker CLI 28: a template Docker can
// execute on its struct works here too, `{{.ID}}` included).

import type { NetworkResource } from '../../api/networks.js';
import { ownValue } from '../../api/own.js';
import { formatList } from '../format/formatter.js';
import { GO_TYPE } from '../format/govalue.js';
import { goTimeString, naturalCompare, truncateID } from '../format-helpers.js';
import { goView, type Shape } from '../wire.js';

export const DEFAULT_NETWORK_TABLE_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
const RAW_FORMAT = 'network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n';
const RAW_QUIET_FORMAT = 'network_id: {{.ID}}';

const HEADERS = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
} as const;

/** One row of `network ls`. */
class NetworkContext {
  readonly #network: NetworkResource & { EnableIPv4?: boolean };
  readonly #trunc: boolean;

  constructor(network: NetworkResource, trunc: boolean) {
    this.#network = network;
    this.#trunc = trunc;
  }

  get ID(): string {
    return this.#trunc ? truncateID(this.#network.Id) : this.#network.Id;
  }

  get Name(): string {
    return this.#network.Name;
  }

  get Driver(): string {
    return this.#network.Driver;
  }

  get Scope(): string {
    return this.#network.Scope;
  }

  get IPv4(): string {
    return String(this.#network.EnableIPv4 ?? false);
  }

  get IPv6(): string {
    return String(this.#network.EnableIPv6);
  }

  get Internal(): string {
    return String(this.#network.Internal);
  }

  /** `k=v` pairs joined with commas (Go walks the map in random order; shoal sorts it). */
  get Labels(): string {
    if (!this.#network.Labels) return '';
    return Object.entries(this.#network.Labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }

  Label(name: string): string {
    return ownValue(this.#network.Labels ?? undefined, name) ?? '';
  }

  get CreatedAt(): string {
    return goTimeString(this.#network.Created);
  }
}
Object.defineProperty(NetworkContext.prototype, GO_TYPE, { value: '*network.networkContext' });

/** What `network ls` prints: the networks sorted by name (sortorder.NaturalLess). */
export function formatNetworkList(
  networks: readonly NetworkResource[],
  options: { format: string; quiet: boolean; trunc: boolean },
): string {
  const rows = [...networks]
    .sort((a, b) => naturalCompare(a.Name, b.Name))
    .map((n) => new NetworkContext(n, options.trunc));
  return formatList(rows, {
    format: options.format,
    quiet: options.quiet,
    defaultTableFormat: DEFAULT_NETWORK_TABLE_FORMAT,
    rawFormat: RAW_FORMAT,
    rawQuietFormat: RAW_QUIET_FORMAT,
    header: HEADERS,
  });
}

// ---------------------------------------------------------------- network.Inspect (docker CLI 28)

const field = (name: string, shape: Shape, omitempty = false) => ({ name, shape, omitempty });
const stringMap: Shape = { map: 'string' };

const NETWORK_INSPECT: Shape = {
  name: 'network.Inspect',
  struct: [
    field('Name', 'string'),
    field('Id', 'string'),
    field('Created', 'time'),
    field('Scope', 'string'),
    field('Driver', 'string'),
    field('EnableIPv4', 'bool'),
    field('EnableIPv6', 'bool'),
    field('IPAM', {
      name: 'network.IPAM',
      struct: [
        field('Driver', 'string'),
        field('Options', stringMap),
        field('Config', {
          slice: {
            name: 'network.IPAMConfig',
            struct: [
              field('Subnet', 'string', true),
              field('IPRange', 'string', true),
              field('Gateway', 'string', true),
              field('AuxiliaryAddresses', stringMap, true),
            ],
          },
        }),
      ],
    }),
    field('Internal', 'bool'),
    field('Attachable', 'bool'),
    field('Ingress', 'bool'),
    field('ConfigFrom', { name: 'network.ConfigReference', struct: [field('Network', 'string')] }),
    field('ConfigOnly', 'bool'),
    field('Containers', {
      map: {
        name: 'network.EndpointResource',
        struct: ['Name', 'EndpointID', 'MacAddress', 'IPv4Address', 'IPv6Address'].map((n) =>
          field(n, 'string'),
        ),
      },
    }),
    field('Options', stringMap),
    field('Labels', stringMap),
    field(
      'Peers',
      { slice: { name: 'network.PeerInfo', struct: [field('Name', 'string'), field('IP', 'string')] } },
      true,
    ),
  ],
};

/**
 * What a `network inspect --format` template sees first: the network decoded into the CLI's struct. Go's
 * field for `Id` is `ID` (and `AuxiliaryAddresses`' is `AuxAddress`): both names work, as in Docker.
 */
export function networkInspectView(network: NetworkResource): unknown {
  const view = goView(network, NETWORK_INSPECT) as Record<string, unknown>;
  Object.defineProperty(view, 'ID', { value: view.Id, enumerable: false });
  const ipam = view.IPAM as { Config?: Record<string, unknown>[] };
  for (const config of ipam.Config ?? []) {
    Object.defineProperty(config, 'AuxAddress', { value: config.AuxiliaryAddresses, enumerable: false });
  }
  return view;
}
