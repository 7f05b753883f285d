// Image references as Docker parses, normalises and prints them: Go's github.com/distribution/reference
// (v0.6, which the docker CLI 28 and dockerd vendor) and the digest checks of opencontainers/go-digest,
// reproduced with their error texts. `busybox` is `docker.io/library/busybox` in its normalised form and
// `busybox` again in its familiar one; `TagNameOnly` adds `:latest` to a reference with neither tag nor
// digest. (Go's regexps are linear-time and JavaScript's backtrack; these patterns have no ambiguous
// repetition, and 100,000-character inputs are matched or refused in milliseconds.)

/** A parsed reference: a name (domain and path), a tag, a digest — each but the path optional. */
export interface ImageReference {
  /** `docker.io`, `registry.test:5000`, … ; empty when the reference names none (before normalising). */
  readonly domain: string;
  /** `library/busybox`, `team/app`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A reference error, with Go's text. */
export class ReferenceError extends Error {
  override name = 'ReferenceError';
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;

const optional = (...res: string[]): string => `(?:${res.join('')})?`;
const anyTimes = (...res: string[]): string => `(?:${res.join('')})*`;
const capture = (...res: string[]): string => `(${res.join('')})`;
const anchored = (...res: string[]): RegExp => new RegExp(`^${res.join('')}$`);

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const identifier = '([a-f0-9]{64})';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = domainNameComponent + anyTimes('\\.', domainNameComponent);
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = alphanumeric + anyTimes(separator, alphanumeric);
const remoteName = pathComponent + anyTimes('/', pathComponent);
const namePattern = optional(domainAndPort, '/') + remoteName;

const ANCHORED_NAME = anchored(optional(capture(domainAndPort), '/'), capture(remoteName));
const REFERENCE = anchored(
  capture(namePattern),
  optional(':', capture(tagPattern)),
  optional('@', capture(digestPattern)),
);
const ANCHORED_IDENTIFIER = anchored(identifier);
const ANCHORED_DIGEST = anchored(digestPattern);

/** go-digest's algorithms dockerd and the CLI can check, with their hex lengths. */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest's `Digest.Validate` (what `digest.Parse` checks). */
export function validateDigest(digest: string): void {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon + 1 === digest.length) throw new ReferenceError('invalid checksum digest format');
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const length = Object.hasOwn(DIGEST_HEX_LENGTH, algorithm) ? DIGEST_HEX_LENGTH[algorithm] : undefined;
  if (length === undefined) {
    if (!ANCHORED_DIGEST.test(digest)) throw new ReferenceError('invalid checksum digest format');
    throw new ReferenceError('unsupported digest algorithm');
  }
  if (encoded.length !== length) throw new ReferenceError('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(encoded)) throw new ReferenceError('invalid checksum digest format');
}

/** `reference.Parse`: a reference as written, not normalised (`busybox` has no domain). */
export function parseReference(s: string): ImageReference {
  const m = REFERENCE.exec(s);
  if (!m) {
    if (s === '') throw new ReferenceError('repository name must have at least one component');
    if (REFERENCE.test(s.toLowerCase())) {
      throw new ReferenceError('repository name must be lowercase');
    }
    throw new ReferenceError('invalid reference format');
  }
  const name = ANCHORED_NAME.exec(m[1]!);
  const domain = name?.[1] ?? '';
  const path = name ? name[2]! : m[1]!;
  if (path.length > REPOSITORY_NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceError(
      `repository name must not be more than ${REPOSITORY_NAME_TOTAL_LENGTH_MAX} characters`,
    );
  }
  const digest = m[3];
  if (digest) validateDigest(digest);
  return { domain, path, ...(m[2] && { tag: m[2] }), ...(digest && { digest }) };
}

/** splitDockerDomain: the domain (docker.io if none) and the path (`library/…` for official images). */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
  const maybeDomain = name.slice(0, slash);
  const maybeRemainder = name.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (maybeDomain === 'localhost') [domain, remainder] = [maybeDomain, maybeRemainder];
  else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, remainder] = [DEFAULT_DOMAIN, maybeRemainder];
  else if (/[.:]/.test(maybeDomain)) [domain, remainder] = [maybeDomain, maybeRemainder];
  else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remainder] = [maybeDomain, maybeRemainder];
  else [domain, remainder] = [DEFAULT_DOMAIN, name];
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** `reference.ParseNormalizedNamed`: `busybox:1` → docker.io/library/busybox:1. Throws Go's errors. */
export function parseNormalizedNamed(s: string): ImageReference {
  if (ANCHORED_IDENTIFIER.test(s)) {
    throw new ReferenceError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new ReferenceError(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseReference(`${domain}/${remainder}`);
}

/**
 * `reference.ParseAnyReference`: a 64-hex image ID or a bare digest (`{digest}` only), or a normalised name.
 */
export function parseAnyReference(s: string): ImageReference | { digest: string } {
  if (ANCHORED_IDENTIFIER.test(s)) return { digest: `sha256:${s}` };
  try {
    validateDigest(s);
    return { digest: s };
  } catch {
    return parseNormalizedNamed(s);
  }
}

/** The name: `domain/path`, or the path alone. */
export function referenceName(ref: ImageReference): string {
  return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}

/** `String()`: `name[:tag][@digest]`. */
export function referenceString(ref: ImageReference): string {
  return `${referenceName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** `reference.FamiliarString`: docker.io/library/busybox:1 → busybox:1; other domains are kept. */
export function familiarString(ref: ImageReference): string {
  let { domain, path } = ref;
  if (domain === DEFAULT_DOMAIN) {
    domain = '';
    const rest = path.startsWith(OFFICIAL_REPO_PREFIX) ? path.slice(OFFICIAL_REPO_PREFIX.length) : undefined;
    if (rest !== undefined && !rest.includes('/')) path = rest;
  }
  return referenceString({ ...ref, domain, path });
}

/** `reference.TagNameOnly`: `:latest` for a reference with neither tag nor digest. */
export function tagNameOnly(ref: ImageReference): ImageReference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: DEFAULT_TAG };
}

/** `reference.WithDigest`: the reference (its tag kept) pinned to `digest`. */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  if (!ANCHORED_DIGEST.test(digest)) throw new ReferenceError('invalid digest format');
  return { ...ref, digest };
}
