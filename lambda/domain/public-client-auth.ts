/**
 * Public CAs stop issuing certificates with the clientAuth extended key usage. A certificate that
 * carries clientAuth and comes from a public CA can be used for mutual TLS today, but its renewal
 * from that CA will be serverAuth only: whoever presents it as a client certificate (to a vendor's
 * upstream) finds out when the renewed certificate is refused.
 *
 * The dated table below says from when each authority stops; a certificate is marked with the
 * earliest date that applies to it. Sources:
 * - Let's Encrypt: clientAuth left the default (`classic`) profile on 2026-02-11 and all issuance on
 *   2026-05-13 (https://letsencrypt.org/2025/05/14/ending-tls-client-authentication/).
 * - Chrome Root Program policy 1.6: from 2027-03-15 the PKI hierarchies of CAs in the Chrome Root
 *   Store are dedicated to TLS server authentication, so public TLS certificates no longer carry
 *   clientAuth (https://googlechrome.github.io/chromerootprogram/).
 *
 * "From a public CA": the issuer's organization (O=) is one of the publicly trusted CA operators
 * below, or the caller knows it (a certificate issued by a configured ACME issuer). The local CA and
 * private CAs (ACM PCA) are not public: their certificates keep clientAuth as configured.
 */
import type { CertificateFacts } from './certificate';
import type { Finding, Severity } from './findings';
import { keyFingerprint } from './findings';

export interface ClientAuthSunsetRule {
  /** Who stops issuing clientAuth. */
  readonly authority: string;
  /** The first day (UTC) on which no certificate with clientAuth is issued. */
  readonly date: string;
  /** Issuer organizations the rule applies to; every public CA when absent. */
  readonly issuerOrganizations?: readonly string[];
  /** One line: what happens on that date. */
  readonly rule: string;
  readonly source: string;
}

/** Dated, earliest first. */
export const CLIENT_AUTH_SUNSETS: readonly ClientAuthSunsetRule[] = [
  {
    authority: "Let's Encrypt",
    date: '2026-05-13',
    issuerOrganizations: ["Let's Encrypt", 'Internet Security Research Group'],
    rule: "Let's Encrypt issues no certificate with clientAuth (its default profile dropped it on 2026-02-11)",
    source: 'https://letsencrypt.org/2025/05/14/ending-tls-client-authentication/',
  },
  {
    authority: 'Chrome Root Program',
    date: '2027-03-15',
    rule: 'CAs in the Chrome Root Store issue TLS certificates from server-only hierarchies: no clientAuth',
    source: 'https://googlechrome.github.io/chromerootprogram/',
  },
];

/**
 * Organizations (O= of the issuing CA) of publicly trusted TLS CAs: the operators behind most of the
 * Chrome and Mozilla root stores. Compared case-insensitively.
 */
export const PUBLIC_CA_ORGANIZATIONS: readonly string[] = [
  "Let's Encrypt",
  'Internet Security Research Group',
  'DigiCert Inc',
  'DigiCert, Inc.',
  'Sectigo Limited',
  'COMODO CA Limited',
  'GlobalSign nv-sa',
  'Google Trust Services',
  'Google Trust Services LLC',
  'Amazon',
  'Entrust, Inc.',
  'GoDaddy.com, Inc.',
  'Starfield Technologies, Inc.',
  'ZeroSSL',
  'IdenTrust',
  'Buypass AS-983163327',
  'SSL Corporation',
  'Asseco Data Systems S.A.',
  'Certum',
  'Actalis S.p.A.',
  'Hellenic Academic and Research Institutions CA',
  'SECOM Trust Systems CO.,LTD.',
  'Certainly',
  'Microsoft Corporation',
  'Apple Inc.',
  'QuoVadis Limited',
  'Telia Finland Oyj',
  'SwissSign AG',
  'D-Trust GmbH',
];

export interface ClientAuthSunset {
  readonly authority: string;
  /** `YYYY-MM-DD`: from this day the certificate cannot be renewed with clientAuth from its CA. */
  readonly date: string;
  readonly rule: string;
  readonly source: string;
}

type Facts = Pick<CertificateFacts, 'extendedKeyUsage' | 'issuer' | 'isCA'>;

/** The issuing CA's organization (`O=` of the issuer name), if it names one. */
export function issuerOrganization(facts: Pick<CertificateFacts, 'issuer'>): string | undefined {
  const match = /(?:^|,\s*)O=((?:[^,\\]|\\.|,(?!\s*[A-Za-z.0-9]+=))+)/.exec(facts.issuer);
  return match?.[1]?.replace(/\\(.)/g, '$1').trim();
}

/** True when the certificate's issuer is one of the public CA operators. */
export function issuedByPublicCa(facts: Pick<CertificateFacts, 'issuer'>): boolean {
  const org = issuerOrganization(facts)?.toLowerCase();
  return org !== undefined && PUBLIC_CA_ORGANIZATIONS.some((o) => o.toLowerCase() === org);
}

/**
 * For a certificate with clientAuth from a public CA: the earliest date after which it can no longer
 * be renewed with clientAuth, and who says so. Undefined for anything else (no clientAuth, a CA
 * certificate, a private or local CA).
 * @param options.publicCa the caller knows the CA is public (an ACME issuer) or private; @default by issuer organization
 */
export function publicClientAuthSunset(
  facts: Facts,
  options: { readonly publicCa?: boolean } = {},
): ClientAuthSunset | undefined {
  if (facts.isCA || !facts.extendedKeyUsage.includes('clientAuth')) return undefined;
  if (!(options.publicCa ?? issuedByPublicCa(facts))) return undefined;
  const org = issuerOrganization(facts)?.toLowerCase();
  const rule = CLIENT_AUTH_SUNSETS.filter(
    (r) => !r.issuerOrganizations || r.issuerOrganizations.some((o) => o.toLowerCase() === org),
  ).sort((a, b) => a.date.localeCompare(b.date))[0];
  if (!rule) return undefined;
  return { authority: rule.authority, date: rule.date, rule: rule.rule, source: rule.source };
}

/** The mark shown next to such a certificate in status, the report and the inventory. */
export function clientAuthMark(sunset: ClientAuthSunset, now: Date): string {
  return now.getTime() >= Date.parse(`${sunset.date}T00:00:00Z`)
    ? `public clientAuth: no longer renewable with clientAuth since ${sunset.date} (${sunset.authority})`
    : `public clientAuth: renewable with clientAuth until ${sunset.date} (${sunset.authority})`;
}

export interface ClientCertificateUse {
  /** The upstream it is presented to. */
  readonly upstream: string;
  /** The managed certificate name the upstream's `clientCertificate` names. */
  readonly certificate: string;
  readonly facts: Pick<
    CertificateFacts,
    'extendedKeyUsage' | 'issuer' | 'isCA' | 'fingerprintSha256' | 'subject' | 'serialNumber' | 'notAfter'
  >;
  readonly environments: readonly string[];
  /** Where it was seen or recorded (`upstream payments client certificate`, a host). */
  readonly location: string;
}

/**
 * A certificate with clientAuth from a public CA, presented to an upstream as a client certificate:
 * its renewal from that CA will lack clientAuth. Warning before the date, critical from it on.
 */
export function clientAuthSunsetFinding(use: ClientCertificateUse, now: Date): Finding | undefined {
  const sunset = publicClientAuthSunset(use.facts);
  if (!sunset) return undefined;
  const past = now.getTime() >= Date.parse(`${sunset.date}T00:00:00Z`);
  const severity: Severity = past ? 'critical' : 'warning';
  const days = Math.floor((Date.parse(`${sunset.date}T00:00:00Z`) - now.getTime()) / 86_400_000);
  return {
    kind: 'client-auth-sunset',
    severity,
    certificate: {
      fingerprintSha256: use.facts.fingerprintSha256,
      subject: use.facts.subject,
      serialNumber: use.facts.serialNumber,
      notAfter: use.facts.notAfter,
      name: use.certificate,
    },
    environments: use.environments.length > 0 ? [...use.environments] : ['default'],
    locations: [use.location],
    daysLeft: days,
    message: `${use.certificate} is presented to upstream ${use.upstream} as a client certificate and carries clientAuth from a public CA (${use.facts.issuer}): ${sunset.rule} ${past ? 'since' : 'from'} ${sunset.date} (${sunset.authority}), so its renewal will not authenticate as a client; ask the vendor for a certificate from a private CA`,
    // One alert per level: the warning once, then critical once the date has come.
    dedupeKey: `client-auth-sunset:${use.upstream}:${keyFingerprint(use.facts.fingerprintSha256)}:${severity}`,
    details: {
      upstream: use.upstream,
      authority: sunset.authority,
      sunsetDate: sunset.date,
      source: sunset.source,
    },
  };
}
