// The swarm's unlock key (autolock) as people see it, in swarmkit's format: `SWMKEY-1-` followed by the 32
// key bytes in unpadded standard base64 (encryption.HumanReadableKey / ParseHumanReadableKey).

import { randomBytes } from 'node:crypto';

const PREFIX = 'SWMKEY-1-';
const KEY_BYTES = 32;

export function newUnlockKey(): string {
  return formatUnlockKey(randomBytes(KEY_BYTES));
}

export function formatUnlockKey(key: Buffer): string {
  return PREFIX + key.toString('base64').replace(/=+$/, '');
}

/** The key's bytes, or undefined when `text` is not an unlock key (Docker then says "invalid key string"). */
export function parseUnlockKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PREFIX)) return undefined;
  const encoded = trimmed.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+$/.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== KEY_BYTES || formatUnlockKey(key) !== trimmed) return undefined;
  return key;
}
