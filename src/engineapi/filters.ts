// The `filters` query parameter as dockerd reads it: json.Unmarshal into map[string]map[string]bool, then,
// if that fails, into the legacy map[string][]string; if both fail, the first error is the answer. Docker
// 20.10 returned it as a 500; later engines say 400 (a client error), as shoal does. The text is Go's.

import { Filters } from '../api/filters.js';
import { bool, decodeBody, map, slice, str } from './decode.js';

const CURRENT = map(map(bool()));
const LEGACY = map(slice(str()));

/** Parses `filters` from the query, refusing malformed JSON with Go's message and unknown keys with Docker's. */
export function filtersQuery(query: URLSearchParams, accepted: readonly string[]): Filters {
  const raw = query.get('filters');
  if (raw !== null && raw !== '') {
    try {
      decodeBody(raw, CURRENT, { mode: 'unmarshal' });
    } catch (err) {
      try {
        decodeBody(raw, LEGACY, { mode: 'unmarshal' });
      } catch {
        throw err;
      }
    }
  }
  return Filters.parse(raw, accepted);
}
