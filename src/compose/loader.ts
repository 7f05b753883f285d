// The Compose loader of `docker stack deploy` and `docker stack config` (docker/cli cli/command/stack
// loader.go and cli/compose/loader): files read and parsed, the first file's version made the project's,
// then for each file in order — the same version, no forbidden keys, interpolation from the CLI's
// environment, validation against the version's schema, decoding — and the files merged. `deploy` also
// reports the keys swarm mode ignores (computed on the raw files) and checks every service's image.
//
// shoal's own keys live under `x-shoal` at the top of the first file (Docker ignores `x-` keys):
// `x-shoal: {depends_on: true}` accepts compose-spec's long `depends_on` syntax (conditions) and has the
// manager honour it (stack-semantics.md differences, docs/architecture.md §10).

import { dirname, resolve } from 'node:path';
import { parseAnyReference } from '../api/reference.js';
import { ownValue } from '../api/own.js';
import { goOpenError, loadSections, type DecodeContext } from './decode.js';
import { goSprint } from './gosprint.js';
import { interpolateTree, lookupIn, type Lookup } from './interpolate.js';
import { mergeConfigs } from './merge.js';
import { validateCompose } from './schema/validate.js';
import { normalizeVersion } from './schema/versions.js';
import type { Config } from './types.js';
import { parseComposeYAML, type Tree } from './yaml.js';
import { withLongDependsOn } from './schema/depends-on.js';
import { forValidation } from './gotime.js';

/** types.UnsupportedProperties: warned about, then ignored (but `restart`, see the converter). */
export const UNSUPPORTED_PROPERTIES = [
  'build',
  'cgroupns_mode',
  'cgroup_parent',
  'devices',
  'domainname',
  'external_links',
  'ipc',
  'links',
  'mac_address',
  'network_mode',
  'pid',
  'privileged',
  'restart',
  'security_opt',
  'shm_size',
  'userns_mode',
];

/** types.DeprecatedProperties. */
export const DEPRECATED_PROPERTIES: Readonly<Record<string, string>> = {
  container_name: 'Setting the container name is not supported.',
  expose:
    "Exposing ports is unnecessary - services on the same network can access each other's containers on any port.",
};

/** types.ForbiddenProperties. */
export const FORBIDDEN_PROPERTIES: Readonly<Record<string, string>> = {
  extends: 'Support for `extends` is not implemented yet.',
  volume_driver:
    'Instead of setting the volume driver on the service, define a volume using the top-level `volumes` option and specify the driver there.',
  volumes_from:
    'To share a volume between services, define it using the top-level `volumes` option and reference it from each service that shares it using the service-level `volumes` option.',
  cpu_quota: 'Set resource limits using deploy.resources',
  cpu_shares: 'Set resource limits using deploy.resources',
  cpuset: 'Set resource limits using deploy.resources',
  mem_limit: 'Set resource limits using deploy.resources',
  memswap_limit: 'Set resource limits using deploy.resources',
};

/** loader.ForbiddenPropertiesError: which keys, with why. */
export class ForbiddenPropertiesError extends Error {
  constructor(readonly properties: Readonly<Record<string, string>>) {
    super('Configuration contains forbidden properties');
    this.name = 'ForbiddenPropertiesError';
  }
}

export interface ComposeFile {
  filename: string;
  config: Tree;
}

export interface ConfigDetails {
  version: string;
  workingDir: string;
  files: ComposeFile[];
  lookup: Lookup;
}

/** What loading needs from outside. */
export interface LoaderHost {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  readFile: (path: string) => Uint8Array;
  /** The whole of standard input, for `-c -`. */
  readStdin: () => Promise<Uint8Array>;
  /** The loader's logged warnings (`network x: network.external.name is deprecated …`). */
  warn: (message: string) => void;
}

/** schema.Version: the file's version as printed by Go, normalized. */
export function fileVersion(config: Tree): string {
  if (!Object.hasOwn(config, 'version')) return normalizeVersion('');
  return normalizeVersion(goSprint(config['version']));
}

/** getConfigDetails: the files read and parsed, the working directory, the version of the first file. */
export async function getConfigDetails(files: readonly string[], host: LoaderHost): Promise<ConfigDetails> {
  if (files.length === 0) throw new Error('specify a Compose file (with --compose-file)');
  const workingDir =
    files[0] === '-' && files.length === 1 ? host.cwd : dirname(resolve(host.cwd, files[0]!));
  const parsed: ComposeFile[] = [];
  for (const filename of files) {
    let bytes: Uint8Array;
    if (filename === '-') {
      bytes = await host.readStdin();
    } else {
      try {
        bytes = host.readFile(resolve(host.cwd, filename));
      } catch (e) {
        throw goOpenError(filename, e);
      }
    }
    parsed.push({ filename, config: parseComposeYAML(Buffer.from(bytes).toString('utf8')) });
  }
  return {
    version: fileVersion(parsed[0]!.config),
    workingDir,
    files: parsed,
    lookup: lookupIn(host.env),
  };
}

function servicesOf(config: Tree): Record<string, unknown> {
  const services = config['services'];
  return services !== null && typeof services === 'object' && !Array.isArray(services)
    ? (services as Record<string, unknown>)
    : {};
}

function propertiesIn(config: Tree, table: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const service of Object.values(servicesOf(config))) {
    if (service === null || typeof service !== 'object') continue;
    for (const [property, description] of Object.entries(table)) {
      if (Object.hasOwn(service, property)) out[property] = description;
    }
  }
  return out;
}

/** Whether a file's `x-shoal` asks for the long `depends_on` syntax (and the manager to honour it). */
export function dependsOnEnabled(config: Tree): boolean {
  const ext = ownValue(config as Record<string, unknown>, 'x-shoal');
  if (ext === null || typeof ext !== 'object' || Array.isArray(ext)) return false;
  return ownValue(ext as Record<string, unknown>, 'depends_on') === true;
}

/** Checks what shoal reads of `x-shoal`, so that a misspelt key is not silently nothing. */
function checkShoalExtension(config: Tree): void {
  const ext = ownValue(config as Record<string, unknown>, 'x-shoal');
  if (ext === undefined) return;
  if (ext === null || typeof ext !== 'object' || Array.isArray(ext)) {
    throw new Error('x-shoal must be a mapping');
  }
  for (const [key, value] of Object.entries(ext)) {
    if (key === 'depends_on') {
      if (typeof value !== 'boolean') throw new Error('x-shoal.depends_on must be a boolean');
      continue;
    }
    throw new Error(`x-shoal Additional property ${key} is not allowed`);
  }
}

export interface LoadOptions {
  skipInterpolation?: boolean;
}

/** loader.Load: every file checked, interpolated, validated and decoded, then merged. */
export function loadConfig(details: ConfigDetails, host: LoaderHost, options: LoadOptions = {}): Config {
  if (details.files.length < 1) throw new Error('No files specified');
  const configs: Config[] = [];
  let version = details.version;
  const longDependsOn = dependsOnEnabled(details.files[0]!.config);
  for (const file of details.files) {
    let tree = file.config;
    const own = fileVersion(tree);
    if (version === '') version = own;
    if (version !== own) {
      throw new Error(`version mismatched between two composefiles : ${version} and ${own}`);
    }
    const forbidden = propertiesIn(tree, FORBIDDEN_PROPERTIES);
    if (Object.keys(forbidden).length > 0) throw new ForbiddenPropertiesError(forbidden);
    if (!options.skipInterpolation) tree = interpolateTree(tree, details.lookup);
    checkShoalExtension(tree);
    validateCompose(forValidation(tree) as Tree, version, longDependsOn ? withLongDependsOn : undefined);
    const ctx: DecodeContext = {
      workingDir: details.workingDir,
      version,
      lookup: details.lookup,
      readFile: host.readFile,
      warn: host.warn,
    };
    configs.push(loadSections(tree, file.filename, ctx));
  }
  return mergeConfigs(configs);
}

/** propertyWarnings: `key: description` blocks, sorted, separated by blank lines. */
export function propertyWarnings(properties: Readonly<Record<string, string>>): string {
  return Object.entries(properties)
    .map(([name, description]) => `${name}: ${description}`)
    .sort()
    .join('\n\n');
}

export interface DeployLoad {
  config: Config;
  details: ConfigDetails;
  /** What `deploy` writes to stderr before anything else: the ignored-options notices. */
  notices: string;
}

/**
 * loadComposeFile (`stack deploy`): the merged configuration, the notices about unsupported and
 * deprecated keys (computed on the raw files), and every service's image checked.
 */
export async function loadComposeFile(files: readonly string[], host: LoaderHost): Promise<DeployLoad> {
  const details = await getConfigDetails(files, host);
  let config: Config;
  try {
    config = loadConfig(details, host);
  } catch (e) {
    if (e instanceof ForbiddenPropertiesError) {
      throw new Error(`compose file contains unsupported options:\n\n${propertyWarnings(e.properties)}\n`);
    }
    throw e;
  }
  let notices = '';
  const unsupported = new Set<string>();
  const deprecated: Record<string, string> = {};
  for (const file of details.files) {
    for (const service of Object.values(servicesOf(file.config))) {
      if (service === null || typeof service !== 'object') continue;
      for (const property of UNSUPPORTED_PROPERTIES)
        if (Object.hasOwn(service, property)) unsupported.add(property);
    }
    Object.assign(deprecated, propertiesIn(file.config, DEPRECATED_PROPERTIES));
  }
  if (unsupported.size > 0)
    notices += `Ignoring unsupported options: ${[...unsupported].sort().join(', ')}\n\n`;
  if (Object.keys(deprecated).length > 0) {
    notices += `Ignoring deprecated options:\n\n${propertyWarnings(deprecated)}\n\n`;
  }
  return { config, details, notices };
}

/** The image check that follows loading: every service has one, and it parses. */
export function checkImages(config: Config): void {
  for (const service of config.services) {
    if (service.image === '')
      throw new Error(`invalid image reference for service ${service.name}: no image specified`);
    try {
      parseAnyReference(service.image);
    } catch (e) {
      throw new Error(`invalid image reference for service ${service.name}: ${(e as Error).message}`);
    }
  }
}
