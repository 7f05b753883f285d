// `shoal network create|inspect|ls|prune|rm` (docker/cli cli/command/network): the same flags, requests,
// output, messages and exit codes. `connect` and `disconnect` are left out: they attach containers, and
// shoal has none.

import type { NetworkResource } from '../../api/networks.js';
import { cidrContains, invalidCIDRText, parseCIDR, parseIP } from '../../api/ip.js';
import { setOwn } from '../../api/own.js';
import type { Cli } from '../cli.js';
import { compareVersions, isNotFound } from '../client.js';
import { exactArgs, group, leaf, minArgs, noArgs, type GroupSpec } from '../command.js';
import { StatusError } from '../errors.js';
import { FilterArgs } from '../filter-args.js';
import type { FlagDefinition } from '../flags.js';
import { formatInspect, FormatError } from '../format/formatter.js';
import { Template, TemplateError } from '../format/template.js';
import { formatNetworkList, networkInspectView } from '../formatters/network-list.js';
import { cut, kvToMap, listFlag, readCSVRecord, validateLabel } from '../opts/lists.js';
import { indentJSON, RawJSON } from '../wire.js';
import { FORMAT_HELP } from './help-texts.js';
import { formatOrFail } from './node.js';

/** opts.MapOpts (`key=value`, repeatable; a bare key maps to ''). */
function mapFlag(shorthand: string | undefined, usage: string): FlagDefinition<Record<string, string>> {
  return {
    shorthand,
    usage,
    type: 'map',
    initial: {},
    defValue: 'map[]',
    set: (raw, cur) => {
      const [key, value] = cut(raw, '=');
      const next = { ...cur };
      setOwn(next, key, value);
      return next;
    },
  };
}

/** pflag's StringSlice (`strings`): comma-separated values, repeatable. */
function stringsFlag(usage: string): FlagDefinition<string[]> {
  return {
    usage,
    type: 'strings',
    initial: [],
    defValue: '[]',
    zeroDefValues: ['false', '<nil>', '', '0', '[]'],
    set: (raw, cur) => [...cur, ...(raw === '' ? [] : readCSVRecord(raw))],
  };
}

/** opts.FilterOpt with the usage the network commands give it. */
function filterFlag(shorthand: string | undefined, usage: string): FlagDefinition<FilterArgs> {
  return {
    shorthand,
    usage,
    type: 'filter',
    initial: new FilterArgs(),
    defValue: '',
    set: (raw, cur) => cur.clone().addFlag(raw),
  };
}

/** prompt.Confirm: the question, ` [y/N] `, and a line from stdin (`y` or `Y` says yes). */
async function confirm(cli: Cli, message: string): Promise<boolean> {
  cli.out.write(`${message} [y/N] `);
  let line = '';
  for await (const chunk of cli.streams.in) {
    line += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (line.includes('\n')) break;
  }
  return line.split('\n')[0]!.trim().toLowerCase() === 'y';
}

// ---------------------------------------------------------------- create

interface IPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** subnetMatches: whether `data` (an address or a CIDR) lies in `subnet`. */
function subnetMatches(subnet: string, data: string): boolean {
  const s = parseCIDR(subnet);
  if (!s) throw new Error(`invalid subnet: ${invalidCIDRText(subnet)}`);
  let ip;
  if (data.includes('/')) {
    const d = parseCIDR(data);
    if (!d) throw new Error(invalidCIDRText(data));
    ip = { family: d.family, value: d.ip };
  } else {
    ip = parseIP(data);
  }
  return ip !== undefined && cidrContains(s, ip);
}

/** createIPAMConfig: subnets with their ranges, gateways and auxiliary addresses, checked as Docker does. */
function ipamConfigs(
  subnets: readonly string[],
  ranges: readonly string[],
  gateways: readonly string[],
  aux: Readonly<Record<string, string>>,
): IPAMConfig[] {
  if (subnets.length < ranges.length || subnets.length < gateways.length) {
    throw new Error('every ip-range or gateway must have a corresponding subnet');
  }
  const configs = new Map<string, IPAMConfig & { AuxiliaryAddresses: Record<string, string> }>();
  for (const subnet of subnets) {
    for (const other of configs.keys()) {
      if (subnetMatches(subnet, other) || subnetMatches(other, subnet)) {
        throw new Error('multiple overlapping subnet configuration is not supported');
      }
    }
    configs.set(subnet, { Subnet: subnet, AuxiliaryAddresses: {} });
  }
  for (const range of ranges) {
    let match = false;
    for (const subnet of subnets) {
      if (!parseCIDR(range)) throw new Error(invalidCIDRText(range));
      if (!subnetMatches(subnet, range)) continue;
      const config = configs.get(subnet)!;
      if (config.IPRange) {
        throw new Error(
          `cannot configure multiple ranges (${range}, ${config.IPRange}) on the same subnet (${subnet})`,
        );
      }
      config.IPRange = range;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for range ${range}`);
  }
  for (const gateway of gateways) {
    let match = false;
    for (const subnet of subnets) {
      if (!subnetMatches(subnet, gateway)) continue;
      const config = configs.get(subnet)!;
      if (config.Gateway) {
        throw new Error(
          `cannot configure multiple gateways (${gateway}, ${config.Gateway}) for the same subnet (${subnet})`,
        );
      }
      config.Gateway = gateway;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for gateway ${gateway}`);
  }
  for (const [key, address] of Object.entries(aux)) {
    let match = false;
    for (const subnet of subnets) {
      if (!subnetMatches(subnet, address)) continue;
      setOwn(configs.get(subnet)!.AuxiliaryAddresses, key, address);
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for aux-address ${address}`);
  }
  return [...configs.values()].map((c) => {
    const out: IPAMConfig = {};
    if (c.Subnet) out.Subnet = c.Subnet;
    if (c.IPRange) out.IPRange = c.IPRange;
    if (c.Gateway) out.Gateway = c.Gateway;
    if (Object.keys(c.AuxiliaryAddresses).length > 0) out.AuxiliaryAddresses = c.AuxiliaryAddresses;
    return out;
  });
}

const json = (v: unknown): string => JSON.stringify(v);

/** network.CreateRequest as the docker CLI's Go client encodes it (CheckDuplicate before API 1.44). */
function createBody(fields: {
  name: string;
  driver: string;
  scope: string;
  ipv4?: boolean;
  ipv6?: boolean;
  ipam: { driver: string; options: Record<string, string>; configs: IPAMConfig[] };
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  configOnly: boolean;
  configFrom: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  checkDuplicate: boolean;
}): RawJSON {
  const configs = fields.ipam.configs.map((c) => {
    const parts: string[] = [];
    if (c.Subnet) parts.push(`"Subnet":${json(c.Subnet)}`);
    if (c.IPRange) parts.push(`"IPRange":${json(c.IPRange)}`);
    if (c.Gateway) parts.push(`"Gateway":${json(c.Gateway)}`);
    if (c.AuxiliaryAddresses) parts.push(`"AuxiliaryAddresses":${sortedMap(c.AuxiliaryAddresses)}`);
    return `{${parts.join(',')}}`;
  });
  const parts = [
    `"Driver":${json(fields.driver)}`,
    `"Scope":${json(fields.scope)}`,
    ...(fields.ipv4 !== undefined ? [`"EnableIPv4":${fields.ipv4}`] : []),
    ...(fields.ipv6 !== undefined ? [`"EnableIPv6":${fields.ipv6}`] : []),
    `"IPAM":{"Driver":${json(fields.ipam.driver)},"Options":${sortedMap(fields.ipam.options)},"Config":[${configs.join(',')}]}`,
    `"Internal":${fields.internal}`,
    `"Attachable":${fields.attachable}`,
    `"Ingress":${fields.ingress}`,
    `"ConfigOnly":${fields.configOnly}`,
    `"ConfigFrom":${fields.configFrom ? `{"Network":${json(fields.configFrom)}}` : 'null'}`,
    `"Options":${sortedMap(fields.options)}`,
    `"Labels":${sortedMap(fields.labels)}`,
    `"Name":${json(fields.name)}`,
    ...(fields.checkDuplicate ? ['"CheckDuplicate":true'] : []),
  ];
  return new RawJSON(`{${parts.join(',')}}`);
}

/** A Go map[string]string as encoding/json writes it: keys sorted. */
function sortedMap(map: Readonly<Record<string, string>>): string {
  const entries = Object.entries(map).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${entries.map(([k, v]) => `${json(k)}:${json(v)}`).join(',')}}`;
}

const createCommand = leaf({
  use: 'create [OPTIONS] NETWORK',
  short: 'Create a network',
  args: exactArgs(1),
  flags: (fs) => {
    const attachable = fs.bool('attachable', undefined, 'Enable manual container attachment');
    attachable.def.minApiVersion = '1.25';
    const auxAddress = fs.add(
      'aux-address',
      mapFlag(undefined, 'Auxiliary IPv4 or IPv6 addresses used by Network driver'),
    );
    const configFrom = fs.string(
      'config-from',
      undefined,
      'The network from which to copy the configuration',
    );
    configFrom.def.minApiVersion = '1.30';
    const configOnly = fs.bool('config-only', undefined, 'Create a configuration only network');
    configOnly.def.minApiVersion = '1.30';
    const driver = fs.string('driver', 'd', 'Driver to manage the Network', 'bridge');
    const gateway = fs.add('gateway', stringsFlag('IPv4 or IPv6 Gateway for the master subnet'));
    const ingress = fs.bool('ingress', undefined, 'Create swarm routing-mesh network');
    ingress.def.minApiVersion = '1.29';
    const internal = fs.bool('internal', undefined, 'Restrict external access to the network');
    const ipRange = fs.add('ip-range', stringsFlag('Allocate container ip from a sub-range'));
    const ipamDriver = fs.string('ipam-driver', undefined, 'IP Address Management Driver', 'default');
    const ipamOpt = fs.add('ipam-opt', mapFlag(undefined, 'Set IPAM driver specific options'));
    const ipv4 = fs.bool('ipv4', undefined, 'Enable or disable IPv4 address assignment', true);
    const ipv6 = fs.bool('ipv6', undefined, 'Enable or disable IPv6 address assignment');
    const label = fs.add('label', listFlag(undefined, 'Set metadata on a network', validateLabel));
    const opt = fs.add('opt', mapFlag('o', 'Set driver specific options'));
    const scope = fs.string('scope', undefined, "Control the network's scope");
    scope.def.minApiVersion = '1.30';
    const subnet = fs.add('subnet', stringsFlag('Subnet in CIDR format that represents a network segment'));
    return {
      attachable,
      auxAddress,
      configFrom,
      configOnly,
      driver,
      gateway,
      ingress,
      internal,
      ipRange,
      ipamDriver,
      ipamOpt,
      ipv4,
      ipv6,
      label,
      opt,
      scope,
      subnet,
    };
  },
  run: async ({ cli }, o, args) => {
    const configs = ipamConfigs(o.subnet.value, o.ipRange.value, o.gateway.value, o.auxAddress.value);
    const client = cli.client();
    const version = await client.apiVersion();
    const body = createBody({
      name: args[0]!,
      driver: o.driver.value,
      scope: o.scope.value,
      ...(o.ipv4.changed ? { ipv4: o.ipv4.value } : {}),
      ...(o.ipv6.changed ? { ipv6: o.ipv6.value } : {}),
      ipam: { driver: o.ipamDriver.value, options: o.ipamOpt.value, configs },
      internal: o.internal.value,
      attachable: o.attachable.value,
      ingress: o.ingress.value,
      configOnly: o.configOnly.value,
      configFrom: o.configFrom.value,
      options: o.opt.value,
      labels: kvToMap(o.label.value),
      checkDuplicate: compareVersions(version, '1.44') < 0,
    });
    const { Id } = await client.networkCreate(body);
    cli.out.write(`${Id}\n`);
  },
});

// ---------------------------------------------------------------- inspect

const inspectCommand = leaf({
  use: 'inspect [OPTIONS] NETWORK [NETWORK...]',
  short: 'Display detailed information on one or more networks',
  args: minArgs(1),
  flags: (fs) => ({
    format: fs.string(
      'format',
      'f',
      `Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`,
    ),
    verbose: fs.bool('verbose', 'v', 'Verbose output for diagnostics'),
  }),
  run: async ({ cli }, o, args) => {
    const format = o.format.value;
    let template: Template | undefined;
    if (format !== '' && format !== 'json') {
      try {
        template = new Template(format);
      } catch (e) {
        if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 64);
        throw e;
      }
    }
    const client = cli.client();
    const errors: string[] = [];
    const raws: string[] = [];
    let templated = '';
    for (const ref of args) {
      let found: { network: NetworkResource; raw: string };
      try {
        found = await client.networkInspectWithRaw(ref, { verbose: o.verbose.value });
      } catch (e) {
        errors.push((e as Error).message);
        continue;
      }
      if (!template) {
        raws.push(found.raw.trim());
        continue;
      }
      // Docker runs the template on its struct first, then on the raw JSON (missing keys an error).
      const typed = template.executePartial(networkInspectView(found.network));
      if (!typed.error) {
        templated += typed.output + '\n';
        continue;
      }
      try {
        templated += formatInspect(format, [JSON.parse(found.raw) as unknown], { missingKey: 'error' });
      } catch (e) {
        if (e instanceof FormatError) errors.push(e.message);
        else throw e;
      }
    }
    if (format === '') cli.out.write(raws.length === 0 ? '[]\n' : indentJSON(`[${raws.join(',')}]`) + '\n');
    else if (format === 'json')
      cli.out.write(raws.length === 0 ? '[]\n' : `[${raws.map(compact).join(',')}]\n`);
    else cli.out.write(templated === '' ? '\n' : templated);
    if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
  },
});

/** json.Compact of a JSON text: insignificant white space removed. */
function compact(text: string): string {
  return JSON.stringify(JSON.parse(text));
}

// ---------------------------------------------------------------- ls

const lsCommand = leaf({
  use: 'ls [OPTIONS]',
  aliases: ['list'],
  short: 'List networks',
  args: noArgs,
  flags: (fs) => ({
    filter: fs.add('filter', filterFlag('f', 'Provide filter values (e.g. "driver=bridge")')),
    format: fs.string('format', undefined, FORMAT_HELP),
    noTrunc: fs.bool('no-trunc', undefined, 'Do not truncate the output'),
    quiet: fs.bool('quiet', 'q', 'Only display network IDs'),
  }),
  run: async ({ cli }, o) => {
    const networks = await cli.client().networkList(o.filter.value);
    cli.out.write(
      formatOrFail(() =>
        formatNetworkList(networks, {
          format: o.format.value,
          quiet: o.quiet.value,
          trunc: !o.noTrunc.value,
        }),
      ),
    );
  },
});

// ---------------------------------------------------------------- rm

const INGRESS_WARNING =
  'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?';

const rmCommand = leaf({
  use: 'rm NETWORK [NETWORK...]',
  aliases: ['remove'],
  short: 'Remove one or more networks',
  args: minArgs(1),
  flags: (fs) => ({ force: fs.bool('force', 'f', 'Do not error if the network does not exist') }),
  run: async ({ cli }, o, args) => {
    const client = cli.client();
    let status = 0;
    for (const name of args) {
      // The routing-mesh network is removed only once the user says so.
      let ingress = false;
      try {
        ingress = (await client.networkInspectWithRaw(name)).network.Ingress;
      } catch {
        // Looked up again by the removal, which says what is wrong.
      }
      if (ingress && !(await confirm(cli, INGRESS_WARNING))) continue;
      try {
        await client.networkRemove(name);
      } catch (e) {
        if (o.force.value && isNotFound(e)) continue;
        cli.err.write(`${(e as Error).message}\n`);
        status = 1;
        continue;
      }
      cli.out.write(`${name}\n`);
    }
    if (status !== 0) throw new StatusError(`exit status ${status}`, status);
  },
});

// ---------------------------------------------------------------- prune

const PRUNE_WARNING = `WARNING! This will remove all custom networks not used by at least one container.
Are you sure you want to continue?`;

const pruneCommand = leaf({
  use: 'prune [OPTIONS]',
  short: 'Remove all unused networks',
  args: noArgs,
  flags: (fs) => {
    const filter = fs.add(
      'filter',
      filterFlag(undefined, 'Provide filter values (e.g. "until=<timestamp>")'),
    );
    const force = fs.bool('force', 'f', 'Do not prompt for confirmation');
    return { filter, force };
  },
  run: async ({ cli }, o) => {
    // A cancelled prune says nothing more and succeeds: Docker's main() ignores a cancellation.
    if (!o.force.value && !(await confirm(cli, PRUNE_WARNING))) return;
    const report = await cli.client().networkPrune(o.filter.value);
    const deleted = report.NetworksDeleted ?? [];
    if (deleted.length > 0) cli.out.write(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}\n`);
  },
});

export const networkCommand: GroupSpec = group({
  use: 'network',
  short: 'Manage networks',
  commands: [createCommand, inspectCommand, lsCommand, pruneCommand, rmCommand],
});
