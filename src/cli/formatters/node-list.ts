// The rows of `node ls` (docker/cli node.nodeContext): what `--format` templates can read and the
// default table (ID with the `*` marker of the node the CLI talks to, hostname, status, availability,
// manager status, engine version).

import { prettyPrint } from '../../api/duration.js';
import type { Node } from '../../api/types.js';
import type { SwarmInfo } from '../client.js';
import { formatList } from '../format/formatter.js';
import { GO_TYPE } from '../format/govalue.js';

export const DEFAULT_NODE_TABLE_FORMAT =
  'table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}';

export const NODE_HEADERS = {
  ID: 'ID',
  Self: '',
  Hostname: 'HOSTNAME',
  Status: 'STATUS',
  Availability: 'AVAILABILITY',
  ManagerStatus: 'MANAGER STATUS',
  EngineVersion: 'ENGINE VERSION',
  TLSStatus: 'TLS STATUS',
} as const;

const sameTLS = (
  a: { TrustRoot?: string; CertIssuerSubject?: string; CertIssuerPublicKey?: string } | undefined,
  b: { TrustRoot?: string; CertIssuerSubject?: string; CertIssuerPublicKey?: string } | undefined,
): boolean =>
  (a?.TrustRoot ?? '') === (b?.TrustRoot ?? '') &&
  (a?.CertIssuerSubject ?? '') === (b?.CertIssuerSubject ?? '') &&
  (a?.CertIssuerPublicKey ?? '') === (b?.CertIssuerPublicKey ?? '');

const EMPTY_TLS = { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' };

export class NodeContext {
  readonly #node: Node;
  readonly #swarm: SwarmInfo | undefined;

  constructor(node: Node, swarm: SwarmInfo | undefined) {
    this.#node = node;
    this.#swarm = swarm;
  }

  get ID(): string {
    return this.#node.ID;
  }

  /** Whether this is the node the CLI is talking to. */
  get Self(): boolean {
    return this.#node.ID === (this.#swarm?.NodeID ?? '');
  }

  get Hostname(): string {
    return this.#node.Description?.Hostname ?? '';
  }

  get Status(): string {
    return prettyPrint(this.#node.Status?.State ?? '');
  }

  get Availability(): string {
    return prettyPrint(this.#node.Spec?.Availability ?? '');
  }

  get ManagerStatus(): string {
    const m = this.#node.ManagerStatus;
    return prettyPrint(m ? (m.Leader ? 'Leader' : (m.Reachability ?? '')) : '');
  }

  get TLSStatus(): string {
    const cluster = this.#swarm?.Cluster?.TLSInfo;
    const mine = this.#node.Description?.TLSInfo;
    if (!cluster || sameTLS(cluster, EMPTY_TLS) || sameTLS(mine, EMPTY_TLS)) return 'Unknown';
    return sameTLS(mine, cluster) ? 'Ready' : 'Needs Rotation';
  }

  get EngineVersion(): string {
    return this.#node.Description?.Engine?.EngineVersion ?? '';
  }
}
Object.defineProperty(NodeContext.prototype, GO_TYPE, { value: '*node.nodeContext' });

/** What `node ls` prints for the nodes (already sorted). */
export function formatNodeList(
  nodes: Node[],
  swarm: SwarmInfo | undefined,
  format: string,
  quiet: boolean,
): string {
  return formatList(
    nodes.map((n) => new NodeContext(n, swarm)),
    {
      format,
      quiet,
      defaultTableFormat: DEFAULT_NODE_TABLE_FORMAT,
      rawFormat:
        'node_id: {{.ID}}\\nhostname: {{.Hostname}}\\nstatus: {{.Status}}\\navailability: {{.Availability}}\\nmanager_status: {{.ManagerStatus}}\\n',
      rawQuietFormat: 'node_id: {{.ID}}',
      header: NODE_HEADERS,
    },
  );
}
