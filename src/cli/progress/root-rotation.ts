// The display of `swarm ca --rotate` (docker/cli swarm/progress/root_rotation.go): two bars counting
// the nodes whose certificate and trust root match the cluster's new root CA, redrawn every 200 ms
// until every node has both.

import { createHash } from 'node:crypto';
import type { Node } from '../../api/types.js';
import type { Cli } from '../cli.js';
import type { ClusterInfo } from '../client.js';
import { ProgressDisplay, type ProgressUpdate } from './display.js';
import { InterruptibleWait } from './signals.js';

const CERTS_ROTATED = '  rotated TLS certificates';
const ROOTS_ROTATED = '  rotated CA certificates';
// One space, because the roots label is one character shorter: it keeps the bars aligned.
const CERTS_ACTION = '';
const ROOTS_ACTION = ' ';

/** Draws one state of the rotation; true once every node has the new certificate and root. */
export function rootRotationUpdate(
  write: (u: ProgressUpdate) => void,
  desired: ClusterInfo['TLSInfo'],
  nodes: Node[],
  rotationInProgress: boolean,
): boolean {
  write({
    id: 'desired root digest',
    action: 'sha256:' + createHash('sha256').update(desired.TrustRoot).digest('hex'),
  });
  let certsRight = 0;
  let rootsRight = 0;
  for (const n of nodes) {
    const tls = n.Description?.TLSInfo;
    if (
      tls?.CertIssuerPublicKey === desired.CertIssuerPublicKey &&
      tls?.CertIssuerSubject === desired.CertIssuerSubject
    ) {
      certsRight++;
    }
    if ((tls?.TrustRoot ?? '') === desired.TrustRoot) rootsRight++;
  }
  const total = nodes.length;
  write({ id: CERTS_ROTATED, action: CERTS_ACTION, current: certsRight, total, units: 'nodes' });
  if (certsRight === total && !rotationInProgress) {
    write({ id: ROOTS_ROTATED, action: ROOTS_ACTION, current: rootsRight, total, units: 'nodes' });
    return rootsRight === total;
  }
  // Certificates still need renewing: no root counts as rotated yet.
  write({ id: ROOTS_ROTATED, action: ROOTS_ACTION, current: 0, total, units: 'nodes' });
  return false;
}

export async function rootRotationProgress(cli: Cli, quiet: boolean): Promise<void> {
  const display = new ProgressDisplay(cli.out);
  const write = (u: ProgressUpdate): void => {
    if (!quiet) display.write(u);
  };
  const client = cli.client();
  write({ id: 'desired root digest', action: '' });
  write({ id: CERTS_ROTATED, action: CERTS_ACTION });
  write({ id: ROOTS_ROTATED, action: ROOTS_ACTION });
  let done = false;
  const wait = new InterruptibleWait(cli);
  try {
    for (;;) {
      const sw = await client.swarmInspect();
      if (done) return;
      const nodes = await client.nodeList();
      done = rootRotationUpdate(write, sw.TLSInfo, nodes, sw.RootRotationInProgress);
      if (await wait.sleep(200)) {
        if (!done) {
          write({ id: '', message: 'Operation continuing in background.' });
          write({ id: '', message: 'Use `swarmctl cluster inspect default` to check progress.' });
        }
        return;
      }
    }
  } finally {
    wait.close();
  }
}
