/**
 * Judgements about what one endpoint served in one handshake. Gathering (the probe) is separate from
 * deciding (here): `endpointFindings` runs an ordered chain of checks over a ProbeResult, one
 * trailing comment per check, and returns every finding; an empty list means the endpoint is healthy.
 */
import { type CertificateFacts, daysLeft, shortFingerprint } from './certificate';
import { formatDuration } from './duration';
import { type Finding, type FindingContext, type Severity, certificateOf, keyFingerprint } from './findings';
import type { ProbeResult } from './ports';
import { alertKey } from './thresholds';

export interface EndpointExpectation {
  /**
   * Fingerprints acceptable at this endpoint: the current version and, during a rotation, the
   * pending or previous one. Drift is judged only when this is given and not empty.
   */
  readonly expectedFingerprints?: readonly string[];
  /**
   * RSA and DSA keys below this many bits are weak.
   * @default 2048
   */
  readonly minimumKeyBits?: number;
}

export const DEFAULT_MINIMUM_KEY_BITS = 2048;

/**
 * Verification errors (Node/OpenSSL codes) that mean the server did not send the intermediates
 * needed to reach a trust anchor.
 */
export const INCOMPLETE_CHAIN_CODES: readonly string[] = [
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
];
const ISSUER_NOT_FOUND_LOCALLY = 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY';
/** Verification errors another check already explains better. */
const TIME_CODES = ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'];
const HOSTNAME_CODES = ['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH'];

/** `host:port`, plus `#servername` when SNI differs from the host: the endpoint part of keys. */
export function endpointId(result: Pick<ProbeResult, 'host' | 'port' | 'servername'>): string {
  const sni = result.servername && result.servername !== result.host ? `#${result.servername}` : '';
  return `${result.host}:${result.port}${sni}`;
}

/** Human readable place: `api.example.com:443 (10.0.0.7)`. */
export function endpointLocation(
  result: Pick<ProbeResult, 'host' | 'port' | 'servername' | 'address'>,
): string {
  const address = result.address && result.address !== result.host ? ` (${result.address})` : '';
  return `${endpointId(result)}${address}`;
}

/**
 * Every finding for one probe result at `now`, in check order: probe-failed (alone), expired,
 * not-yet-valid, drift, hostname-mismatch, incomplete-chain or untrusted-chain, chain-expired,
 * weak-key.
 */
export function endpointFindings(
  result: ProbeResult,
  expectation: EndpointExpectation,
  now: Date,
  context: FindingContext,
): Finding[] {
  const location = context.location ?? endpointLocation(result);
  const id = endpointId(result);
  const leafMaterial = result.chain[0];
  if (!result.ok || !leafMaterial) {
    // Nothing to judge without a certificate: the probe itself is the finding.
    return [probeFailed(result, location, id, context)];
  }
  const leaf = leafMaterial.facts;
  const chain = result.chain.map((material) => material.facts);
  const at = now.getTime();
  const about = (facts: CertificateFacts) => ({
    certificate: certificateOf(facts, context.name),
    environments: [context.environment],
    locations: [location],
    daysLeft: daysLeft(facts, now),
  });
  const findings: Finding[] = [];

  if (at > Date.parse(leaf.notAfter)) {
    // Serving an expired certificate: clients fail now.
    findings.push({
      ...about(leaf),
      kind: 'expired',
      severity: 'critical',
      message: `${location} serves ${describe(leaf)}, expired ${formatDuration(at - Date.parse(leaf.notAfter))} ago`,
      dedupeKey: alertKey(leaf.fingerprintSha256, 'expired'),
      details: { endpoint: id, notAfter: leaf.notAfter },
    });
  }
  if (at < Date.parse(leaf.notBefore)) {
    // Installed too early or a clock is wrong: clients fail until notBefore.
    findings.push({
      ...about(leaf),
      kind: 'not-yet-valid',
      severity: 'critical',
      message: `${location} serves ${describe(leaf)}, not valid for another ${formatDuration(Date.parse(leaf.notBefore) - at)}`,
      dedupeKey: `not-yet-valid:${keyFingerprint(leaf.fingerprintSha256)}`,
      details: { endpoint: id, notBefore: leaf.notBefore },
    });
  }
  const expected = (expectation.expectedFingerprints ?? []).map(keyFingerprint);
  if (expected.length > 0 && !expected.includes(keyFingerprint(leaf.fingerprintSha256))) {
    // Serves something other than the managed certificate: stale file, no reload, wrong host.
    const wanted = (expectation.expectedFingerprints ?? []).map(shortFingerprint).join(' or ');
    findings.push({
      ...about(leaf),
      kind: 'drift',
      severity: 'warning',
      message: `${location} serves ${describe(leaf)} instead of ${context.name ? `${context.name} ` : ''}${wanted}`,
      dedupeKey: `drift:${id}:${keyFingerprint(leaf.fingerprintSha256)}`,
      details: {
        endpoint: id,
        servedFingerprint: leaf.fingerprintSha256,
        expectedFingerprints: [...(expectation.expectedFingerprints ?? [])],
      },
    });
  }
  if (!result.hostnameMatches) {
    // Clients that check the name (all of them should) refuse the certificate.
    const name = result.servername ?? result.host;
    const dnsNames = leaf.subjectAltNames.map((san) => san.value);
    findings.push({
      ...about(leaf),
      kind: 'hostname-mismatch',
      severity: 'critical',
      message: `${location} serves ${describe(leaf)}, which does not cover ${name} (names: ${dnsNames.join(', ') || 'none'})`,
      dedupeKey: `hostname-mismatch:${id}:${keyFingerprint(leaf.fingerprintSha256)}`,
      details: { endpoint: id, servername: name, subjectAltNames: dnsNames },
    });
  }
  const expiredInChain = chain.slice(1).filter((facts) => at > Date.parse(facts.notAfter));
  // Judged by OpenSSL's code (CERT_HAS_EXPIRED), never by its wording; the wording is for people.
  const code = result.authorizationErrorCode ?? result.authorizationError;
  const why = result.authorizationError ?? code;
  if (!result.authorized && isIncompleteChain(chain, code)) {
    // The server did not send the intermediates: clients without a cached copy fail.
    findings.push({
      ...about(leaf),
      kind: 'incomplete-chain',
      severity: 'critical',
      message: `${location} sends an incomplete chain: issuer "${leaf.issuer}" of ${describe(leaf)} is neither sent nor trusted`,
      dedupeKey: `incomplete-chain:${id}:${keyFingerprint(leaf.fingerprintSha256)}`,
      details: {
        endpoint: id,
        authorizationError: why,
        authorizationErrorCode: code,
        chainLength: chain.length,
      },
    });
  } else if (!result.authorized && !explainedElsewhere(code, findings, expiredInChain)) {
    // Verification failed for another reason (unknown root, self-signed): say so with the code.
    findings.push({
      ...about(leaf),
      kind: 'untrusted-chain',
      severity: 'warning',
      message: `${location}: chain of ${describe(leaf)} does not verify (${why && code && why !== code ? `${why}, ${code}` : (code ?? 'no reason given')})`,
      dedupeKey: `untrusted-chain:${id}:${keyFingerprint(leaf.fingerprintSha256)}`,
      details: { endpoint: id, authorizationError: why, authorizationErrorCode: code },
    });
  }
  for (const facts of expiredInChain) {
    // An expired intermediate or root was sent; fatal unless the verifier found another path.
    findings.push({
      ...about(facts),
      kind: 'chain-expired',
      severity: result.authorized ? 'warning' : 'critical',
      message: `${location} sends expired ${facts.isCA ? 'CA ' : ''}certificate "${facts.subject}" (${shortFingerprint(facts.fingerprintSha256)}) in the chain of ${describe(leaf)}`,
      dedupeKey: `chain-expired:${id}:${keyFingerprint(facts.fingerprintSha256)}`,
      details: { endpoint: id, leafFingerprint: leaf.fingerprintSha256, notAfter: facts.notAfter },
    });
  }
  const minimumBits = expectation.minimumKeyBits ?? DEFAULT_MINIMUM_KEY_BITS;
  for (const facts of chain.filter((facts) => isWeakKey(facts, minimumBits))) {
    // Short RSA/DSA keys are rejected by modern clients and factorable by well-funded attackers.
    findings.push({
      ...about(facts),
      kind: 'weak-key',
      severity: 'warning',
      message: `${location} sends ${describe(facts)} with a ${facts.keySize}-bit ${facts.keyAlgorithm} key (minimum ${minimumBits})`,
      dedupeKey: `weak-key:${keyFingerprint(facts.fingerprintSha256)}`,
      details: { endpoint: id, keyAlgorithm: facts.keyAlgorithm, keySize: facts.keySize, minimumBits },
    });
  }
  return findings;
}

/** True for RSA or DSA keys shorter than `minimumBits`. */
export function isWeakKey(
  facts: Pick<CertificateFacts, 'keyAlgorithm' | 'keySize'>,
  minimumBits = DEFAULT_MINIMUM_KEY_BITS,
): boolean {
  return (
    (facts.keyAlgorithm === 'RSA' || facts.keyAlgorithm === 'DSA') &&
    facts.keySize !== undefined &&
    facts.keySize < minimumBits
  );
}

/**
 * An upstream endpoint now serves a different leaf than last observed. A new issuer or root is a
 * warning (consumers pinning the old one break); a new leaf from the same issuer is info. Undefined
 * when the leaf is unchanged.
 * @param previous the chain last observed, leaf first
 * @param current the chain observed now, leaf first
 */
export function upstreamChangeFinding(
  upstream: string,
  previous: readonly CertificateFacts[],
  current: readonly CertificateFacts[],
  now: Date,
  context: FindingContext,
): Finding | undefined {
  const before = previous[0];
  const after = current[0];
  if (
    !before ||
    !after ||
    keyFingerprint(before.fingerprintSha256) === keyFingerprint(after.fingerprintSha256)
  ) {
    return undefined;
  }
  const topBefore = previous[previous.length - 1] as CertificateFacts;
  const topAfter = current[current.length - 1] as CertificateFacts;
  const change =
    before.issuer !== after.issuer ? 'issuer' : topBefore.issuer !== topAfter.issuer ? 'root' : 'leaf';
  const severity: Severity = change === 'leaf' ? 'info' : 'warning';
  return {
    kind: 'upstream-certificate-changed',
    severity,
    certificate: certificateOf(after, context.name),
    environments: [context.environment],
    locations: [context.location ?? upstream],
    daysLeft: daysLeft(after, now),
    message:
      change === 'leaf'
        ? `${upstream} now serves ${describe(after)} (was ${shortFingerprint(before.fingerprintSha256)}), same issuer`
        : `${upstream} now serves ${describe(after)} from a new ${change}: "${change === 'issuer' ? after.issuer : topAfter.issuer}" (was "${change === 'issuer' ? before.issuer : topBefore.issuer}")`,
    dedupeKey: `upstream-certificate-changed:${upstream}:${keyFingerprint(after.fingerprintSha256)}`,
    details: {
      upstream,
      change,
      previousFingerprint: before.fingerprintSha256,
      currentFingerprint: after.fingerprintSha256,
      previousIssuer: before.issuer,
      currentIssuer: after.issuer,
    },
  };
}

function probeFailed(result: ProbeResult, location: string, id: string, context: FindingContext): Finding {
  const reason = result.ok ? 'no certificate presented' : (result.error ?? 'handshake failed');
  return {
    kind: 'probe-failed',
    severity: 'warning',
    environments: [context.environment],
    locations: [location],
    message: `${location}: ${reason}`,
    dedupeKey: `probe-failed:${id}`,
    details: { endpoint: id, address: result.address, error: reason, observedAt: result.observedAt },
  };
}

/**
 * The chain stops short of a trust anchor: a code that says so, or (when the code is ambiguous or
 * absent) a lone non-self-signed leaf, or a sent chain whose links do not connect.
 */
function isIncompleteChain(chain: readonly CertificateFacts[], code: string | undefined): boolean {
  if (code !== undefined && INCOMPLETE_CHAIN_CODES.includes(code)) return true;
  if (code !== undefined && code !== ISSUER_NOT_FOUND_LOCALLY) return false;
  const leaf = chain[0] as CertificateFacts;
  if (chain.length === 1) return !leaf.selfSigned;
  return chain.slice(1).some((facts, index) => (chain[index] as CertificateFacts).issuer !== facts.subject);
}

function explainedElsewhere(
  code: string | undefined,
  findings: readonly Finding[],
  expiredInChain: readonly CertificateFacts[],
): boolean {
  if (code !== undefined && HOSTNAME_CODES.includes(code))
    return findings.some((f) => f.kind === 'hostname-mismatch');
  if (code !== undefined && TIME_CODES.includes(code)) {
    return (
      expiredInChain.length > 0 || findings.some((f) => f.kind === 'expired' || f.kind === 'not-yet-valid')
    );
  }
  return false;
}

function describe(facts: Pick<CertificateFacts, 'subject' | 'fingerprintSha256'>): string {
  return `"${facts.subject}" (${shortFingerprint(facts.fingerprintSha256)})`;
}
