// Docker's `filters` query parameter: URL-encoded JSON `{"key":{"value":true}}` (or the legacy
// `{"key":["value"]}`), validated against the keys each endpoint accepts.

import { invalidArgument } from './errors.js';
import { hasOwnKey, ownValue } from './own.js';

export class Filters {
  private constructor(private readonly terms: Map<string, Set<string>>) {}

  static empty(): Filters {
    return new Filters(new Map());
  }

  /** Parses the raw parameter and refuses keys outside `accepted` with Docker's message. */
  static parse(raw: string | null, accepted: readonly string[]): Filters {
    const terms = new Map<string, Set<string>>();
    if (raw !== null && raw !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // The Engine API checks the JSON first (src/engineapi/filters.ts), with Go's message.
        throw invalidArgument(`invalid filter: ${raw}`);
      }
      // `null` decodes to an empty map in Go: no filters.
      if (parsed === null) parsed = {};
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw invalidArgument(`invalid filter: ${raw}`);
      }
      for (const [key, values] of Object.entries(parsed as Record<string, unknown>)) {
        const set = new Set<string>();
        if (Array.isArray(values)) {
          for (const v of values) set.add(String(v));
        } else if (values !== null && typeof values === 'object') {
          for (const [v, on] of Object.entries(values as Record<string, unknown>)) if (on) set.add(v);
        } else {
          throw invalidArgument(`invalid filter: ${raw}`);
        }
        terms.set(key, set);
      }
    }
    for (const key of terms.keys()) {
      if (!accepted.includes(key)) throw invalidArgument(`Invalid filter '${key}'`);
    }
    return new Filters(terms);
  }

  has(key: string): boolean {
    return (this.terms.get(key)?.size ?? 0) > 0;
  }

  values(key: string): string[] {
    return [...(this.terms.get(key) ?? [])];
  }

  /** True when the key is absent, or one of its values equals `value` exactly. */
  matchExact(key: string, value: string | undefined): boolean {
    const set = this.terms.get(key);
    if (!set || set.size === 0) return true;
    return value !== undefined && set.has(value);
  }

  /** True when the key is absent, or one of its values is a prefix of `value` (Docker's ID/name filters). */
  matchPrefix(key: string, value: string | undefined): boolean {
    const set = this.terms.get(key);
    if (!set || set.size === 0) return true;
    if (value === undefined) return false;
    for (const v of set) if (value.startsWith(v)) return true;
    return false;
  }

  /**
   * Label filters (`key` or `key=value`): every term must hold. Docker requires all label terms to
   * match, unlike other keys where any value matches. Label names are the user's: only the map's own
   * entries count (`label=toString` matches no object that lacks such a label).
   */
  matchLabels(key: string, labels: Record<string, string> | undefined): boolean {
    const set = this.terms.get(key);
    if (!set || set.size === 0) return true;
    for (const term of set) {
      const eq = term.indexOf('=');
      if (eq < 0) {
        if (!hasOwnKey(labels, term)) return false;
      } else {
        if (ownValue(labels, term.slice(0, eq)) !== term.slice(eq + 1)) return false;
      }
    }
    return true;
  }
}
