// Node identity certificates as every node handles them, worker or manager: its own key and CSR, reading
// and checking the certificate the CA returns, the TLSInfo a node reports, when to renew, the join token's
// CA pin, and the TLS options for mutual TLS between nodes. The CA itself (root key, signing, token
// generation, authorization of peers) is manager-only and lives in src/manager/ca/.
//
// Facts from swarmkit ca/{certificates,config,auth}.go.

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, createPrivateKey, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { Socket } from 'node:net';
import type { ConnectionOptions, PeerCertificate, TlsOptions } from 'node:tls';
import { permissionDenied, ShoalError } from './errors.js';
import type { NodeRole, TLSInfo } from './types.js';

// ---------------------------------------------------------------- the X.509 library

/**
 * @peculiar/x509 registers its algorithms with tsyringe, which needs the Reflect metadata API; the
 * polyfill is imported first (imports are evaluated in order). Import the library from here rather than
 * from the package, so that the polyfill and Node's WebCrypto provider are always in place.
 */
export { x509 };
x509.cryptoProvider.set(webcrypto);

// ---------------------------------------------------------------- names

/** CN of the root CA, and the server name a node without a certificate uses to reach the CA. */
export const ROOT_CA_COMMON_NAME = 'swarm-ca';
export const CA_SERVER_NAME = 'swarm-ca';
/** The OU of a manager's certificate; also the server name every node uses to reach managers. */
export const MANAGER_OU = 'swarm-manager';
export const MANAGER_SERVER_NAME = MANAGER_OU;
export const WORKER_OU = 'swarm-worker';

/** A role as written in a certificate's OU. */
export type CertificateRole = typeof MANAGER_OU | typeof WORKER_OU;

export const certificateRoleOf = (role: NodeRole): CertificateRole =>
  role === 'manager' ? MANAGER_OU : WORKER_OU;

/** The node role an OU stands for, or undefined if it is not a swarm role. */
export function nodeRoleOf(organizationalUnit: string): NodeRole | undefined {
  if (organizationalUnit === MANAGER_OU) return 'manager';
  if (organizationalUnit === WORKER_OU) return 'worker';
  return undefined;
}

// ---------------------------------------------------------------- PEM

export interface PemBlock {
  /** The label, e.g. `CERTIFICATE`, `PRIVATE KEY`. */
  type: string;
  /** RFC 1421 headers (swarmkit keeps the raft DEK in the key file's headers). */
  headers: Record<string, string>;
  der: Buffer;
}

/** PEM text as Go's encoder writes it: 64-column base64 and a trailing newline. */
export function encodePem(type: string, der: Uint8Array, headers: Record<string, string> = {}): string {
  const pem = x509.PemConverter.encode([
    {
      type,
      rawData: new Uint8Array(der).buffer, // a copy: the library wants a whole ArrayBuffer
      headers: Object.entries(headers).map(([key, value]) => ({ key, value })),
    },
  ]);
  return pem + '\n';
}

/** Every PEM block in `pem`, in order; text outside blocks is ignored. */
export function decodePem(pem: string): PemBlock[] {
  return x509.PemConverter.decodeWithHeaders(pem).map((block) => ({
    type: block.type,
    headers: Object.fromEntries((block.headers ?? []).map((h) => [h.key, h.value])),
    der: Buffer.from(block.rawData),
  }));
}

/** The certificates of a PEM bundle (leaf first, as sent on the wire), each as its own PEM. */
export function splitCertificates(bundlePem: string): string[] {
  return decodePem(bundlePem)
    .filter((block) => block.type === 'CERTIFICATE')
    .map((block) => encodePem('CERTIFICATE', block.der));
}

function certificateDers(bundlePem: string): Buffer[] {
  const ders = decodePem(bundlePem)
    .filter((block) => block.type === 'CERTIFICATE')
    .map((block) => block.der);
  if (ders.length === 0) throw certificateError('no certificate found in PEM data');
  return ders;
}

// ---------------------------------------------------------------- the node's key and CSR

export interface NodeKeyAndCsr {
  /** The node's private key (PKCS#8 PEM). It never leaves the node. */
  keyPem: string;
  /** The certificate signing request (PEM) carrying only the public key; the CA fills in the subject. */
  csrPem: string;
}

/** A fresh ECDSA P-256 key and a CSR for it, as a node makes on joining and at every renewal. */
export async function generateNodeKeyAndCsr(): Promise<NodeKeyAndCsr> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    keyPem: encodePem('PRIVATE KEY', new Uint8Array(pkcs8)),
    csrPem: encodePem('CERTIFICATE REQUEST', new Uint8Array(csr.rawData)),
  };
}

// ---------------------------------------------------------------- reading certificates

/** The subject fields swarm uses, as written in a certificate (before any interpretation). */
export interface CertificateSubject {
  /** CN: the node ID. */
  commonName: string;
  /** OU: the role (`swarm-manager` / `swarm-worker`). */
  organizationalUnits: string[];
  /** O: the cluster ID. */
  organizations: string[];
}

/** Who a node certificate says its holder is. */
export interface CertificateIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

export interface CertificateValidity {
  notBefore: Date;
  notAfter: Date;
}

export interface NodeCertificateInfo extends CertificateIdentity, CertificateValidity {}

/**
 * A certificate as Node's TLS layer hands it over: `getPeerX509Certificate()`, `getPeerCertificate()`
 * (whose `raw` is the DER), or PEM text (the first certificate of a bundle is used).
 */
export type CertificateSource = NodeX509Certificate | PeerCertificate | string;

function derOf(source: CertificateSource): Buffer {
  if (typeof source === 'string') return certificateDers(source)[0]!;
  if (source instanceof NodeX509Certificate) return source.raw;
  // getPeerCertificate() returns an empty object when the peer sent no certificate.
  if (!Buffer.isBuffer(source.raw)) throw certificateError('no certificate');
  return source.raw;
}

function parseCertificate(der: Buffer): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (err) {
    throw certificateError(`cannot parse certificate: ${(err as Error).message}`);
  }
}

/**
 * Subjects of certificates read so far, by the SHA-256 of their DER: a manager authorizes every call of
 * every node from its certificate, and parsing the ASN.1 each time cost a quarter of a busy manager's CPU.
 * The subject is a pure function of the bytes; the oldest entries go first beyond the bound.
 */
const subjectCache = new Map<string, CertificateSubject>();
const SUBJECT_CACHE_SIZE = 8192;

export function certificateSubject(source: CertificateSource): CertificateSubject {
  const der = derOf(source);
  const key = createHash('sha256').update(der).digest('base64');
  const cached = subjectCache.get(key);
  if (cached) return cached;
  const subject = subjectOf(parseCertificate(der));
  const frozen: CertificateSubject = Object.freeze({
    commonName: subject.commonName,
    organizationalUnits: Object.freeze([...subject.organizationalUnits]) as string[],
    organizations: Object.freeze([...subject.organizations]) as string[],
  });
  if (subjectCache.size >= SUBJECT_CACHE_SIZE) subjectCache.delete(subjectCache.keys().next().value!);
  subjectCache.set(key, frozen);
  return frozen;
}

function subjectOf(cert: x509.X509Certificate): CertificateSubject {
  const name = cert.subjectName;
  return {
    commonName: name.getField('CN')[0] ?? '',
    organizationalUnits: name.getField('OU'),
    organizations: name.getField('O'),
  };
}

/**
 * Node ID, role and cluster ID from a node certificate's subject. The role comes from the first OU, as
 * swarmkit reads it. Throws if the subject is not a swarm node's.
 */
export function certificateIdentity(source: CertificateSource): CertificateIdentity {
  return identityOf(certificateSubject(source));
}

function identityOf(subject: CertificateSubject): CertificateIdentity {
  const ou = subject.organizationalUnits[0];
  const role = ou === undefined ? undefined : nodeRoleOf(ou);
  const clusterId = subject.organizations[0];
  if (!subject.commonName) throw certificateError('certificate has no node ID (CN)');
  if (!role) throw certificateError(`certificate has no swarm role (OU): ${ou ?? 'none'}`);
  if (!clusterId) throw certificateError('certificate has no cluster ID (O)');
  return { nodeId: subject.commonName, role, clusterId };
}

/** Identity and validity period of a node certificate (PEM; the first certificate of a bundle). */
export function parseNodeCertificate(certPem: string): NodeCertificateInfo {
  const cert = parseCertificate(certificateDers(certPem)[0]!);
  return { ...identityOf(subjectOf(cert)), notBefore: cert.notBefore, notAfter: cert.notAfter };
}

// ---------------------------------------------------------------- peers on a TLS connection

/**
 * Where a server finds the peer's certificate: the connection itself (preferred: only then is it known that
 * the TLS layer verified the chain against the root), or a certificate taken from a connection whose chain
 * the caller has already verified (e.g. gRPC's auth context).
 */
export type PeerSource = Socket | CertificateSource;

/**
 * The subject of a peer's verified client certificate. Fails as swarmkit does when the connection is not
 * TLS, carries no client certificate, or its certificate did not verify against the root (servers must
 * accept certificate-less clients for joining, so the TLS layer alone cannot refuse those).
 */
export function peerCertificateSubject(peer: PeerSource): CertificateSubject {
  if (peer instanceof Socket) {
    // TLSSocket is a Socket with `encrypted`; HTTP/2 hands out a proxy of it, which passes both checks.
    const tlsSocket = peer as Socket & {
      encrypted?: boolean;
      authorized?: boolean;
      getPeerX509Certificate?: () => NodeX509Certificate | undefined;
    };
    if (tlsSocket.encrypted !== true || !tlsSocket.getPeerX509Certificate) {
      throw permissionDenied('request is not using TLS', { rpc: true });
    }
    const cert = tlsSocket.getPeerX509Certificate();
    if (!cert) throw permissionDenied('no client certificates in request', { rpc: true });
    if (tlsSocket.authorized !== true) {
      throw permissionDenied('no verified chains for remote certificate', { rpc: true });
    }
    return certificateSubject(cert);
  }
  if (typeof peer !== 'string' && !(peer instanceof NodeX509Certificate) && !Buffer.isBuffer(peer.raw)) {
    throw permissionDenied('no client certificates in request', { rpc: true });
  }
  return certificateSubject(peer);
}

/** Node ID, role and cluster ID of the peer (see peerCertificateSubject for what is checked). */
export function peerIdentity(peer: PeerSource): CertificateIdentity {
  return identityOf(peerCertificateSubject(peer));
}

// ---------------------------------------------------------------- verifying a certificate chain

export interface VerifyNodeCertificateOptions {
  /** The node certificate, optionally followed by intermediates (PEM bundle). */
  certPem: string;
  /** The trusted root bundle. */
  rootCAPem: string;
  /** When given, the certificate must be for this private key. */
  keyPem?: string;
  now?: Date;
}

export interface VerifiedNodeCertificate extends NodeCertificateInfo {
  /** The certificate that signed the node certificate: an intermediate from the bundle, or a root. */
  issuer: x509.X509Certificate;
}

/**
 * Checks a node certificate before trusting it (one received from the CA, or read from disk): every
 * certificate of the bundle is within its validity period, each is signed by the next, the last is signed
 * by one of the roots, and (if given) the key belongs to it. Returns its identity and issuer.
 */
export function verifyNodeCertificate(options: VerifyNodeCertificateOptions): VerifiedNodeCertificate {
  const now = options.now ?? new Date();
  const chain = certificateDers(options.certPem).map((der) => ({
    node: new NodeX509Certificate(der),
    parsed: parseCertificate(der),
  }));
  const roots = certificateDers(options.rootCAPem).map((der) => ({
    node: new NodeX509Certificate(der),
    parsed: parseCertificate(der),
  }));

  chain.forEach(({ parsed }, i) => {
    const label = `certificate (${i + 1} - ${subjectOf(parsed).commonName})`;
    if (now < parsed.notBefore) {
      throw certificateError(`${label} not valid before ${parsed.notBefore.toUTCString()}`);
    }
    if (now > parsed.notAfter) {
      throw certificateError(`${label} not valid after ${parsed.notAfter.toUTCString()}`);
    }
  });
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i]!.node, chain[i + 1]!.node)) {
      throw certificateError(`certificates do not form a chain: (${i + 1}) is not signed by (${i + 2})`);
    }
  }
  const top = chain[chain.length - 1]!;
  const root = roots.find(
    (r) => issuedBy(top.node, r.node) && r.parsed.notBefore <= now && now <= r.parsed.notAfter,
  );
  if (!root) throw certificateError('x509: certificate signed by unknown authority');

  if (options.keyPem !== undefined) {
    let matches: boolean;
    try {
      matches = chain[0]!.node.checkPrivateKey(createPrivateKey(options.keyPem));
    } catch {
      matches = false;
    }
    if (!matches) throw certificateError('certificate does not match the private key');
  }

  const leaf = chain[0]!.parsed;
  return {
    ...identityOf(subjectOf(leaf)),
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    issuer: chain.length > 1 ? chain[1]!.parsed : root.parsed,
  };
}

function issuedBy(cert: NodeX509Certificate, issuer: NodeX509Certificate): boolean {
  // checkIssued compares names and the issuer's key usage; verify checks the signature itself.
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

// ---------------------------------------------------------------- TLSInfo

function issuerTlsInfo(rootCAPem: string, issuer: x509.X509Certificate): TLSInfo {
  return {
    TrustRoot: rootCAPem,
    // The issuer's raw subject and SubjectPublicKeyInfo DER; JSON carries Go byte slices as standard base64.
    CertIssuerSubject: Buffer.from(issuer.subjectName.toArrayBuffer()).toString('base64'),
    CertIssuerPublicKey: Buffer.from(issuer.publicKey.rawData).toString('base64'),
  };
}

/** The cluster's TLSInfo: the root bundle, and the subject and public key of its (first) root. */
export function rootTlsInfo(rootCAPem: string): TLSInfo {
  return issuerTlsInfo(rootCAPem, parseCertificate(certificateDers(rootCAPem)[0]!));
}

/**
 * A node's TLSInfo, as it reports it in its description: the root bundle it trusts, and the subject and
 * public key of whatever signed its certificate (the root reconciler compares these with the current
 * root to see which nodes still need a certificate from a rotated CA). The chain is verified first.
 */
export function nodeTlsInfo(certPem: string, rootCAPem: string, now?: Date): TLSInfo {
  return issuerTlsInfo(rootCAPem, verifyNodeCertificate({ certPem, rootCAPem, now }).issuer);
}

// ---------------------------------------------------------------- renewal

const RENEWAL_LOWER_FRACTION = 0.5;
const RENEWAL_UPPER_FRACTION = 0.8;
const MINUTE_MS = 60_000;

/**
 * When to renew: a random whole number of minutes after NotBefore, between 50% (inclusive) and 80%
 * (exclusive) of the whole validity period. The spread keeps a cluster's nodes from all renewing at once.
 * `random` returns a number in [0, 1).
 */
export function chooseRenewalTime(validity: CertificateValidity, random: () => number = Math.random): Date {
  const totalMinutes = (validity.notAfter.getTime() - validity.notBefore.getTime()) / MINUTE_MS;
  const lowest = Math.floor(totalMinutes * RENEWAL_LOWER_FRACTION);
  const highest = Math.floor(totalMinutes * RENEWAL_UPPER_FRACTION);
  const minutes = highest - lowest < 1 ? lowest : lowest + Math.floor(random() * (highest - lowest));
  return new Date(validity.notBefore.getTime() + minutes * MINUTE_MS);
}

/** Milliseconds from `now` until the renewal time chosen as above; 0 if that is already past. */
export function renewalDelayMs(
  validity: CertificateValidity,
  now: Date = new Date(),
  random: () => number = Math.random,
): number {
  return Math.max(0, chooseRenewalTime(validity, random).getTime() - now.getTime());
}

// ---------------------------------------------------------------- join tokens (the joining node's part)

const JOIN_TOKEN_PREFIX = 'SWMTKN';
/** ceil(log36(2^256)): the root CA digest as a base-36 number. */
export const JOIN_TOKEN_DIGEST_LENGTH = 50;
/** ceil(log36(2^128)): 16 random bytes as a base-36 number. */
export const JOIN_TOKEN_SECRET_LENGTH = 25;
const BASE36 = /^[0-9a-z]+$/;

export interface ParsedJoinToken {
  /** 1 for `SWMTKN-1-…`; 2 for `SWMTKN-2-<fips>-…` (FIPS clusters). */
  version: 1 | 2;
  fips: boolean;
  /** The root CA digest as written in the token (base 36, 50 characters). */
  digest: string;
  /** The same digest as SHA-256 hex (64 characters), the form errors show. */
  digestHex: string;
  /** The secret part (base 36, 25 characters): what tells worker and manager tokens apart. */
  secret: string;
}

const invalidJoinToken = (): ShoalError => new ShoalError('Unknown', 'invalid join token');

/** Splits a join token into its parts. Throws `invalid join token` for anything malformed. */
export function parseJoinToken(token: string): ParsedJoinToken {
  const parts = token.split('-');
  if (parts.length < 4 || parts[0] !== JOIN_TOKEN_PREFIX) throw invalidJoinToken();
  let version: 1 | 2;
  let fips = false;
  if (parts[1] === '1' && parts.length === 4) {
    version = 1;
  } else if (parts[1] === '2' && parts.length === 5 && (parts[2] === '0' || parts[2] === '1')) {
    version = 2;
    fips = parts[2] === '1';
  } else {
    throw invalidJoinToken();
  }
  const digest = parts[parts.length - 2]!;
  const secret = parts[parts.length - 1]!;
  if (digest.length !== JOIN_TOKEN_DIGEST_LENGTH || secret.length !== JOIN_TOKEN_SECRET_LENGTH) {
    throw invalidJoinToken();
  }
  // Go's big.Int parser accepts either case; tokens are written in lowercase.
  const digestValue = parseBase36(digest.toLowerCase());
  if (digestValue === undefined || digestValue >= 1n << 256n) throw invalidJoinToken();
  return { version, fips, digest, digestHex: digestValue.toString(16).padStart(64, '0'), secret };
}

function parseBase36(digits: string): bigint | undefined {
  if (!BASE36.test(digits)) return undefined;
  let value = 0n;
  for (const digit of digits) value = value * 36n + BigInt(parseInt(digit, 36));
  return value;
}

/** SHA-256 (hex) of the root CA bundle's exact PEM bytes: what a join token pins. */
export function rootCADigestHex(rootCAPem: string): string {
  return createHash('sha256').update(rootCAPem, 'utf8').digest('hex');
}

/** The root CA digest as join tokens carry it: base 36, left-padded with `0` to 50 characters. */
export function joinTokenDigest(rootCAPem: string): string {
  return BigInt('0x' + rootCADigestHex(rootCAPem))
    .toString(36)
    .padStart(JOIN_TOKEN_DIGEST_LENGTH, '0');
}

/**
 * Whether a root CA bundle (as fetched, unverified, from a manager) is the one the join token pins. The
 * digest covers the whole bundle, so a man in the middle cannot add roots of its own. Throws
 * `invalid join token` if the token is malformed.
 */
export function digestMatches(rootCAPem: string, token: string): boolean {
  return parseJoinToken(token).digestHex === rootCADigestHex(rootCAPem);
}

/** swarmkit's text when the fetched root CA is not the one the token pins (`expectedHex`: the token's). */
export const caFingerprintMismatchMessage = (expectedHex: string): string =>
  `remote CA does not match fingerprint. Expected: ${expectedHex}`;

/** Throws swarmkit's fingerprint error unless `rootCAPem` is the root CA the join token pins. */
export function assertRootCAMatchesToken(rootCAPem: string, token: string): void {
  const { digestHex } = parseJoinToken(token);
  if (digestHex !== rootCADigestHex(rootCAPem)) {
    throw new ShoalError('Unknown', caFingerprintMismatchMessage(digestHex));
  }
}

// ---------------------------------------------------------------- TLS options

export interface NodeTlsCredentials {
  /** The node certificate (PEM, leaf first). */
  certPem: string;
  keyPem: string;
  /** The root bundle this node trusts. */
  rootCAPem: string;
}

/**
 * Options for a manager's TLS server. Client certificates are requested and verified against the root but
 * not required, because nodes without one connect to the same port to join; every call therefore decides
 * for itself (peerCertificateSubject / the manager's authorize) whether the peer must be a verified node.
 */
export function serverTlsOptions(credentials: NodeTlsCredentials): TlsOptions {
  return {
    ca: credentials.rootCAPem,
    cert: credentials.certPem,
    key: credentials.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Options for a node connecting to a manager. The server is verified against the root with the name
 * `swarm-manager` (every manager certificate carries it); a node without a certificate yet uses
 * `swarm-ca` and no client certificate.
 */
export function clientTlsOptions(
  trust: { rootCAPem: string; certPem?: string; keyPem?: string },
  serverName: string = MANAGER_SERVER_NAME,
): ConnectionOptions {
  return {
    ca: trust.rootCAPem,
    ...(trust.certPem !== undefined && { cert: trust.certPem }),
    ...(trust.keyPem !== undefined && { key: trust.keyPem }),
    servername: serverName,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

// ---------------------------------------------------------------- errors

function certificateError(message: string): ShoalError {
  return new ShoalError('InvalidArgument', message);
}
