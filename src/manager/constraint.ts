// Placement constraints (`node.labels.zone==east`), parsed and matched as swarmkit does: keys are
// case-insensitive, values compare case-insensitively, label names are case-sensitive, and a missing
// field or label compares as the empty string (so `!=` matches nodes that lack it).
//
// Label names come from users (constraints, node labels) and from nodes (engine labels): a label is an
// own property of the label map holding a string, never something the map's prototype has under that
// name (`node.labels.toString`), and a value of another type (stored by an older manager) is no value.

import { ShoalError } from '../api/errors.js';
import { ownString } from '../api/own.js';
import type { Node } from '../api/types.js';

export interface Constraint {
  key: string;
  operator: '==' | '!=';
  value: string;
}

const KEY_PATTERN = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE_PATTERN = /^(?:[a-z0-9:\-_\s.*()?+[\]\\^$|/])+$/i;

/** swarmkit raises these as plain errors, so they reach Docker's API as `rpc error: code = Unknown`. */
const constraintError = (message: string): ShoalError => new ShoalError('Unknown', message, { rpc: true });

export function parseConstraint(expression: string): Constraint {
  for (const operator of ['==', '!='] as const) {
    const at = expression.indexOf(operator);
    if (at < 0) continue;
    const key = expression.slice(0, at).trim();
    const value = expression.slice(at + operator.length).trim();
    if (!KEY_PATTERN.test(key)) throw constraintError(`key '${key}' is invalid`);
    if (!VALUE_PATTERN.test(value)) throw constraintError(`value '${value}' is invalid`);
    return { key, operator, value };
  }
  throw constraintError('constraint expected one operator from ==, !=');
}

export function parseConstraints(expressions: readonly string[] | undefined): Constraint[] {
  return (expressions ?? []).map(parseConstraint);
}

/** A field the store holds as a string; anything else (absent, or of another type) reads as ''. */
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The node label `name` (`--label-add`), '' when the node has none of that name. */
export function nodeLabelValue(node: Node, name: string): string {
  return ownString(node.Spec?.Labels, name) ?? '';
}

/** The engine label `name` (shoald's `--label`, from the node's description), '' when absent. */
export function engineLabelValue(node: Node, name: string): string {
  return ownString(node.Description?.Engine?.Labels, name) ?? '';
}

/** The node's value for a constraint key, or undefined for keys that never match. */
function nodeValue(node: Node, key: string): string | undefined {
  const lower = key.toLowerCase();
  switch (lower) {
    case 'node.id':
      return text(node.ID);
    case 'node.hostname':
      return text(node.Description?.Hostname);
    case 'node.role':
      return text(node.Role ?? node.Spec.Role);
    case 'node.platform.os':
      return text(node.Description?.Platform?.OS);
    case 'node.platform.arch':
      return text(node.Description?.Platform?.Architecture);
  }
  if (lower.startsWith('node.labels.')) return nodeLabelValue(node, key.slice('node.labels.'.length));
  if (lower.startsWith('engine.labels.')) return engineLabelValue(node, key.slice('engine.labels.'.length));
  return undefined;
}

function ipMatches(nodeAddr: string, value: string): boolean {
  const [net, bitsText] = value.split('/');
  const toInt = (ip: string): number | undefined => {
    const parts = ip.split('.');
    if (parts.length !== 4) return undefined;
    let n = 0;
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
      n = n * 256 + Number(p);
    }
    return n;
  };
  const a = toInt(nodeAddr);
  const b = toInt(net ?? '');
  if (a === undefined || b === undefined) return false;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

export function nodeMatches(constraint: Constraint, node: Node): boolean {
  if (constraint.key.toLowerCase() === 'node.ip') {
    const matches = ipMatches(text(node.Status?.Addr), constraint.value);
    return constraint.operator === '==' ? matches : !matches;
  }
  const actual = nodeValue(node, constraint.key);
  if (actual === undefined) return false;
  const equal = actual.toLowerCase() === constraint.value.toLowerCase();
  return constraint.operator === '==' ? equal : !equal;
}

export function nodeMatchesAll(constraints: readonly Constraint[], node: Node): boolean {
  return constraints.every((c) => nodeMatches(c, node));
}
