// `shoal events` (docker/cli cli/command/system/events.go): the daemon's events as they happen, or those of a
// window (`--since`, `--until`, each a Unix time, an RFC 3339 time or a duration before now, converted here
// to Unix seconds as the docker CLI does), printed one per line in Docker's text form or with `--format`.

import { StringDecoder } from 'node:string_decoder';
import { parseDuration } from '../../api/duration.js';
import type { Cli } from '../cli.js';
import { leaf, noArgs } from '../command.js';
import { StatusError } from '../errors.js';
import { JSON_FORMAT, JSON_FORMAT_KEY } from '../format/formatter.js';
import { goStruct } from '../format/govalue.js';
import { Template, TemplateError } from '../format/template.js';
import { sinceTimestamp } from '../logs.js';
import { INSPECT_FORMAT_HELP } from './help-texts.js';
import { filterFlag } from './node.js';

/** An event as the docker CLI decodes it into events.Message: Go's field names, int64 times (bigints). */
export interface EventView {
  Status: string;
  ID: string;
  From: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> | null };
  Scope: string;
  Time: bigint;
  TimeNano: bigint;
}

export const eventsCommand = leaf({
  use: 'events [OPTIONS]',
  short: 'Get real time events from the server',
  args: noArgs,
  flags: (fs) => ({
    since: fs.string('since', undefined, 'Show all events created since timestamp'),
    until: fs.string('until', undefined, 'Stream events until this timestamp'),
    filter: fs.add('filter', filterFlag()),
    format: fs.string('format', undefined, INSPECT_FORMAT_HELP),
  }),
  run: async ({ cli }, opts) => {
    const template = eventTemplate(opts.format.value);
    const since = eventTimestamp(cli, opts.since.value);
    const until = eventTimestamp(cli, opts.until.value);
    const res = await cli
      .client()
      .stream('/events', { filters: opts.filter.value.toJSON() || undefined, since, until });
    const utf8 = new StringDecoder('utf8');
    let pending = '';
    const print = (line: string): void => {
      const event = decodeEvent(line);
      if (!template) return void cli.out.write(prettyEvent(event));
      // As Docker's formatEvent: what the template wrote and a newline, even when it then failed.
      const result = template.executePartial(eventValue(event));
      cli.out.write(result.output + '\n');
      if (result.error) throw new Error(result.error.message);
    };
    for await (const chunk of res) {
      pending += utf8.write(chunk as Buffer);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') print(line);
      }
    }
    // json.Decoder: a last value without a newline still counts; half a value is an error.
    pending += utf8.end();
    if (pending.trim() !== '') print(pending);
  },
});

/** GetTimestamp for `--since`/`--until`; undefined when the flag is empty. */
function eventTimestamp(cli: Cli, value: string): string | undefined {
  if (value === '') return undefined;
  return sinceTimestamp(value, cli.now(), parseDuration);
}

/** makeTemplate: no template for the default output; `json` is `{{json .}}`; checked on an empty event. */
export function eventTemplate(format: string): Template | undefined {
  if (format === '') return undefined;
  const text = format === JSON_FORMAT_KEY ? JSON_FORMAT : format;
  const fail = (e: unknown): never => {
    if (e instanceof TemplateError) throw new StatusError(`Error parsing format: ${e.message}`, 64);
    throw e;
  };
  let template: Template;
  try {
    template = new Template(text);
  } catch (e) {
    return fail(e);
  }
  // Executing over an empty message finds a bad field (`{{.Nope}}`) before anything is sent; Docker
  // executes over a pointer to it, which its errors name.
  const probe = template.executePartial(eventValue(emptyEvent(), '*events.Message'));
  if (probe.error) fail(probe.error);
  return template;
}

function emptyEvent(): EventView {
  return {
    Status: '',
    ID: '',
    From: '',
    Type: '',
    Action: '',
    Actor: { ID: '', Attributes: null },
    Scope: '',
    Time: 0n,
    TimeNano: 0n,
  };
}

/**
 * The event as templates see it: a Go struct, written by `json` with the JSON names of events.Message. A
 * missing attribute map is Go's nil map: templates read it as empty, `json` writes `null`.
 */
function eventValue(event: EventView, typeName = 'events.Message'): object {
  const actor = goStruct({ ID: event.Actor.ID, Attributes: event.Actor.Attributes ?? {} }, 'events.Actor');
  const value = goStruct({ ...event, Actor: actor }, typeName);
  Object.defineProperty(value, 'toJSON', {
    enumerable: false,
    value: () => ({
      status: event.Status || undefined,
      id: event.ID || undefined,
      from: event.From || undefined,
      Type: event.Type,
      Action: event.Action,
      Actor: { ID: event.Actor.ID, Attributes: attributeMap(event.Actor.Attributes) },
      scope: event.Scope || undefined,
      time: event.Time !== 0n ? event.Time : undefined,
      timeNano: event.TimeNano !== 0n ? event.TimeNano : undefined,
    }),
  });
  return value;
}

/** A Map, which `json` writes with sorted keys, as Go writes a map[string]string. */
function attributeMap(attributes: Record<string, string> | null): Map<string, string> | null {
  return attributes === null ? null : new Map(Object.entries(attributes));
}

/** prettyPrintEvent: `<time> <type> <action> <actor ID> (k=v, …)`, attributes sorted by key. */
export function prettyEvent(event: EventView): string {
  let out = '';
  const time = eventTime(event);
  if (time !== undefined) out += time + ' ';
  out += `${event.Type} ${event.Action} ${event.Actor.ID}`;
  const attributes = event.Actor.Attributes ?? {};
  const keys = Object.keys(attributes).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (keys.length > 0) out += ` (${keys.map((k) => `${k}=${attributes[k]}`).join(', ')})`;
  return out + '\n';
}

/**
 * The event's time as Go formats `time.Unix(0, TimeNano)` (else `time.Unix(Time, 0)`) with
 * `2006-01-02T15:04:05.000000000Z07:00`: in the local zone (TZ), nine fraction digits, `Z` for UTC.
 */
function eventTime(event: EventView): string | undefined {
  let seconds: bigint;
  let nanos: bigint;
  if (event.TimeNano !== 0n) {
    seconds = event.TimeNano / 1_000_000_000n;
    nanos = event.TimeNano % 1_000_000_000n;
    if (nanos < 0n) {
      seconds -= 1n;
      nanos += 1_000_000_000n;
    }
  } else if (event.Time !== 0n) {
    seconds = event.Time;
    nanos = 0n;
  } else {
    return undefined;
  }
  const ms = Number(seconds) * 1000;
  const offsetMinutes = -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + offsetMinutes * 60_000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const zone =
    offsetMinutes === 0
      ? 'Z'
      : `${offsetMinutes < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(offsetMinutes) / 60))}:${p2(Math.abs(offsetMinutes) % 60)}`;
  return (
    `${String(local.getUTCFullYear()).padStart(4, '0')}-${p2(local.getUTCMonth() + 1)}-${p2(local.getUTCDate())}` +
    `T${p2(local.getUTCHours())}:${p2(local.getUTCMinutes())}:${p2(local.getUTCSeconds())}` +
    `.${String(nanos).padStart(9, '0')}${zone}`
  );
}

// ---------------------------------------------------------------- decoding

/**
 * One line of the stream decoded into events.Message as Go's json.Decoder does it: keys matched to fields
 * case-insensitively, unknown ones ignored, integers kept exact (nanosecond times exceed 2^53).
 */
export function decodeEvent(line: string): EventView {
  const value = new JsonReader(line).document();
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) {
    throw new Error(`json: cannot unmarshal ${jsonKind(value)} into Go value of type events.Message`);
  }
  const event = emptyEvent();
  const object = value as Record<string, unknown>;
  const str = (field: string, v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v !== 'string') throw unmarshalError(v, `events.Message.${field}`, 'string');
    return v;
  };
  const int = (field: string, v: unknown): bigint => {
    if (v === null || v === undefined) return 0n;
    if (typeof v !== 'bigint') throw unmarshalError(v, `events.Message.${field}`, 'int64');
    return v;
  };
  event.Status = str('status', pick(object, 'status'));
  event.ID = str('id', pick(object, 'id'));
  event.From = str('from', pick(object, 'from'));
  event.Type = str('Type', pick(object, 'Type'));
  event.Action = str('Action', pick(object, 'Action'));
  event.Scope = str('scope', pick(object, 'scope'));
  event.Time = int('time', pick(object, 'time'));
  event.TimeNano = int('timeNano', pick(object, 'timeNano'));
  const actor = pick(object, 'Actor');
  if (actor !== null && actor !== undefined) {
    if (typeof actor !== 'object' || Array.isArray(actor))
      throw unmarshalError(actor, 'events.Message.Actor', 'events.Actor');
    const a = actor as Record<string, unknown>;
    event.Actor.ID = str('Actor.ID', pick(a, 'ID'));
    const attributes = pick(a, 'Attributes');
    if (attributes !== null && attributes !== undefined) {
      if (typeof attributes !== 'object' || Array.isArray(attributes))
        throw unmarshalError(attributes, 'events.Message.Actor.Attributes', 'map[string]string');
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(attributes as Record<string, unknown>)) {
        out[k] = str('Actor.Attributes', v);
      }
      event.Actor.Attributes = out;
    }
  }
  return event;
}

/** A field by its JSON name, else by a case-insensitive match (Go's decoder); the last one wins. */
function pick(object: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(object, name)) return object[name];
  let found: unknown;
  for (const [k, v] of Object.entries(object)) if (k.toLowerCase() === name.toLowerCase()) found = v;
  return found;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'bigint' || typeof v === 'number') return 'number';
  if (v === null) return 'null';
  return typeof v;
}

function unmarshalError(v: unknown, field: string, type: string): Error {
  return new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field ${field} of type ${type}`);
}

/** A small JSON reader whose integers are bigints (and other numbers JS numbers). */
class JsonReader {
  private i = 0;
  constructor(private readonly text: string) {}

  document(): unknown {
    const value = this.value();
    this.space();
    if (this.i < this.text.length)
      this.fail(`invalid character '${this.text[this.i]}' after top-level value`);
    return value;
  }

  private fail(message: string): never {
    throw new Error(message);
  }

  private space(): void {
    while (this.i < this.text.length && ' \t\r\n'.includes(this.text[this.i]!)) this.i++;
  }

  private value(): unknown {
    this.space();
    const c = this.text[this.i];
    if (c === undefined) this.fail('unexpected EOF');
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.i));
    if (!m) this.fail(`invalid character '${c}' looking for beginning of value`);
    this.i += m[0].length;
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
  }

  private object(): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    this.space();
    if (this.text[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.i] !== '"')
        this.fail('invalid character looking for beginning of object key string');
      const key = this.string();
      this.space();
      if (this.text[this.i] !== ':') this.fail('invalid character after object key');
      this.i++;
      Object.defineProperty(out, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.space();
      const c = this.text[this.i++];
      if (c === '}') return out;
      if (c !== ',')
        this.fail(c === undefined ? 'unexpected EOF' : 'invalid character after object key:value pair');
    }
  }

  private array(): unknown[] {
    this.i++;
    const out: unknown[] = [];
    this.space();
    if (this.text[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.space();
      const c = this.text[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail(c === undefined ? 'unexpected EOF' : 'invalid character after array element');
    }
  }

  private string(): string {
    // Finds the closing quote; JSON.parse then checks the escapes and control characters in between.
    let end = this.i + 1;
    while (end < this.text.length && this.text[end] !== '"') end += this.text[end] === '\\' ? 2 : 1;
    if (end >= this.text.length) this.fail('unexpected EOF');
    const literal = this.text.slice(this.i, end + 1);
    this.i = end + 1;
    try {
      return JSON.parse(literal) as string;
    } catch {
      return this.fail('invalid character in string literal');
    }
  }
}
