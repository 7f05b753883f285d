// What a manager accepts from a node on the cluster port, known to both ends. The manager refuses
// anything beyond it (src/manager/clusterapi/validate.ts checks every message's types and sizes, the
// dispatcher bounds each node's rates); an agent keeps its own messages within it (batch sizes, texts
// cut to length), so a well-behaved node is never refused. docs/architecture.md §10 explains the numbers.

import { invalidArgument, isShoalError, ShoalError } from './errors.js';

export const PEER_LIMITS = {
  /** A node description as stored (what is left after validation), encoded as JSON. */
  descriptionBytes: 64 * 1024,
  /** Description.Hostname. */
  hostnameChars: 256,
  /** Platform.Architecture and .OS, Engine.EngineVersion, plugin types and names, resource kinds. */
  shortTextChars: 256,
  /** Engine labels of one node, and the length of a label's name and value. */
  engineLabels: 256,
  labelNameChars: 1024,
  labelValueChars: 4096,
  /** Engine.Plugins entries and Resources.GenericResources entries. */
  plugins: 256,
  genericResources: 256,
  /** Task, service, session, subscription and container IDs (shoal's are 25 characters). */
  idChars: 128,
  /** Updates in one UpdateTaskStatus call (the agent sends at most this many). */
  statusUpdatesPerCall: 1024,
  /** One update (status and health) as it would be stored, encoded as JSON. */
  statusUpdateBytes: 128 * 1024,
  /** TaskStatus.Message and TaskStatus.Err. */
  statusMessageChars: 4096,
  statusErrChars: 4096,
  /** PortStatus.Ports entries. */
  portsPerStatus: 1024,
  /** Health log entries (Docker keeps 5) and the output of one probe (Docker cuts it at 4096 bytes). */
  healthLogEntries: 5,
  healthOutputChars: 8192,
  /** Log lines in one PublishLogs call, and one line's data (base64 of at most 16 KiB of output). */
  logEntriesPerCall: 1024,
  logDataChars: 32 * 1024,
  /** IssueNodeCertificate / RenewNodeCertificate: the CSR (PEM), the join token, the advertised address. */
  csrChars: 16 * 1024,
  tokenChars: 1024,
  addrChars: 256,
} as const;

const MALFORMED_PREFIX = 'malformed request: ';

/** A message that breaks these limits or has the wrong shape: InvalidArgument naming the field. */
export const malformedRequest = (what: string): ShoalError => invalidArgument(`${MALFORMED_PREFIX}${what}`);

/** Whether the manager refused a message for its content (sending it again would be refused again). */
export const isMalformedRequest = (err: unknown): boolean =>
  isShoalError(err) && err.code === 'InvalidArgument' && err.message.startsWith(MALFORMED_PREFIX);

/**
 * A rate limit refusal: Unavailable (the agent retries), with HTTP status 429 so the node can tell it
 * from a broken session and try the same call again later instead of reconnecting.
 */
export const RATE_LIMITED_STATUS = 429;

export const rateLimited = (message: string): ShoalError =>
  new ShoalError('Unavailable', message, { status: RATE_LIMITED_STATUS });

export const isRateLimited = (err: unknown): boolean =>
  isShoalError(err) && err.code === 'Unavailable' && err.status === RATE_LIMITED_STATUS;

/** `text` cut to at most `maxChars` UTF-16 units, never in the middle of a surrogate pair. */
export function clampText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const code = text.charCodeAt(maxChars - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? maxChars - 1 : maxChars);
}
