// Secret and config calls of the control API: create, inspect, list, update (labels only), remove — what
// swarmkit's controlapi/secret.go and config.go do, behind what Docker's daemon adds in front of them
// (resolving a name or an ID prefix, daemon/cluster/secrets.go). Docker 20.10's texts and status codes.
//
// Secrets and configs share everything but three things: a secret's data never leaves the manager (see
// present.ts), a secret may name an external driver (refused here: shoal has no secret driver plugins, and
// a driver stored and ignored would hand tasks an empty secret), and the size limits differ (swarmkit:
// secrets below 500 KiB, configs below 1000 KiB since Docker 20.10.14).
//
// Nothing here may put a secret's data into an error message or a log line: the data is only compared
// and measured, never formatted.

import { timingSafeEqual } from 'node:crypto';
import { alreadyExists, invalidArgument, notFound, ShoalError } from '../../api/errors.js';
import type { Filters } from '../../api/filters.js';
import { newId } from '../../api/ids.js';
import { hasOwnKey, ownValue, setOwn } from '../../api/own.js';
import type { Config, ConfigSpec, Driver, Labels, Secret, SecretSpec, Service } from '../../api/types.js';
import type { ReadTx, WriteTx } from '../../store/objects.js';
import { checkSpecSize } from '../limits.js';

export type SecretKind = 'secret' | 'config';

type ObjectOf<K extends SecretKind> = K extends 'secret' ? Secret : Config;
type SpecOf<K extends SecretKind> = K extends 'secret' ? SecretSpec : ConfigSpec;

/** swarmkit's validation.MaxSecretSize: a secret's data must be shorter than this many bytes. */
export const MAX_SECRET_SIZE = 500 * 1024;
/** swarmkit's controlapi.MaxConfigSize (1000 KiB since Docker 20.10.14; 500 KiB before). */
export const MAX_CONFIG_SIZE = 1000 * 1024;

export const maxDataSize = (kind: SecretKind): number =>
  kind === 'secret' ? MAX_SECRET_SIZE : MAX_CONFIG_SIZE;

/** The only template driver swarmkit's agent knows (template/expand.go). */
export const TEMPLATE_DRIVER = 'golang';

/** swarmkit's isValidConfigOrSecretName: alphanumerics at both ends, `-`, `_` and `.` inside. */
const VALID_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

const invalid = (message: string): ShoalError => invalidArgument(message, { rpc: true });

/** swarmkit's validateConfigOrSecretAnnotations. */
export function validateName(name: string | undefined): void {
  if (!name) throw invalid('name must be provided');
  if (name.length > 64 || !VALID_NAME.test(name)) {
    throw invalid(
      'invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]',
    );
  }
}

/** The length in bytes of base64 data (as decoded by the Engine API, so always canonical). */
export function dataLength(data: string | undefined): number {
  if (!data) return 0;
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return (data.length / 4) * 3 - padding;
}

/**
 * What a create asks for, checked in swarmkit's order: the name, a secret's driver, the data's size; then
 * what shoal adds (the template driver). The data itself is never part of a message.
 */
export function validateSpec(kind: SecretKind, spec: SecretSpec | ConfigSpec): void {
  validateName(spec.Name);
  const driver = kind === 'secret' ? (spec as SecretSpec).Driver : undefined;
  if (driver) {
    if (!driver.Name) throw invalid('secret driver must have a name');
    // Docker looks the plugin up (and fails with `plugin "x" not found` when it is missing); shoal has
    // no secret driver plugins at all.
    throw invalidArgument(
      `secret driver "${driver.Name}" is not available: shoal has no secret driver plugins; create the secret with its data instead`,
    );
  }
  const size = dataLength(spec.Data);
  const max = maxDataSize(kind);
  if (size >= max || size < 1) {
    throw invalid(`${kind} data must be larger than 0 and less than ${max} bytes`);
  }
  checkTemplating(spec.Templating);
  checkSpecSize(spec, kind);
}

/**
 * Docker stores any template driver and every task using it then fails on its node (`unrecognized template
 * type`); shoal refuses it when it is written.
 */
function checkTemplating(templating: Driver | undefined): void {
  if (templating === undefined || templating.Name === TEMPLATE_DRIVER) return;
  throw invalidArgument(
    `template driver "${templating.Name ?? ''}" is not supported: the only template driver is "${TEMPLATE_DRIVER}"`,
  );
}

/** The stored object of a new secret or config: Docker's fields, labels `{}` when none were given. */
function newObject<K extends SecretKind>(spec: SpecOf<K>): ObjectOf<K> {
  const stored: SecretSpec = { Name: spec.Name, Labels: { ...(spec.Labels ?? {}) }, Data: spec.Data };
  if (spec.Templating) stored.Templating = { ...spec.Templating };
  return { ID: newId(), Version: { Index: 0 }, CreatedAt: '', UpdatedAt: '', Spec: stored } as ObjectOf<K>;
}

export function createSecretOrConfig<K extends SecretKind>(
  tx: WriteTx,
  kind: K,
  spec: SpecOf<K>,
): ObjectOf<K> {
  validateSpec(kind, spec);
  // Names are unique case-insensitively, as in swarmkit's store.
  if (tx.getByName(kind, spec.Name!)) throw alreadyExists(`${kind} ${spec.Name!} already exists`);
  const object = newObject<K>(spec);
  tx.create(kind, object as never);
  return object;
}

/**
 * daemon/cluster's getSecret / getConfig: the full ID, else the name (case-insensitively), else a unique ID
 * prefix. Not found is a 404, several matches a 400, both without swarmkit's prefix.
 */
export function resolveSecretOrConfig<K extends SecretKind>(tx: ReadTx, kind: K, ref: string): ObjectOf<K> {
  const byId = tx.get(kind, ref);
  if (byId) return byId as ObjectOf<K>;
  const byName = tx.getByName(kind, ref);
  if (byName) return byName as ObjectOf<K>;
  const matches = tx.list(kind).filter((o) => o.ID.startsWith(ref));
  if (matches.length === 0) throw notFound(`${kind} ${ref} not found`);
  if (matches.length > 1)
    throw invalidArgument(`${kind} ${ref} is ambiguous (${matches.length} matches found)`);
  return matches[0] as ObjectOf<K>;
}

/** Equal data, compared in constant time for secrets (swarmkit: subtle.ConstantTimeCompare). */
function sameData(a: string | undefined, b: string | undefined): boolean {
  const x = Buffer.from(a ?? '', 'base64');
  const y = Buffer.from(b ?? '', 'base64');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * swarmkit's UpdateSecret / UpdateConfig: only the labels may change. The name must be the same (exactly),
 * data may be left out or repeated unchanged (`docker stack deploy` sends it every time); anything else in
 * the spec is ignored. The version the client read is checked by the store write itself.
 */
export function updateSecretOrConfig<K extends SecretKind>(
  tx: WriteTx,
  kind: K,
  ref: string,
  version: number,
  spec: SpecOf<K>,
): void {
  const current = resolveSecretOrConfig(tx, kind, ref);
  if (current.Spec.Name !== spec.Name || (spec.Data && !sameData(spec.Data, current.Spec.Data))) {
    throw invalid('only updates to Labels are allowed');
  }
  checkSpecSize(spec, kind);
  const next = structuredClone(current);
  next.Spec.Labels = { ...(spec.Labels ?? {}) };
  next.Version = { Index: version };
  tx.update(kind, next as never);
}

/** The services whose current spec uses the secret or config (swarmkit's ByReferencedSecretID), by ID. */
export function servicesUsing(tx: ReadTx, kind: SecretKind, id: string): Service[] {
  return tx
    .list('service')
    .filter((service) => {
      const container = service.Spec.TaskTemplate?.ContainerSpec;
      return kind === 'secret'
        ? (container?.Secrets ?? []).some((ref) => ref.SecretID === id)
        : (container?.Configs ?? []).some((ref) => ref.ConfigID === id);
    })
    .sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
}

/** swarmkit's RemoveSecret / RemoveConfig: refused while a service uses it, naming the services. */
export function removeSecretOrConfig(tx: WriteTx, kind: SecretKind, ref: string): void {
  const object = resolveSecretOrConfig(tx, kind, ref);
  const users = servicesUsing(tx, kind, object.ID);
  if (users.length > 0) {
    const names = users.map((service) => service.Spec.Name ?? '').join(', ');
    throw invalid(
      `${kind} '${object.Spec.Name ?? ''}' is in use by the following ${users.length === 1 ? 'service' : 'services'}: ${names}`,
    );
  }
  tx.delete(kind, object.ID);
}

/**
 * swarmkit's ListSecrets / ListConfigs filters: the objects matching any `names` (exactly) or `name`
 * (prefix) — both case-insensitively — or `id` (prefix), all of them when none of these is given, then
 * those with every `label` (`key` for presence, `key=value`; a later term for the same key wins).
 */
export function listSecretsOrConfigs<K extends SecretKind>(
  tx: ReadTx,
  kind: K,
  filters: Filters,
): ObjectOf<K>[] {
  const names = filters.values('names').map((n) => n.toLowerCase());
  const prefixes = filters.values('name').map((n) => n.toLowerCase());
  const ids = filters.values('id');
  const selective = names.length + prefixes.length + ids.length > 0;
  const labels = labelTerms(filters.values('label'));
  return (tx.list(kind) as ObjectOf<K>[])
    .filter((object) => {
      if (selective) {
        const name = (object.Spec.Name ?? '').toLowerCase();
        const hit =
          names.includes(name) ||
          prefixes.some((p) => name.startsWith(p)) ||
          ids.some((p) => object.ID.startsWith(p));
        if (!hit) return false;
      }
      return matchLabels(object.Spec.Labels, labels);
    })
    .sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
}

/** runconfig's ConvertKVStringsToMap: `key=value`, or `key` alone (an empty value). */
function labelTerms(terms: readonly string[]): Labels {
  const out: Labels = {};
  for (const term of terms) {
    const eq = term.indexOf('=');
    if (eq < 0) setOwn(out, term, '');
    else setOwn(out, term.slice(0, eq), term.slice(eq + 1));
  }
  return out;
}

/** swarmkit's filterMatchLabels: each key present, with the value when one is given. */
function matchLabels(labels: Labels | undefined, wanted: Labels): boolean {
  for (const [key, value] of Object.entries(wanted)) {
    if (!hasOwnKey(labels, key)) return false;
    if (value !== '' && ownValue(labels, key) !== value) return false;
  }
  return true;
}
