// Image references as Docker's swarm executor uses them (github.com/distribution/reference): the name a
// container is created from is the familiar form with a tag added when there is none
// (`reference.FamiliarString(reference.TagNameOnly(ParseNormalizedNamed(image)))`): `busybox` becomes
// `busybox:latest`, `docker.io/library/busybox:1` becomes `busybox:1`, a digest stays as it is. A reference
// that does not parse is used as written, so that the engine words the error.

export interface ImageReference {
  /** `busybox:latest`, `registry.test:5000/app:1`, `app@sha256:…`, `app:1@sha256:…`. */
  familiar: string;
  /** The repository in its familiar form, without tag or digest (`busybox`, `registry.test:5000/app`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPOSITORY_PREFIX = 'library/';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** An image ID (`sha256:<64 hex>`): what moby's executor never pulls. */
const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

/** Whether the image is named by its ID, which is never pulled. */
export function isImageId(image: string): boolean {
  return IMAGE_ID.test(image);
}

/** The reference parsed and normalised, or undefined when it is not a valid reference. */
export function parseImageReference(raw: string): ImageReference | undefined {
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  if (rest === '' || rest.length > 255) return undefined;
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain !== DEFAULT_DOMAIN && !DOMAIN.test(domain)) return undefined;
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (!path.split('/').every((component) => PATH_COMPONENT.test(component))) return undefined;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPOSITORY_PREFIX + path;

  // Familiar form: the default domain and the official-images prefix left out.
  let repository = domain === DEFAULT_DOMAIN ? path : `${domain}/${path}`;
  if (domain === DEFAULT_DOMAIN && repository.startsWith(OFFICIAL_REPOSITORY_PREFIX)) {
    const short = repository.slice(OFFICIAL_REPOSITORY_PREFIX.length);
    if (!short.includes('/')) repository = short;
  }
  // TagNameOnly: a reference with neither tag nor digest gets `latest`.
  if (tag === undefined && digest === undefined) tag = 'latest';
  const familiar = `${repository}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`;
  return {
    familiar,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** The image name a task's container is created from (moby's containerConfig.image()). */
export function containerImage(raw: string): string {
  return parseImageReference(raw)?.familiar ?? raw;
}

/**
 * The query of `POST /images/create` that pulls the reference, as the docker client builds it: the
 * repository, and the digest when there is one (a digest pins the image whatever the tag), else the tag.
 */
export function pullQuery(reference: ImageReference): { fromImage: string; tag: string } {
  return { fromImage: reference.repository, tag: reference.digest ?? reference.tag ?? 'latest' };
}
