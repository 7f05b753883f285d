// API version negotiation, as the Docker Engine does it: every path may carry a `/vX.Y` prefix, versions
// outside [MIN, MAX] are refused, and an unversioned path means the newest version.

import { invalidArgument } from '../api/errors.js';

/** Oldest API version accepted (Docker Engine 25+ also starts at 1.24). */
export const MIN_API_VERSION = '1.24';
/** Newest API version whose request shapes shoal handles; advertised in `/_ping` and `/version`. */
export const MAX_API_VERSION = '1.44';

export function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

export interface VersionedPath {
  /** The version the client asked for, or MAX_API_VERSION for an unversioned path. */
  version: string;
  path: string;
}

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

/** Splits `/v1.41/services` into version and path; throws Docker's errors for unsupported versions. */
export function parseVersionedPath(rawPath: string): VersionedPath {
  const match = VERSION_PREFIX.exec(rawPath);
  if (!match) return { version: MAX_API_VERSION, path: rawPath };
  const version = match[1]!;
  if (compareVersions(version, MAX_API_VERSION) > 0) {
    throw invalidArgument(
      `client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`,
    );
  }
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw invalidArgument(
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  return { version, path: match[2]! };
}
