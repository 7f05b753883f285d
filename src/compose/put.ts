// setOwn (api/own.ts) with the value type taken from the record: Compose maps are keyed by what users
// write, so every write by such a key goes through here.

import { setOwn } from '../api/own.js';

export function put<R extends Record<string, unknown>>(record: R, key: string, value: R[string]): void {
  setOwn<unknown>(record as Record<string, unknown>, key, value);
}
