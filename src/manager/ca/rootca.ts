// The cluster's root certificate authority: created once at `swarm init`, then loaded by whichever manager
// leads so it can sign node certificates. Behaviour as swarmkit's CreateRootCA / NewRootCA
// (ca/certificates.go), which creates the root through CFSSL's initca.

import {
  createPrivateKey,
  randomBytes,
  webcrypto,
  X509Certificate as NodeX509Certificate,
  type KeyObject,
} from 'node:crypto';
import type { X509Certificate } from '@peculiar/x509';
import { encodePem, ROOT_CA_COMMON_NAME, splitCertificates, x509 } from '../../api/certs.js';
import { ShoalError } from '../../api/errors.js';
import type { RootCAMaterial } from '../../api/types.js';

/** 20 years, swarmkit's RootCAExpiration (`630720000s`). */
export const ROOT_CA_LIFETIME_SECONDS = 630_720_000;
/**
 * CFSSL's default backdate for certificates whose profile sets none, which is how the root is made:
 * NotBefore = now rounded to the minute − 5 minutes, NotAfter = NotBefore + lifetime.
 */
export const ROOT_CA_BACKDATE_SECONDS = 5 * 60;

/** The root's certificate and key, both PEM, as stored in the cluster object. */
export type RootCAKeyMaterial = Pick<RootCAMaterial, 'CACert' | 'CAKey'>;

export type SignatureHash = 'SHA-256' | 'SHA-384' | 'SHA-512';

/** A root CA ready to sign: its certificate parsed and its key imported, checked to belong together. */
export interface RootCASigner {
  /** The signing certificate (PEM). */
  readonly certPem: string;
  readonly certificate: X509Certificate;
  readonly privateKey: webcrypto.CryptoKey;
  /** The hash paired with the key's curve, as Go picks it (P-256 → SHA-256, P-384 → SHA-384, …). */
  readonly signatureHash: SignatureHash;
}

const MINUTE_MS = 60_000;

/** `at` rounded to the nearest minute (half up), as CFSSL does before backdating. */
export const roundToMinute = (at: Date): Date => new Date(Math.round(at.getTime() / MINUTE_MS) * MINUTE_MS);

/**
 * A 20-byte random serial, non-negative (top bit clear), the size CFSSL uses: RFC 5280's maximum, so
 * serials never collide in practice.
 */
export function randomSerialNumberHex(): string {
  const serial = randomBytes(20);
  serial[0] = serial[0]! & 0x7f;
  return serial.toString('hex');
}

/**
 * A new root CA: ECDSA P-256 key, self-signed certificate with CN `swarm-ca`, key usage certificate and
 * CRL signing (critical), basic constraints CA (critical), a subject key identifier, valid 20 years.
 */
export async function createRootCA(now: Date = new Date()): Promise<RootCAKeyMaterial> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const notBefore = new Date(roundToMinute(now).getTime() - ROOT_CA_BACKDATE_SECONDS * 1000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumberHex(),
    name: [{ CN: [ROOT_CA_COMMON_NAME] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + ROOT_CA_LIFETIME_SECONDS * 1000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.BasicConstraintsExtension(true, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    CACert: encodePem('CERTIFICATE', new Uint8Array(certificate.rawData)),
    CAKey: encodePem('PRIVATE KEY', new Uint8Array(pkcs8)),
  };
}

const HASH_BY_CURVE: Record<string, { webCryptoCurve: string; hash: SignatureHash }> = {
  prime256v1: { webCryptoCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { webCryptoCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { webCryptoCurve: 'P-521', hash: 'SHA-512' },
};

/**
 * Prepares the root CA for signing. The key may be PKCS#8 (`PRIVATE KEY`, what createRootCA writes) or
 * SEC 1 (`EC PRIVATE KEY`, what swarmkit writes and users may supply); only ECDSA keys are supported. The
 * first certificate of `CACert` signs; it must be a CA certificate for this key.
 */
export async function loadRootCASigner(material: RootCAKeyMaterial): Promise<RootCASigner> {
  const certPem = splitCertificates(material.CACert)[0];
  if (certPem === undefined) throw rootCAError('no root CA certificate found');
  const nodeCert = new NodeX509Certificate(certPem);
  if (!nodeCert.ca) throw rootCAError('root CA certificate is not a CA certificate');

  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(material.CAKey);
  } catch (err) {
    throw rootCAError(`malformed root CA key: ${(err as Error).message}`);
  }
  const curve = HASH_BY_CURVE[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
  if (keyObject.asymmetricKeyType !== 'ec' || !curve) {
    throw rootCAError('unsupported root CA key: only ECDSA P-256, P-384 and P-521 keys can sign');
  }
  if (!nodeCert.checkPrivateKey(keyObject)) throw rootCAError('certificate key mismatch');

  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    keyObject.export({ type: 'pkcs8', format: 'der' }),
    { name: 'ECDSA', namedCurve: curve.webCryptoCurve },
    false,
    ['sign'],
  );
  return {
    certPem,
    certificate: new x509.X509Certificate(certPem),
    privateKey,
    signatureHash: curve.hash,
  };
}

function rootCAError(message: string): ShoalError {
  return new ShoalError('InvalidArgument', message);
}
