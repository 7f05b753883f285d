// How networks look through the Engine API. `/networks` answers types.NetworkResource, which Docker's
// daemon builds from the swarm's network (daemon/cluster/convert BasicNetworkFromGRPC): driver and options
// from the allocation, `null` for empty maps (protobuf decodes them as nil), no `Containers` of this node
// (shoal's manager view; Docker's daemon shows the local endpoints of a network its node has, with its
// `Peers`). A task's `NetworksAttachments` carry the swarm network itself (swarm.Network, convert's
// networkFromGRPC): fields in that struct's order, `Scope: swarm` added, `Aliases` and the driver options
// of the attachment left out (Docker's API has no place for them).

import { isIngressNetwork, type NetworkResource } from '../../api/networks.js';
import type { IPAMConfig, IPAMOptions, Labels, Network, NetworkAttachment } from '../../api/types.js';

const orNull = (map: Labels | undefined): Labels | null => (map && Object.keys(map).length > 0 ? map : null);

/** types.NetworkResource of a swarm network. */
export function presentNetworkResource(network: Network): NetworkResource {
  const ipam = network.IPAMOptions;
  return {
    Name: network.Spec.Name,
    Id: network.ID,
    Created: network.CreatedAt,
    Scope: 'swarm',
    Driver: network.DriverState?.Name ?? '',
    EnableIPv6: network.Spec.IPv6Enabled ?? false,
    IPAM: ipam
      ? {
          Driver: ipam.Driver?.Name ?? '',
          Options: orNull(ipam.Driver?.Options),
          Config: (ipam.Configs ?? []).map((config) => {
            const out: IPAMConfig = {};
            if (config.Subnet) out.Subnet = config.Subnet;
            if (config.Range) out.IPRange = config.Range;
            if (config.Gateway) out.Gateway = config.Gateway;
            return out;
          }),
        }
      : { Driver: '', Options: null, Config: null },
    Internal: network.Spec.Internal ?? false,
    Attachable: network.Spec.Attachable ?? false,
    Ingress: isIngressNetwork(network),
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: null,
    Options: orNull(network.DriverState?.Options),
    Labels: orNull(network.Spec.Labels),
  };
}

/** swarm.IPAMOptions: the driver always (a struct), the configs when there are some. */
function presentIPAM(ipam: IPAMOptions): IPAMOptions {
  const driver: { Name?: string; Options?: Labels } = {};
  if (ipam.Driver?.Name) driver.Name = ipam.Driver.Name;
  if (ipam.Driver?.Options && Object.keys(ipam.Driver.Options).length > 0)
    driver.Options = ipam.Driver.Options;
  const out: IPAMOptions = { Driver: driver };
  if (ipam.Configs?.length) out.Configs = ipam.Configs;
  return out;
}

/** swarm.Network, as a task's attachment shows it. */
export function presentSwarmNetwork(network: Network): Network {
  const spec = network.Spec;
  const outSpec: Network['Spec'] & { Scope?: string } = { Name: spec.Name, Labels: spec.Labels ?? {} };
  if (spec.DriverConfiguration) {
    const driver: { Name?: string; Options?: Labels } = {};
    if (spec.DriverConfiguration.Name) driver.Name = spec.DriverConfiguration.Name;
    if (spec.DriverConfiguration.Options && Object.keys(spec.DriverConfiguration.Options).length > 0) {
      driver.Options = spec.DriverConfiguration.Options;
    }
    outSpec.DriverConfiguration = driver;
  }
  if (spec.IPv6Enabled) outSpec.IPv6Enabled = true;
  if (spec.Internal) outSpec.Internal = true;
  if (spec.Attachable) outSpec.Attachable = true;
  if (isIngressNetwork(network)) outSpec.Ingress = true;
  if (spec.IPAMOptions) outSpec.IPAMOptions = presentIPAM(spec.IPAMOptions);
  outSpec.Scope = 'swarm';
  const out: Network = {
    ID: network.ID,
    Version: network.Version,
    CreatedAt: network.CreatedAt,
    UpdatedAt: network.UpdatedAt,
    Spec: outSpec,
    DriverState: {
      ...(network.DriverState?.Name ? { Name: network.DriverState.Name } : {}),
      ...(network.DriverState?.Options && Object.keys(network.DriverState.Options).length > 0
        ? { Options: network.DriverState.Options }
        : {}),
    },
  };
  if (network.IPAMOptions) out.IPAMOptions = presentIPAM(network.IPAMOptions);
  return out;
}

/** swarm.NetworkAttachment: the network and the addresses. */
export function presentAttachment(attachment: NetworkAttachment): NetworkAttachment {
  const out: NetworkAttachment = { Network: presentSwarmNetwork(attachment.Network) };
  if (attachment.Addresses?.length) out.Addresses = attachment.Addresses;
  return out;
}
