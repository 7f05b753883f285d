// Which events a `GET /events` filter lets through, as dockerd's daemon/events/filter.go decides it:
//
// - `type`, `scope`: the value exactly; `event`: the action exactly (by prefix when one of the values is
//   `health_status`, `exec_create` or `exec_start`, Docker's concession to `event=health_status`);
// - `container`, `daemon`, `plugin`, `volume`, `network`, `node`, `service`, `secret`, `config`: the actor's
//   ID or its `name` attribute, exactly or by prefix — whatever the event's type, so `service=web` also
//   keeps a network named `web…` and drops every node event;
// - `image`: the actor's ID or `image` attribute, with or without its tag;
// - `label`: `key` or `key=value` terms over the actor's attributes (swarm events carry no labels, so
//   only `label=name…` can match them), all of which must hold.
//
// Several values of one key are alternatives; different keys must all match. dockerd ignores keys it
// does not know (and then lets every event through); shoal's Engine API refuses them with Docker's
// `Invalid filter` error, as it does on every other endpoint (see docs/architecture.md §11).

import type { Filters } from '../../api/filters.js';
import type { EventMessage } from '../../api/control.js';

/** Keys matched against the actor's ID or name, whatever the event's type. */
const NAME_KEYS = [
  'daemon',
  'container',
  'plugin',
  'volume',
  'network',
  'node',
  'service',
  'secret',
  'config',
] as const;

const FUZZY_EVENT_VALUES: ReadonlySet<string> = new Set(['health_status', 'exec_create', 'exec_start']);

/** dockerd's Filter.Include. */
export function eventMatches(filters: Filters, event: EventMessage): boolean {
  const attributes = event.Actor.Attributes;
  return (
    matchAction(filters, event.Action) &&
    filters.matchExact('type', event.Type) &&
    filters.matchExact('scope', event.scope) &&
    NAME_KEYS.every(
      (key) => filters.matchPrefix(key, event.Actor.ID) || filters.matchPrefix(key, attributes.name),
    ) &&
    matchImage(filters, event) &&
    // Attributes in an object without a prototype, so that `label=constructor` is not found on it.
    filters.matchLabels('label', Object.assign(Object.create(null) as Record<string, string>, attributes))
  );
}

function matchAction(filters: Filters, action: string): boolean {
  if (filters.values('event').some((v) => FUZZY_EVENT_VALUES.has(v)))
    return filters.matchPrefix('event', action);
  return filters.matchExact('event', action);
}

function matchImage(filters: Filters, event: EventMessage): boolean {
  if (!filters.has('image')) return true;
  const id = event.Actor.ID;
  const image = Object.hasOwn(event.Actor.Attributes, 'image') ? event.Actor.Attributes.image! : '';
  const wanted = new Set(filters.values('image'));
  return [id, image, familiarName(id), familiarName(image)].some((v) => wanted.has(v));
}

const REFERENCE =
  /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$/;

/**
 * An image reference without tag, digest and Docker Hub's default prefixes (`docker.io/library/x:1` →
 * `x`), as reference.FamiliarName(ParseNormalizedNamed(ref)) gives it; anything that is not a reference
 * (or is a 64-hex ID) as it is.
 */
export function familiarName(ref: string): string {
  if (ref === '' || /^[a-f0-9]{64}$/.test(ref) || !REFERENCE.test(ref)) return ref;
  let name = ref.replace(/@.*$/, '');
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (name.startsWith(prefix)) {
      name = name.slice(prefix.length);
      break;
    }
  }
  return name;
}
