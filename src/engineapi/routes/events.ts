// `GET /events`: the swarm events of a manager as dockerd streams them — newline-delimited JSON, one event
// per chunk, `Content-Type: application/json`, headers sent at once. With `since` and/or `until` the
// remembered events of that window come first; with an `until` in the past the response then ends,
// otherwise new events follow until `until` (or until the client goes away).
//
// A node that is not a manager (a worker, or a node outside any swarm) has no swarm events. With an engine
// (`shoald --engine-host`), the engine's own events — containers, images, volumes, local networks, plugins,
// the daemon — are merged into the same stream, as dockerd streams its container events beside the swarm's:
// the engine applies the same filters, `since` and `until` (engine-events.ts). With a window, the past
// events of both are written first, in time order; then new events of either as they come. Without an
// engine, a node that is not a manager answers an empty stream.

import { invalidArgument, isShoalError } from '../../api/errors.js';
import { goQuote, NumError, parseIntBig } from '../../api/strconv.js';
import type { EventMessage } from '../../api/control.js';
import type { ControlBackend, EngineBackend } from '../backend.js';
import type { EngineEvent, EngineEvents } from '../engine-events.js';
import { filtersQuery } from '../filters.js';
import type { Reply, RequestContext } from '../http.js';
import type { Router } from '../router.js';

/**
 * The filter keys dockerd's event filter looks at (daemon/events/filter.go). dockerd ignores any other key,
 * and then lets every event through; shoal refuses it with `Invalid filter 'KEY'`, as on other endpoints.
 */
export const EVENT_FILTERS = [
  'config',
  'container',
  'daemon',
  'event',
  'image',
  'label',
  'network',
  'node',
  'plugin',
  'scope',
  'secret',
  'service',
  'type',
  'volume',
] as const;

/**
 * Output a client has not read yet beyond which new events are dropped for it, as dockerd skips a
 * listener that does not take an event within 100 ms: a stuck client must not grow the daemon's memory.
 */
const MAX_UNREAD_BYTES = 1 << 20;

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function registerEventRoutes(router: Router, backend: EngineBackend, engine?: EngineEvents): void {
  router.get('/events', (ctx) => streamEvents(ctx, backend, engine));
}

async function streamEvents(
  ctx: RequestContext,
  backend: EngineBackend,
  engine: EngineEvents | undefined,
): Promise<Reply> {
  // dockerd's order of checks: since, until, their order, then the filters.
  const rawSince = ctx.query.get('since') ?? '';
  const rawUntil = ctx.query.get('until') ?? '';
  const since = parseEventTime(rawSince, 'since');
  const until = parseEventTime(rawUntil, 'until');
  if (until !== undefined && since !== undefined && until < since) {
    throw invalidArgument(`\`since\` time (${rawSince}) cannot be after \`until\` time (${rawUntil})`);
  }
  const now = nowNanos();
  const onlyPast = until !== undefined && until < now;
  const windowed = since !== undefined || until !== undefined;
  const filters = filtersQuery(ctx.query, EVENT_FILTERS);
  const control = managerControl(backend);
  const engineRequest = { version: ctx.version, filters: ctx.query.get('filters') };

  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const write = (line: string): void => {
    if (res.writableEnded || res.destroyed || res.writableLength > MAX_UNREAD_BYTES) return;
    res.write(line);
  };
  /** Swarm events held back while the engine's past events are read, so that the past comes first. */
  let held: EventMessage[] | undefined = engine && windowed ? [] : undefined;
  const send = (event: EventMessage): void => {
    if (held) held.push(event);
    else write(encodeEvent(event));
  };
  const sendEngine = (event: EngineEvent): void => write(event.line);

  const request = { since, until, filters };
  if (onlyPast) {
    const replay = control?.subscribeEvents(request, () => undefined);
    replay?.close();
    const enginePast = engine ? await engine.past(engineRequest, since, until, ctx.signal) : [];
    for (const line of mergeByTime(replay?.past ?? [], enginePast)) write(line);
  } else {
    await new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let follow: { close: () => void } | undefined;
      let finished = false;
      const subscription = control?.subscribeEvents(request, send);
      const finish = (): void => {
        finished = true;
        clearTimeout(timer);
        subscription?.close();
        follow?.close();
        ctx.signal.removeEventListener('abort', finish);
        resolve();
      };
      if (engine && windowed) {
        // The engine's remembered events up to now, merged with the swarm's by time; then both live.
        void engine.past(engineRequest, since, now, ctx.signal).then((enginePast) => {
          if (finished) return;
          for (const line of mergeByTime(subscription?.past ?? [], enginePast)) write(line);
          const waiting = held ?? [];
          held = undefined;
          for (const event of waiting) send(event);
          const from = since !== undefined && since > now ? since : now + 1n;
          follow = engine.follow(engineRequest, from, until, sendEngine);
        });
      } else {
        for (const event of subscription?.past ?? []) send(event);
        if (engine) follow = engine.follow(engineRequest, undefined, until, sendEngine);
      }
      if (ctx.signal.aborted) return finish();
      ctx.signal.addEventListener('abort', finish, { once: true });
      if (until !== undefined) {
        const arm = (): void => {
          const left = Number((until - nowNanos()) / 1_000_000n) + 1;
          if (left <= 0) return finish();
          timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        };
        arm();
      }
    });
  }
  if (!res.writableEnded) res.end();
  return { streamed: true };
}

/**
 * Swarm and engine events, each list in time order, as one list of lines in time order (the swarm's
 * first at equal times).
 */
export function mergeByTime(swarm: readonly EventMessage[], engine: readonly EngineEvent[]): string[] {
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < swarm.length || j < engine.length) {
    if (j >= engine.length || (i < swarm.length && swarm[i]!.timeNano <= engine[j]!.timeNano)) {
      lines.push(encodeEvent(swarm[i++]!));
    } else {
      lines.push(engine[j++]!.line);
    }
  }
  return lines;
}

/** The control API when this node is a manager; undefined when it has none to offer (no swarm events). */
function managerControl(backend: EngineBackend): ControlBackend | undefined {
  try {
    return backend.control();
  } catch (err) {
    if (isShoalError(err) && err.code === 'Unavailable') return undefined;
    throw err;
  }
}

function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * `since`/`until` as dockerd reads them: Unix seconds with an optional fraction (`1700000000.5`: the
 * fraction's digits are nanoseconds, right-padded to nine, cut after nine, at most twenty). shoal also
 * takes an RFC 3339 time, which dockerd refuses (its CLI converts such times before sending them).
 * Returns Unix nanoseconds, or undefined for an absent or empty parameter.
 */
export function parseEventTime(raw: string | null, name: string): bigint | undefined {
  if (raw === null || raw === '') return undefined;
  const fail = (why: string): never => {
    throw invalidArgument(`invalid value for '${name}': invalid timestamp ${goQuote(raw)}: ${why}`);
  };
  const rfc = RFC3339.exec(raw);
  if (rfc) {
    const wholeSecondMs = Date.parse(`${rfc[1]}T${rfc[2]}${rfc[4]!.toUpperCase()}`);
    if (Number.isNaN(wholeSecondMs)) fail(`parsing time ${goQuote(raw)}: day out of range`);
    return BigInt(wholeSecondMs) * 1_000_000n + BigInt((rfc[3] ?? '').padEnd(9, '0'));
  }
  const dot = raw.indexOf('.');
  const secondsText = dot < 0 ? raw : raw.slice(0, dot);
  const fraction = dot < 0 ? '' : raw.slice(dot + 1);
  let seconds = 0n;
  try {
    seconds = parseIntBig(secondsText, 10, 64);
  } catch (err) {
    if (!(err instanceof NumError)) throw err;
    fail(`invalid seconds ${goQuote(secondsText)}: ${err.reason}`);
  }
  if (fraction.length > 20) fail(`invalid nanoseconds: length ${fraction.length} exceeds maximum 20`);
  const bad = /[^0-9]/.exec(fraction);
  if (bad) fail(`invalid nanoseconds: invalid character '${bad[0]}' at position ${bad.index}`);
  return seconds * 1_000_000_000n + BigInt(fraction.slice(0, 9).padEnd(9, '0'));
}

/** An event as dockerd's json.Encoder writes it: compact, HTML characters escaped, a newline after. */
export function encodeEvent(event: EventMessage): string {
  const attributes = Object.entries(event.Actor.Attributes)
    .map(([k, v]) => `${jsonString(k)}:${jsonString(v)}`)
    .join(',');
  return (
    `{"Type":${jsonString(event.Type)},"Action":${jsonString(event.Action)},` +
    `"Actor":{"ID":${jsonString(event.Actor.ID)},"Attributes":{${attributes}}},` +
    `"scope":${jsonString(event.scope)},"time":${event.time},"timeNano":${event.timeNano}}\n`
  );
}

function jsonString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
