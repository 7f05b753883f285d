// Join tokens, the CA's side: making them, and telling which role a presented token grants. The joining
// node's side (parsing, pinning the root CA by the digest) is in src/api/certs.ts. Format and comparison
// as swarmkit's GenerateJoinToken (ca/config.go) and IssueNodeCertificate (ca/server.go).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { JOIN_TOKEN_SECRET_LENGTH, joinTokenDigest } from '../../api/certs.js';
import { invalidArgument } from '../../api/errors.js';
import type { JoinTokens, NodeRole } from '../../api/types.js';

const SECRET_BYTES = 16;

export interface GenerateJoinTokenOptions {
  /** FIPS clusters use the v2 format, `SWMTKN-2-1-…`, so that non-FIPS nodes refuse to join. */
  fips?: boolean;
}

/**
 * A new join token for the cluster whose root CA is `rootCAPem`: `SWMTKN-1-<digest>-<secret>`, where the
 * digest pins the root CA (50 base-36 characters) and the secret is 16 random bytes (25 base-36
 * characters); 85 characters in all.
 */
export function generateJoinToken(rootCAPem: string, options: GenerateJoinTokenOptions = {}): string {
  const secret = BigInt('0x' + randomBytes(SECRET_BYTES).toString('hex'))
    .toString(36)
    .padStart(JOIN_TOKEN_SECRET_LENGTH, '0');
  const version = options.fips ? '2-1' : '1';
  return `SWMTKN-${version}-${joinTokenDigest(rootCAPem)}-${secret}`;
}

/** Fresh worker and manager tokens: same digest, independent secrets. */
export function generateJoinTokens(rootCAPem: string, options: GenerateJoinTokenOptions = {}): JoinTokens {
  return { Worker: generateJoinToken(rootCAPem, options), Manager: generateJoinToken(rootCAPem, options) };
}

/**
 * The role a joining node's token grants. Compared with both current tokens in constant time (hashing
 * first, so neither content nor length leaks through timing); the manager token wins should both match.
 * Throws swarmkit's InvalidArgument when neither matches.
 */
export function roleForJoinToken(presented: string, tokens: JoinTokens): NodeRole {
  const isManager = tokens.Manager !== '' && sameToken(presented, tokens.Manager);
  const isWorker = tokens.Worker !== '' && sameToken(presented, tokens.Worker);
  if (isManager) return 'manager';
  if (isWorker) return 'worker';
  throw invalidArgument('A valid join token is necessary to join this cluster', { rpc: true });
}

function sameToken(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
