// The node's TLS identity on disk (`<data-dir>/swarm/certificates/`) and its renewal: at a random
// point between 50% and 80% of the certificate's life a new key and certificate are obtained — from
// the manager over mutual TLS for a worker, from its own CA for a manager — written atomically, and
// only then put in use. Nothing running is interrupted.

import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { generateNodeKeyAndCsr, type NodeTlsCredentials } from '../api/certs.js';
import { acceptIssuedCertificate, type NodeCredentials } from '../agent/transport/credentials.js';
import { CertificateRenewer, type CredentialsHolder } from '../agent/transport/renewer.js';
import type { Logger } from './logger.js';
import { fsyncDirectory, writeFileAtomic } from './state.js';

export function certificatesDir(swarmDir: string): string {
  return join(swarmDir, 'certificates');
}

export function readCertificates(swarmDir: string): NodeTlsCredentials {
  const dir = certificatesDir(swarmDir);
  return {
    rootCAPem: readFileSync(join(dir, 'swarm-root-ca.crt'), 'utf8'),
    certPem: readFileSync(join(dir, 'swarm-node.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'swarm-node.key'), 'utf8'),
  };
}

/**
 * Stores a key and its certificate as one unit: they go into a new directory, and the `certificates`
 * symlink is switched to it with a single rename. A crash at any point leaves the old pair or the new
 * pair, never a key that does not match its certificate (which no node could recover from on its own).
 */
export function writeCertificates(swarmDir: string, credentials: NodeTlsCredentials): void {
  const link = certificatesDir(swarmDir);
  const dir = `${link}.${Date.now()}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir, { mode: 0o700 });
  writeFileAtomic(join(dir, 'swarm-root-ca.crt'), credentials.rootCAPem, 0o644);
  writeFileAtomic(join(dir, 'swarm-node.key'), credentials.keyPem, 0o600);
  writeFileAtomic(join(dir, 'swarm-node.crt'), credentials.certPem, 0o644);
  const temporaryLink = `${link}.link-${process.pid}`;
  rmSync(temporaryLink, { force: true });
  symlinkSync(basename(dir), temporaryLink);
  renameSync(temporaryLink, link);
  fsyncDirectory(swarmDir);
  // Earlier pairs are no longer referenced.
  for (const name of readdirSync(swarmDir)) {
    const path = join(swarmDir, name);
    if (name.startsWith(`${basename(link)}.`) && path !== dir && lstatSync(path).isDirectory()) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

export interface RenewalOptions {
  swarmDir: string;
  /** Whose credentials are swapped once the new ones are stored. */
  holder: CredentialsHolder;
  /** How a new certificate is obtained; a worker's ClusterClient renews through its connection. */
  renew?: () => Promise<NodeCredentials>;
  log: Logger;
}

export function startRenewal(options: RenewalOptions): CertificateRenewer {
  const renewer = new CertificateRenewer({
    client: options.holder,
    renew: options.renew,
    onRenewed: (credentials) => {
      writeCertificates(options.swarmDir, credentials);
      options.log.info('node certificate renewed', { role: credentials.role });
    },
    log: options.log,
  });
  renewer.start();
  return renewer;
}

/** A manager's renewal: a new key and CSR here, signed by its own CA. */
export function selfSignedRenewal(
  current: () => NodeTlsCredentials,
  sign: (csrPem: string) => Promise<{ certPem: string; rootCAPem: string }>,
  expected: { nodeId: string; clusterId: string },
): () => Promise<NodeCredentials> {
  return async () => {
    const { keyPem, csrPem } = await generateNodeKeyAndCsr();
    const { certPem, rootCAPem } = await sign(csrPem);
    return acceptIssuedCertificate({
      certPem,
      keyPem,
      rootCAPem: rootCAPem || current().rootCAPem,
      expected,
    });
  };
}
