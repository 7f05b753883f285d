import { randomBytes } from 'node:crypto';

const ID_LENGTH = 25;

/**
 * A new object ID in swarmkit's format: 17 random bytes with the top bit of the first byte set, read as
 * a big-endian integer and written in base 36; the first digit is dropped (it carries little randomness
 * because of the forced bit) and the next 25 are kept. Always 25 lowercase characters.
 */
export function newId(): string {
  const bytes = randomBytes(17);
  bytes[0] = bytes[0]! | 0x80;
  const digits = BigInt('0x' + bytes.toString('hex')).toString(36);
  return digits.slice(1, 1 + ID_LENGTH);
}

export function isFullId(s: string): boolean {
  return s.length === ID_LENGTH && /^[0-9a-z]+$/.test(s);
}
