/**
 * Builders for pure policy tests: CertificateFacts and ProbeResults without minting real
 * certificates. For real X.509 material use ./certificates.
 */
import { createHash } from 'node:crypto';
import type { CertificateFacts } from '../../lambda/domain/certificate';
import type { CertificateMaterial, ProbeResult } from '../../lambda/domain/ports';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A fixed "now" for policy tests. */
export const NOW = new Date('2030-06-15T12:00:00.000Z');

/** `at(-7 * DAY)`: an instant relative to a reference (NOW by default). */
export function at(offsetMs: number, from: Date = NOW): Date {
  return new Date(from.getTime() + offsetMs);
}

/** A deterministic SHA-256-shaped fingerprint (uppercase, colon separated) for a seed. */
export function fingerprintOf(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').toUpperCase().match(/../g)!.join(':');
}

export interface FactsOptions extends Partial<Omit<CertificateFacts, 'notBefore' | 'notAfter'>> {
  /** Defaults to 90 days. */
  lifetimeMs?: number;
  notBefore?: Date;
  /** Defaults to notBefore + lifetime, or NOW + 30 days when notBefore is not given either. */
  notAfter?: Date;
  /** Seeds the fingerprint and serial when they are not given. */
  seed?: string;
}

export function buildFacts(options: FactsOptions = {}): CertificateFacts {
  const { lifetimeMs = 90 * DAY, notBefore, notAfter, seed, ...overrides } = options;
  const end = notAfter ?? (notBefore ? at(lifetimeMs, notBefore) : at(30 * DAY));
  const start = notBefore ?? at(-lifetimeMs, end);
  const commonName = 'api.example.test';
  const key = seed ?? `${overrides.subject ?? commonName}|${start.toISOString()}|${end.toISOString()}`;
  return {
    fingerprintSha256: fingerprintOf(key),
    serialNumber: fingerprintOf(`serial|${key}`).replace(/:/g, '').slice(0, 16),
    subject: `CN=${commonName}, O=certrotor tests`,
    issuer: 'CN=certrotor test intermediate, O=certrotor tests',
    subjectAltNames: [{ type: 'DNS', value: commonName }],
    notBefore: start.toISOString(),
    notAfter: end.toISOString(),
    keyAlgorithm: 'EC',
    curve: 'P-256',
    isCA: false,
    selfSigned: false,
    extendedKeyUsage: ['serverAuth'],
    ...overrides,
  };
}

/** A CA certificate's facts: issuer of `leaf`-style facts by default. */
export function buildCaFacts(options: FactsOptions = {}): CertificateFacts {
  return buildFacts({
    subject: 'CN=certrotor test intermediate, O=certrotor tests',
    issuer: 'CN=certrotor test root, O=certrotor tests',
    subjectAltNames: [],
    isCA: true,
    extendedKeyUsage: [],
    lifetimeMs: 5 * 365 * DAY,
    seed: 'intermediate',
    ...options,
  });
}

export function material(facts: CertificateFacts): CertificateMaterial {
  return {
    facts,
    pem: `-----BEGIN CERTIFICATE-----\n(${facts.fingerprintSha256})\n-----END CERTIFICATE-----\n`,
  };
}

/** A healthy handshake to api.example.test:443 serving `chain` (leaf first). */
export function buildProbeResult(
  chain: readonly CertificateFacts[],
  overrides: Partial<Omit<ProbeResult, 'chain'>> = {},
): ProbeResult {
  return {
    host: 'api.example.test',
    port: 443,
    servername: 'api.example.test',
    address: '127.0.0.1',
    observedAt: NOW.toISOString(),
    ok: true,
    protocol: 'TLSv1.3',
    chain: chain.map(material),
    authorized: true,
    hostnameMatches: true,
    ...overrides,
  };
}

/** A random source that returns the given values in turn (then repeats the last). */
export function randomSequence(...values: number[]): () => number {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)] as number;
}
