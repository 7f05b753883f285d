// What the docker CLI's client library does to a service's image before it sends a spec (moby's
// client/service_create.go, used by ServiceCreate and ServiceUpdate): the image is tagged `:latest` when it
// has neither tag nor digest (`busybox` → `busybox:latest`, in its familiar form), and, when the command asks
// for it (create, and update with a new `--image`, without `--no-resolve-image`), pinned to the digest the
// daemon finds on the registry through `GET /distribution/{image}/json`, with the registry's platforms as
// placement platforms. When that fails, for whatever reason, the spec keeps the tag and a warning is added
// to the daemon's warnings.

import { familiarString, parseNormalizedNamed, tagNameOnly, withDigest } from '../api/reference.js';
import type { EngineClient } from './client.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the spec as the wire shapes it
type Json = Record<string, any>;

/** imageWithTagString: the familiar reference, `:latest` added if needed; undefined if it does not parse. */
export function imageWithTagString(image: string): string | undefined {
  try {
    return familiarString(tagNameOnly(parseNormalizedNamed(image)));
  } catch {
    return undefined;
  }
}

/** imageWithDigestString: the familiar reference pinned to `digest` (a tag is kept), or the image as given. */
export function imageWithDigestString(image: string, digest: string): string {
  try {
    const ref = parseNormalizedNamed(image);
    if (ref.digest) return image;
    return familiarString(withDigest(ref, digest));
  } catch {
    return image;
  }
}

/** digestWarning, word for word. */
export function digestWarning(image: string): string {
  return (
    `image ${image} could not be accessed on a registry to record\n` +
    `its digest. Each node will access ${image} independently,\n` +
    'possibly leading to different nodes running different\n' +
    'versions of the image.\n'
  );
}

/**
 * Tags the image of `spec` (a ServiceSpec) and, with `queryRegistry`, pins it to its digest, as Docker's
 * client library does before create and update. Returns the warning to print when it could not be pinned.
 */
export async function prepareServiceImage(
  client: EngineClient,
  spec: Json,
  options: { queryRegistry: boolean; registryAuth?: string | undefined },
): Promise<string | undefined> {
  const task: Json | undefined = spec.TaskTemplate;
  const holder: Json | undefined = task?.ContainerSpec ?? task?.PluginSpec;
  if (!task || !holder) return undefined;
  const field = task.ContainerSpec ? 'Image' : 'Remote';
  const tagged = imageWithTagString(String(holder[field] ?? ''));
  if (tagged !== undefined) holder[field] = tagged;
  if (!options.queryRegistry) return undefined;
  const image = String(holder[field] ?? '');
  try {
    if (image === '') throw new Error('no image');
    const found = await client.distributionInspect(image, options.registryAuth);
    holder[field] = imageWithDigestString(image, found.Descriptor?.digest ?? '');
    const platforms = (found.Platforms ?? []).map((p) => ({
      // swarmkit#2294: manifests say `arm` where nodes say `armv7l`, so the architecture is left out.
      Architecture: p.architecture?.toLowerCase() === 'arm' ? '' : (p.architecture ?? ''),
      OS: p.os ?? '',
    }));
    if (platforms.length > 0) {
      task.Placement ??= {};
      task.Placement.Platforms = platforms;
    }
    return undefined;
  } catch {
    return digestWarning(image);
  }
}
