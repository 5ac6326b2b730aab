/**
 * Client certificates presented to upstreams that come from public CAs with clientAuth (see
 * lambda/domain/public-client-auth.ts): `certrotor upstream import-client-cert` records each such
 * certificate per upstream (public facts only: no key, no PEM); the scan (client-auth-use.ts), `status`
 * and the fleet report read the records.
 */
import type { CertificateFacts } from '../domain/certificate';
import type { StateStore } from '../domain/ports';
import { publicClientAuthSunset } from '../domain/public-client-auth';

/** State collection: one record per upstream whose client certificate is public with clientAuth. */
export const CLIENT_CERTIFICATES_COLLECTION = 'client-certificates';

export interface ClientCertificateRecord {
  readonly upstream: string;
  /** The managed certificate name (the upstream's `clientCertificate`). */
  readonly certificate: string;
  readonly version: string;
  readonly environments: readonly string[];
  readonly facts: Pick<
    CertificateFacts,
    'extendedKeyUsage' | 'issuer' | 'isCA' | 'fingerprintSha256' | 'subject' | 'serialNumber' | 'notAfter'
  >;
  readonly recordedAt: string;
}

/**
 * Records the client certificate just imported for `upstream` when it carries clientAuth from a
 * public CA, and forgets an earlier record otherwise (a replacement from a private CA clears it).
 * Kept until a day after the certificate expires.
 */
export async function recordClientCertificate(
  state: StateStore,
  record: Omit<ClientCertificateRecord, 'recordedAt'>,
  now: Date,
): Promise<boolean> {
  if (!publicClientAuthSunset(record.facts)) {
    await state.delete(CLIENT_CERTIFICATES_COLLECTION, record.upstream);
    return false;
  }
  const facts = {
    extendedKeyUsage: [...record.facts.extendedKeyUsage],
    issuer: record.facts.issuer,
    isCA: record.facts.isCA,
    fingerprintSha256: record.facts.fingerprintSha256,
    subject: record.facts.subject,
    serialNumber: record.facts.serialNumber,
    notAfter: record.facts.notAfter,
  };
  await state.put(
    CLIENT_CERTIFICATES_COLLECTION,
    record.upstream,
    { ...record, facts, recordedAt: now.toISOString() },
    now,
    { expiresAt: new Date(Date.parse(record.facts.notAfter) + 86_400_000) },
  );
  return true;
}

export async function clientCertificateRecords(
  state: StateStore,
  now: Date,
): Promise<ClientCertificateRecord[]> {
  return (await state.list<ClientCertificateRecord>(CLIENT_CERTIFICATES_COLLECTION, now)).map((i) => i.value);
}
