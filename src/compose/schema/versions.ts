// The JSON schema of each Compose file format 3.x, as the docker CLI selects it (cli/compose/schema):
// 3.13 is shipped (v3.13.ts); each older version is 3.13 with what came later taken out again, one
// version step at a time (stack-semantics.md §3 lists the additions). `version` absent, "" or "3" means
// 3.13; anything else without a schema is `unsupported Compose file version: X`.

import { SCHEMA_V3_13 } from './v3.13.js';

export const DEFAULT_VERSION = '3.13';

export const VERSIONS = [
  '3.0',
  '3.1',
  '3.2',
  '3.3',
  '3.4',
  '3.5',
  '3.6',
  '3.7',
  '3.8',
  '3.9',
  '3.10',
  '3.11',
  '3.12',
  '3.13',
] as const;

/** schema.normalizeVersion. */
export function normalizeVersion(version: string): string {
  return version === '' || version === '3' ? DEFAULT_VERSION : version;
}

type Json = Record<string, unknown>;

const clone = <T>(v: T): T => structuredClone(v);

function at(root: Json, path: readonly (string | number)[]): Json {
  let node: unknown = root;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node as Json;
}

const del = (root: Json, path: readonly (string | number)[], key: string): void => {
  delete at(root, path)[key];
};

const SERVICE = ['definitions', 'service', 'properties'];
const DEPLOY = ['definitions', 'deployment', 'properties'];
const BUILD_OBJECT = [...SERVICE, 'build', 'oneOf', 1];
const HEALTHCHECK = ['definitions', 'healthcheck', 'properties'];
const X = '^x-';

/** Each step turns the schema of a version into the one of the version before it. */
const DOWNGRADES: Record<string, (s: Json) => void> = {
  // 3.13 → 3.12: per-network driver_opts on a service, oom_score_adj.
  '3.13': (s) => {
    const net = at(s, [...SERVICE, 'networks', 'oneOf', 1, 'patternProperties', '^[a-zA-Z0-9._-]+$']);
    delete at(net, ['oneOf', 0, 'properties'])['driver_opts'];
    del(s, SERVICE, 'oom_score_adj');
  },
  '3.12': (s) => del(s, HEALTHCHECK, 'start_interval'),
  '3.11': (s) => {
    at(s, BUILD_OBJECT)['additionalProperties'] = false;
  },
  '3.10': (s) => {
    s['required'] = ['version'];
    delete at(s, ['properties', 'version'])['default'];
    del(s, ['definitions', 'volume', 'properties'], 'x-cluster-spec');
  },
  '3.9': (s) => {
    del(s, [...DEPLOY, 'resources', 'properties', 'limits', 'properties'], 'pids');
    del(s, [...BUILD_OBJECT, 'properties'], 'extra_hosts');
    del(s, SERVICE, 'cgroupns_mode');
  },
  '3.8': (s) => {
    del(s, ['definitions', 'config', 'properties'], 'template_driver');
    del(s, [...DEPLOY, 'placement', 'properties'], 'max_replicas_per_node');
    for (const key of ['driver', 'driver_opts', 'template_driver'])
      del(s, ['definitions', 'secret', 'properties'], key);
    del(s, [...SERVICE, 'credential_spec', 'properties'], 'config');
  },
  '3.7': (s) => {
    for (const def of ['config', 'network', 'secret', 'service', 'volume']) {
      del(s, ['definitions', def, 'patternProperties'], X);
      const node = at(s, ['definitions', def]);
      if (Object.keys(node['patternProperties'] as Json).length === 0) delete node['patternProperties'];
    }
    del(s, DEPLOY, 'rollback_config');
    del(s, SERVICE, 'init');
  },
  '3.6': (s) => del(s, [...SERVICE, 'volumes', 'items', 'oneOf', 1, 'properties'], 'tmpfs'),
  '3.5': (s) => {
    for (const def of ['config', 'network', 'secret']) del(s, ['definitions', def, 'properties'], 'name');
    del(s, SERVICE, 'isolation');
    del(s, [...BUILD_OBJECT, 'properties'], 'shm_size');
    // Limits and reservations were one definition: cpus and memory only.
    const resource = {
      type: 'object',
      properties: { cpus: { type: 'string' }, memory: { type: 'string' } },
      additionalProperties: false,
    };
    const resources = at(s, [...DEPLOY, 'resources', 'properties']);
    resources['limits'] = { $ref: '#/definitions/resource' };
    resources['reservations'] = { $ref: '#/definitions/resource' };
    at(s, ['definitions'])['resource'] = resource;
    del(s, ['definitions'], 'generic_resources');
  },
  '3.4': (s) => {
    del(s, [...DEPLOY, 'update_config', 'properties'], 'order');
    for (const key of ['interval', 'timeout']) delete at(s, [...HEALTHCHECK, key])['format'];
    del(s, HEALTHCHECK, 'start_period');
    for (const key of ['network', 'target']) del(s, [...BUILD_OBJECT, 'properties'], key);
    del(s, ['definitions', 'volume', 'properties'], 'name');
    del(s, ['patternProperties'], X);
    if (Object.keys(s['patternProperties'] as Json).length === 0) delete s['patternProperties'];
  },
  '3.3': (s) => {
    del(s, ['properties'], 'configs');
    del(s, ['definitions'], 'config');
    del(s, SERVICE, 'configs');
    del(s, [...DEPLOY, 'placement', 'properties'], 'preferences');
    del(s, [...BUILD_OBJECT, 'properties'], 'labels');
    del(s, SERVICE, 'credential_spec');
  },
  '3.2': (s) => {
    del(s, DEPLOY, 'endpoint_mode');
    del(s, ['definitions', 'network', 'properties'], 'attachable');
    del(s, [...BUILD_OBJECT, 'properties'], 'cache_from');
    const service = at(s, SERVICE);
    service['ports'] = {
      type: 'array',
      items: { type: ['string', 'number'], format: 'ports' },
      uniqueItems: true,
    };
    service['volumes'] = { type: 'array', items: { type: 'string' }, uniqueItems: true };
  },
  '3.1': (s) => {
    del(s, ['properties'], 'secrets');
    del(s, ['definitions'], 'secret');
    del(s, SERVICE, 'secrets');
  },
};

/** Removes draft-04's `id`s (anchors nothing refers to) and `$schema`, so that a draft-07 validator takes it. */
function stripIds(node: unknown, isSchema = true): void {
  if (Array.isArray(node)) {
    for (const item of node) stripIds(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Json;
  if (isSchema) {
    delete obj['id'];
    delete obj['$schema'];
  }
  for (const [key, value] of Object.entries(obj)) {
    // The children of these are maps of schemas (names are not keywords there).
    const mapOfSchemas = key === 'properties' || key === 'patternProperties' || key === 'definitions';
    if (mapOfSchemas && value && typeof value === 'object') {
      for (const child of Object.values(value as Json)) stripIds(child);
    } else if (key !== 'enum' && key !== 'required' && key !== 'default') {
      stripIds(value);
    }
  }
}

const cache = new Map<string, Json>();

/** The schema of a normalized version, or undefined for a version without one. */
export function schemaFor(version: string): Json | undefined {
  const index = VERSIONS.indexOf(version as (typeof VERSIONS)[number]);
  if (index < 0) return undefined;
  let schema = cache.get(version);
  if (!schema) {
    schema = clone(SCHEMA_V3_13);
    for (let i = VERSIONS.length - 1; i > index; i--) DOWNGRADES[VERSIONS[i]!]!(schema);
    stripIds(schema);
    cache.set(version, schema);
  }
  return schema;
}
