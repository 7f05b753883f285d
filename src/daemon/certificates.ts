// The node's TLS identity on disk (`<data-dir>/swarm/certificates/`) and its renewal: at a random
// point between 50% and 80% of the certificate's life a new key and certificate are obtained — from
// the manager over mutual TLS for a worker, from its own CA for a manager — written atomically, and
// only then put in use. Nothing running is interrupted.

import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { generateNodeKeyAndCsr, type NodeTlsCredentials } from '../api/certs.js';
import { acceptIssuedCertificate, type NodeCredentials } from '../agent/transport/credentials.js';
import { CertificateRenewer, type CredentialsHolder } from '../agent/transport/renewer.js';
import { DamagedStateError, fileWriteError, isDiskError } from '../store/file-errors.js';
import type { Logger } from './logger.js';
import { fsyncDirectory, writeFileAtomic } from './state.js';

export function certificatesDir(swarmDir: string): string {
  return join(swarmDir, 'certificates');
}

/**
 * The node's certificates as stored. A file that is missing, empty or unparseable, or a key that does not
 * belong to the certificate, is a `DamagedStateError` naming the file: the node cannot resume without it,
 * and only `swarm leave --force` may remove what is left.
 */
export function readCertificates(swarmDir: string): NodeTlsCredentials {
  const dir = certificatesDir(swarmDir);
  const rootCA = readPem(join(dir, 'swarm-root-ca.crt'), "the swarm's root CA certificate");
  const cert = readPem(join(dir, 'swarm-node.crt'), 'the node certificate');
  const key = readPem(join(dir, 'swarm-node.key'), 'the node key');
  parseCertificate(rootCA);
  const nodeCert = parseCertificate(cert);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key.text);
  } catch (err) {
    throw damaged(key, `is not a valid private key (${(err as Error).message})`, err);
  }
  if (!nodeCert.checkPrivateKey(privateKey)) {
    throw damaged(key, `does not belong to the node certificate ${cert.path}`);
  }
  return { rootCAPem: rootCA.text, certPem: cert.text, keyPem: key.text };
}

interface PemFile {
  path: string;
  what: string;
  text: string;
}

function readPem(path: string, what: string): PemFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // Other errors (EIO…) say nothing about the file's content and may pass: the caller retries.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw damaged({ path, what }, 'is missing');
  }
  if (text.trim() === '') throw damaged({ path, what }, 'is empty');
  return { path, what, text };
}

function parseCertificate(file: PemFile): X509Certificate {
  try {
    return new X509Certificate(file.text);
  } catch (err) {
    throw damaged(file, `is not a valid certificate (${(err as Error).message})`, err);
  }
}

function damaged(file: Pick<PemFile, 'path' | 'what'>, problem: string, cause?: unknown): DamagedStateError {
  return new DamagedStateError({ kind: 'certificate', what: file.what, file: file.path, problem }, { cause });
}

/**
 * Stores a key and its certificate as one unit: they go into a new directory, and the `certificates`
 * symlink is switched to it with a single rename. A crash at any point leaves the old pair or the new
 * pair, never a key that does not match its certificate (which no node could recover from on its own).
 */
export function writeCertificates(swarmDir: string, credentials: NodeTlsCredentials): void {
  const link = certificatesDir(swarmDir);
  const dir = `${link}.${Date.now()}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dir, { mode: 0o700 });
    // Private like everything under the swarm directory, certificates included: nobody else needs them.
    writeFileAtomic(join(dir, 'swarm-root-ca.crt'), credentials.rootCAPem, 0o600);
    writeFileAtomic(join(dir, 'swarm-node.key'), credentials.keyPem, 0o600);
    writeFileAtomic(join(dir, 'swarm-node.crt'), credentials.certPem, 0o600);
    const temporaryLink = `${link}.link-${process.pid}`;
    rmSync(temporaryLink, { force: true });
    symlinkSync(basename(dir), temporaryLink);
    renameSync(temporaryLink, link);
  } catch (err) {
    // The pair in use is untouched; what was written of the new one goes.
    rmSync(dir, { recursive: true, force: true });
    if (isDiskError(err)) throw fileWriteError('the node certificates', dir, err);
    throw err;
  }
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
