/**
 * Test certificate builder: real certificates made in-process, with every knob a failure case needs
 * (expired, not yet valid, weak key, wrong EKU, missing SANs, CA chains).
 */
import {
  type AnyKeySpec,
  exportPrivateKey,
  generateKeyPair,
  mintCertificate,
} from '../../lambda/adapters/crypto/mint';
import type { SecretKey } from '../../lambda/domain/secret';

export const DAY = 86_400_000;

export interface BuiltCertificate {
  readonly certificatePem: string;
  readonly privateKey: SecretKey;
  readonly keys: CryptoKeyPair;
  /** The issuing chain, leaf's issuer first (empty for self-signed). */
  readonly chainPem: string;
}

export interface CertificateOptions {
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  keySpec?: AnyKeySpec;
  notBefore?: Date;
  notAfter?: Date;
  /** Convenience: lifetime ending `daysLeft` after `now`. */
  now?: Date;
  daysLeft?: number;
  lifetimeDays?: number;
  isCA?: boolean;
  extendedKeyUsage?: ('serverAuth' | 'clientAuth')[];
  issuer?: BuiltCertificate;
  serialNumber?: string;
}

export async function buildCertificate(options: CertificateOptions = {}): Promise<BuiltCertificate> {
  const now = options.now ?? new Date();
  const lifetime = (options.lifetimeDays ?? 90) * DAY;
  const notAfter =
    options.notAfter ??
    new Date(now.getTime() + (options.daysLeft !== undefined ? options.daysLeft * DAY : lifetime / 2));
  const notBefore = options.notBefore ?? new Date(notAfter.getTime() - lifetime);
  const keys = await generateKeyPair(options.keySpec ?? 'EC_P256');
  const commonName = options.commonName ?? options.dnsNames?.[0] ?? 'localhost';
  const certificatePem = await mintCertificate({
    subject: `CN=${commonName}, O=certrotor tests`,
    dnsNames: options.dnsNames ?? (options.isCA ? [] : [commonName]),
    ipAddresses: options.ipAddresses ?? [],
    notBefore,
    notAfter,
    subjectKeys: keys.keys,
    isCA: options.isCA ?? false,
    ...(options.extendedKeyUsage ? { extendedKeyUsage: options.extendedKeyUsage } : {}),
    ...(options.serialNumber ? { serialNumber: options.serialNumber } : {}),
    ...(options.issuer
      ? { issuer: { certificatePem: options.issuer.certificatePem, keys: options.issuer.keys } }
      : {}),
  });
  const chainPem = options.issuer
    ? options.issuer.certificatePem + (options.issuer.chainPem ? options.issuer.chainPem : '')
    : '';
  return { certificatePem, privateKey: await exportPrivateKey(keys), keys: keys.keys, chainPem };
}

/** A root CA valid ten years around `now`. */
export function buildCa(options: Omit<CertificateOptions, 'isCA'> = {}): Promise<BuiltCertificate> {
  const now = options.now ?? new Date();
  return buildCertificate({
    commonName: 'certrotor test root',
    notBefore: new Date(now.getTime() - 365 * DAY),
    notAfter: new Date(now.getTime() + 3650 * DAY),
    ...options,
    isCA: true,
    extendedKeyUsage: [],
  });
}

/** A root, an intermediate and a leaf for `dnsNames`, the common shape of a served chain. */
export async function buildChain(options: CertificateOptions = {}): Promise<{
  root: BuiltCertificate;
  intermediate: BuiltCertificate;
  leaf: BuiltCertificate;
}> {
  const root = await buildCa({ now: options.now });
  const intermediate = await buildCertificate({
    commonName: 'certrotor test intermediate',
    isCA: true,
    extendedKeyUsage: [],
    issuer: root,
    now: options.now,
    lifetimeDays: 1825,
    daysLeft: 1000,
  });
  const leaf = await buildCertificate({ ...options, issuer: intermediate });
  return { root, intermediate, leaf };
}
