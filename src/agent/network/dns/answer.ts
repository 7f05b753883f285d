// Turning a DNS query into the embedded server's answer, as libnetwork's resolver does (resolver.go): A
// records for names of the task's networks (shuffled, TTL 600), an empty NOERROR for AAAA and MX queries of
// such names, PTR for their addresses; everything else is forwarded. Answers copy the query's ID, question
// and RD bit and set RA; they are not authoritative. A UDP answer that does not fit the client's size (512
// bytes, or its EDNS size) loses records from the end and is marked truncated, so the client asks again over
// TCP. The packet codec is dns-packet.

import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import { resolveName, resolveReverse, type NetworkRecords } from './records.js';

/** libnetwork's respTTL. */
export const RESPONSE_TTL = 600;
/** The size of a UDP answer without EDNS. */
export const DEFAULT_UDP_SIZE = 512;
/** The largest DNS message over TCP. */
export const MAX_TCP_SIZE = 65_535;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

export type QueryOutcome =
  /** Answer with these bytes. */
  | { kind: 'answer'; response: Buffer }
  /** Not a name of the task's networks: ask the host's resolvers (the query as it came). */
  | { kind: 'forward'; query: DecodedPacket }
  /** Unreadable: nothing to answer. */
  | { kind: 'drop' };

export interface QueryContext {
  /** The records of the networks the asking task is on, in its order. */
  networks: readonly NetworkRecords[];
  /** `udp` answers are cut to the client's size; `tcp` to 64 KiB. */
  transport: 'udp' | 'tcp';
  /** Shuffles the addresses of a name (tests pass the identity). */
  shuffle?: <T>(items: T[]) => T[];
}

export function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function decodeQuery(bytes: Buffer): DecodedPacket | undefined {
  try {
    const packet = dnsPacket.decode(bytes);
    return packet.type === 'query' ? packet : undefined;
  } catch {
    return undefined;
  }
}

export function answerQuery(bytes: Buffer, context: QueryContext): QueryOutcome {
  const query = decodeQuery(bytes);
  if (!query) {
    // A header we can read gets FORMERR, as miekg/dns answers; anything shorter is dropped.
    if (bytes.length < 12 || (bytes[2]! & 0x80) !== 0) return { kind: 'drop' };
    return { kind: 'answer', response: errorResponse(bytes.readUInt16BE(0), [], 0, 'FORMERR') };
  }
  const question = query.questions?.[0];
  if (!question || (query.flags ?? 0) & 0x7800 /* opcode other than QUERY */) {
    return {
      kind: 'answer',
      response: errorResponse(query.id ?? 0, query.questions ?? [], query.flags ?? 0, 'NOTIMP'),
    };
  }
  const answers = answersFor(question, context);
  if (answers === undefined) return { kind: 'forward', query };
  return { kind: 'answer', response: encodeResponse(query, answers, context.transport, 'NOERROR') };
}

/** The records answering `question` from the task's networks; undefined when the name is not theirs. */
function answersFor(question: Question, context: QueryContext): Answer[] | undefined {
  const shuffle = context.shuffle ?? shuffled;
  switch (question.type) {
    case 'A': {
      const found = resolveName(question.name, context.networks);
      if (!found.known) return undefined;
      return shuffle([...found.addresses]).map((ip) => ({
        type: 'A',
        name: question.name,
        class: 'IN',
        ttl: RESPONSE_TTL,
        data: ip,
      }));
    }
    case 'AAAA':
    case 'MX':
      // A name of the networks without IPv6 addresses (MX: RFC 5321's implicit MX): no records, NOERROR.
      return resolveName(question.name, context.networks).known ? [] : undefined;
    case 'PTR': {
      const name = resolveReverse(question.name, context.networks);
      if (!name) return undefined;
      return [{ type: 'PTR', name: question.name, class: 'IN', ttl: RESPONSE_TTL, data: name }];
    }
    default:
      return undefined;
  }
}

/** The client's UDP size: its EDNS OPT record's, at least 512. */
function udpSize(query: DecodedPacket): number {
  const opt = (query.additionals ?? []).find((record) => record.type === 'OPT') as
    { udpPayloadSize?: number } | undefined;
  return Math.max(DEFAULT_UDP_SIZE, opt?.udpPayloadSize ?? 0);
}

export function encodeResponse(
  query: DecodedPacket,
  answers: Answer[],
  transport: 'udp' | 'tcp',
  rcode: Rcode,
): Buffer {
  const max = transport === 'tcp' ? MAX_TCP_SIZE : udpSize(query);
  const flags =
    ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | RCODE[rcode];
  const build = (records: Answer[], truncated: boolean) =>
    dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: flags | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: query.questions ?? [],
      answers: records,
    });
  let records = answers;
  let response = build(records, false);
  if (response.length <= max) return response;
  // libnetwork's truncateResp: records are dropped from the end until the answer fits; only UDP answers
  // are marked truncated.
  while (records.length > 0 && response.length > max) {
    records = records.slice(0, -1);
    response = build(records, transport === 'udp');
  }
  return response;
}

/** An answer with no records and `rcode` (SERVFAIL when forwarding failed, FORMERR, NOTIMP). */
export function errorResponse(id: number, questions: Question[], queryFlags: number, rcode: Rcode): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: (queryFlags & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | RCODE[rcode],
    questions,
    answers: [],
  });
}
