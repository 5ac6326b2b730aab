/**
 * Key generation and certificate minting with @peculiar/x509 over Node's WebCrypto. Used by the local
 * CA issuer, CSR creation for ACM Private CA, and the test builders. Keys leave this module only as
 * PKCS#8 PEM wrapped in SecretKey.
 */
import 'reflect-metadata';
import { webcrypto, createPrivateKey, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { KeySpec } from '../../domain/ports';
import { SecretKey } from '../../domain/secret';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface KeyPair {
  readonly keys: CryptoKeyPair;
  readonly spec: KeySpec;
}

function algorithmFor(spec: KeySpec): RsaHashedKeyGenParams | EcKeyGenParams {
  switch (spec) {
    case 'EC_P256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'EC_P384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'RSA_2048':
    case 'RSA_3072':
    case 'RSA_4096':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(spec.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** RSA below 2048 is only for tests that need a weak key. */
export type AnyKeySpec = KeySpec | 'RSA_1024';

export async function generateKeyPair(spec: AnyKeySpec): Promise<KeyPair> {
  const algorithm =
    spec === 'RSA_1024'
      ? { ...(algorithmFor('RSA_2048') as RsaHashedKeyGenParams), modulusLength: 1024 }
      : algorithmFor(spec);
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { keys, spec: spec as KeySpec };
}

export async function exportPrivateKey(pair: KeyPair): Promise<SecretKey> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.keys.privateKey));
  const pem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  });
  return new SecretKey(pem.toString());
}

/** Imports a PKCS#8/PKCS#1/SEC1 PEM private key for signing. */
export async function importSigningKey(
  privateKey: SecretKey,
  certificatePem: string,
): Promise<CryptoKeyPair> {
  const keyObject = createPrivateKey(privateKey.reveal());
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const cert = new x509.X509Certificate(certificatePem);
  const algorithm = cert.publicKey.algorithm as RsaHashedImportParams | EcKeyImportParams;
  const signAlgorithm =
    algorithm.name === 'ECDSA'
      ? { name: 'ECDSA', namedCurve: (algorithm as EcKeyImportParams).namedCurve }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const priv = await webcrypto.subtle.importKey('pkcs8', pkcs8, signAlgorithm, true, ['sign']);
  const pub = await cert.publicKey.export(
    signAlgorithm as Algorithm,
    ['verify'],
    webcrypto as unknown as Crypto,
  );
  return { privateKey: priv as unknown as CryptoKey, publicKey: pub } as CryptoKeyPair;
}

function signingAlgorithm(keys: CryptoKeyPair): Algorithm | EcdsaParams {
  const alg = keys.privateKey.algorithm as EcKeyAlgorithm;
  if (alg.name === 'ECDSA')
    return { name: 'ECDSA', hash: alg.namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams;
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm;
}

export interface MintRequest {
  /** e.g. `CN=api.internal, O=certrotor`. */
  readonly subject: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The key pair of the certificate being minted. */
  readonly subjectKeys: CryptoKeyPair;
  /** Issuer certificate and keys; absent for a self-signed certificate. */
  readonly issuer?: { readonly certificatePem: string; readonly keys: CryptoKeyPair };
  readonly isCA?: boolean;
  /** `serverAuth`, `clientAuth`; empty means no EKU extension. @default ['serverAuth'] for leaves */
  readonly extendedKeyUsage?: readonly ('serverAuth' | 'clientAuth')[];
  /** Hex serial; random 16 bytes when absent. */
  readonly serialNumber?: string;
}

const EKU_OID = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
} as const;

/** Mints a certificate and returns its PEM. */
export async function mintCertificate(request: MintRequest): Promise<string> {
  const isCA = request.isCA ?? false;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(isCA, isCA ? 1 : undefined, true),
    new x509.KeyUsagesExtension(
      isCA
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(request.subjectKeys.publicKey),
  ];
  const eku = request.extendedKeyUsage ?? (isCA ? [] : ['serverAuth']);
  if (eku.length > 0)
    extensions.push(
      new x509.ExtendedKeyUsageExtension(
        eku.map((u) => EKU_OID[u]),
        false,
      ),
    );
  const names: x509.JsonGeneralName[] = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  if (request.issuer) {
    const issuerCert = new x509.X509Certificate(request.issuer.certificatePem);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerCert, false));
  }
  const signingKeys = request.issuer?.keys ?? request.subjectKeys;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: request.serialNumber ?? randomSerial(),
    subject: request.subject,
    issuer: request.issuer
      ? new x509.X509Certificate(request.issuer.certificatePem).subject
      : request.subject,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
    publicKey: request.subjectKeys.publicKey,
    signingKey: signingKeys.privateKey,
    signingAlgorithm: signingAlgorithm(signingKeys),
    extensions,
  });
  return cert.toString('pem') + '\n';
}

/** A PKCS#10 CSR (PEM) for the given names, signed by `keys`. */
export async function createCsr(options: {
  subject: string;
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  keys: CryptoKeyPair;
}): Promise<string> {
  const names: x509.JsonGeneralName[] = [
    ...options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: options.subject,
    keys: options.keys,
    signingAlgorithm: signingAlgorithm(options.keys),
    extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return csr.toString('pem') + '\n';
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive
  if (bytes[0] === 0) bytes[0] = 1;
  return Buffer.from(bytes).toString('hex');
}

/** Sanity: the PEM Node can parse, used by callers that want a fingerprint without the domain parser. */
export function nodeCertificate(pem: string): X509Certificate {
  return new X509Certificate(pem);
}
