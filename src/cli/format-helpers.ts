// Small display rules shared by the list and inspect commands (docker/cli formatter helpers,
// go-units, fvbommel/sortorder, distribution/reference), reproduced because the tables must match
// Docker's character for character.

import { runeWidth } from './format/tabwriter.js';

/** stringid.TruncateID: the first 12 characters of an ID. */
export function truncateID(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

/** formatter.Ellipsis: cuts `s` to `max` display columns, ending with `…` when cut. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const runes = [...s];
  if (max === 1) return runes[0] ?? '';
  if (Buffer.byteLength(s) === runes.length) {
    return runes.length <= max ? s : runes.slice(0, max - 1).join('') + '…';
  }
  const widths: number[] = [];
  let total = 0;
  for (const r of runes) {
    total += runeWidth(r.codePointAt(0)!);
    widths.push(total);
  }
  if (total <= max) return s;
  for (let i = 0; i + 1 < widths.length; i++) {
    if (widths[i]! <= max - 1 && widths[i + 1]! > max - 1) return runes.slice(0, i + 1).join('') + '…';
  }
  return s;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** sortorder.NaturalLess: numbers inside strings compare by value (`web2` < `web10`). */
export function naturalLess(a: string, b: string): boolean {
  const s1 = Buffer.from(a);
  const s2 = Buffer.from(b);
  let i1 = 0;
  let i2 = 0;
  while (i1 < s1.length && i2 < s2.length) {
    const c1 = s1[i1]!;
    const c2 = s2[i2]!;
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2;
      i1++;
      i2++;
      continue;
    }
    while (i1 < s1.length && s1[i1] === 48) i1++;
    while (i2 < s2.length && s2[i2] === 48) i2++;
    const nz1 = i1;
    const nz2 = i2;
    while (i1 < s1.length && isDigit(s1[i1]!)) i1++;
    while (i2 < s2.length && isDigit(s2[i2]!)) i2++;
    if (i1 - nz1 !== i2 - nz2) return i1 - nz1 < i2 - nz2;
    const n1 = s1.subarray(nz1, i1).toString();
    const n2 = s2.subarray(nz2, i2).toString();
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  return s1.length < s2.length;
}

/** A comparator for Array.sort from naturalLess. */
export function naturalCompare(a: string, b: string): number {
  return naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?';
const REFERENCE = new RegExp(
  `^((?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);

/**
 * How service and task tables show an image: a tagged reference without its digest and in its
 * familiar form (`docker.io/library/busybox:1@sha256:…` → `busybox:1`); anything else as given.
 */
export function displayImage(image: string): string {
  const m = REFERENCE.exec(image);
  if (!m || !m[2]) return image;
  let name = m[1]!;
  const first = name.split('/')[0]!;
  const hasDomain =
    name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain && name !== name.toLowerCase()) return image;
  if (name.startsWith('docker.io/')) name = name.slice('docker.io/'.length);
  else if (name.startsWith('index.docker.io/')) name = name.slice('index.docker.io/'.length);
  if (name.startsWith('library/') && name.split('/').length === 2) name = name.slice('library/'.length);
  return `${name}:${m[2]}`;
}

/** Go's time.Time String() of an RFC 3339 timestamp (it lives with Go's fmt, which prints times too). */
export { rfc3339GoString as goTimeString } from '../api/gotemplate/gofmt.js';
