/**
 * The renewal guard: before a new version is distributed, compare it with the version it replaces
 * and join the differences with how the certificate is used. A difference that breaks a use holds
 * the rotation before anything is touched (clientAuth gone while the certificate is presented as a
 * client certificate; names dropped that endpoints serve; a chain no consumer trusts). Other
 * differences (a new intermediate, another key type, a shorter lifetime) are reported, not held.
 * Pure: facts in, a verdict out.
 */
import type { CertificateFacts } from '../certificate';

/** What the guard compares of one version: its facts and its chain. */
export interface GuardFacts {
  readonly facts: Pick<
    CertificateFacts,
    | 'extendedKeyUsage'
    | 'keyAlgorithm'
    | 'keySize'
    | 'curve'
    | 'subjectAltNames'
    | 'notBefore'
    | 'notAfter'
    | 'issuer'
  >;
  /** Subject of the certificate that signed the leaf (the issuing intermediate), when the chain has it. */
  readonly issuingIntermediate?: string;
  /** Issuer of the top of the chain: the root the chain leads to. */
  readonly root?: string;
}

/** How the certificate is used, from configuration. */
export interface CertificateUse {
  /** Where it is presented as a client certificate (an upstream's name, or the configured usage). */
  readonly presentedAsClient: readonly string[];
  /** Names endpoints serve with it (SNI names). */
  readonly servedNames: readonly string[];
  /**
   * Whether the new chain leads to a root the consumers trust (the endpoints' configured anchors);
   * undefined when consumers use the system store (nothing to check).
   */
  readonly newChainTrusted?: boolean;
}

export interface GuardVerdict {
  /** Differences that break a use: the rotation is held. */
  readonly breaks: readonly string[];
  /** Every difference, breaking or not. */
  readonly changes: readonly string[];
}

export function renewalGuard(previous: GuardFacts, next: GuardFacts, use: CertificateUse): GuardVerdict {
  const changes: string[] = [];
  const breaks: string[] = [];
  const before = new Set(previous.facts.extendedKeyUsage);
  const after = new Set(next.facts.extendedKeyUsage);
  const ekuGone = [...before].filter((e) => !after.has(e) && after.size > 0);
  const ekuAdded = [...after].filter((e) => !before.has(e));
  // An absent EKU extension allows every usage; losing the extension widens, gaining one narrows.
  const effectiveGone = before.size === 0 ? [] : after.size === 0 ? [] : ekuGone;
  const narrowedFromAny = before.size === 0 && after.size > 0;
  if (effectiveGone.length > 0 || ekuAdded.length > 0 || narrowedFromAny)
    changes.push(
      `extended key usage ${list(previous.facts.extendedKeyUsage, 'any')} → ${list(next.facts.extendedKeyUsage, 'any')}`,
    );
  const clientAuthBefore = before.size === 0 || before.has('clientAuth');
  const clientAuthAfter = after.size === 0 || after.has('clientAuth');
  if (clientAuthBefore && !clientAuthAfter && use.presentedAsClient.length > 0)
    breaks.push(
      `clientAuth is gone from the extended key usage (${list(next.facts.extendedKeyUsage, 'any')}) while the certificate is presented as a client certificate (${use.presentedAsClient.join(', ')})`,
    );

  const keyBefore = keyLabel(previous.facts);
  const keyAfter = keyLabel(next.facts);
  if (keyBefore !== keyAfter) changes.push(`key ${keyBefore} → ${keyAfter}`);

  const namesBefore = names(previous.facts);
  const namesAfter = names(next.facts);
  const dropped = namesBefore.filter((n) => !namesAfter.includes(n));
  const added = namesAfter.filter((n) => !namesBefore.includes(n));
  if (dropped.length > 0 || added.length > 0)
    changes.push(
      `names${dropped.length > 0 ? ` dropped ${dropped.join(', ')}` : ''}${added.length > 0 ? ` added ${added.join(', ')}` : ''}`,
    );
  const droppedServed = use.servedNames.filter((n) => covers(namesBefore, n) && !covers(namesAfter, n));
  if (droppedServed.length > 0)
    breaks.push(`names endpoints serve are no longer covered: ${droppedServed.join(', ')}`);

  if (previous.issuingIntermediate !== undefined && next.issuingIntermediate !== undefined)
    if (previous.issuingIntermediate !== next.issuingIntermediate)
      changes.push(`issuing intermediate ${previous.issuingIntermediate} → ${next.issuingIntermediate}`);
  if (previous.root !== undefined && next.root !== undefined && previous.root !== next.root)
    changes.push(`root ${previous.root} → ${next.root}`);
  if (use.newChainTrusted === false)
    breaks.push(
      `the new chain (root ${next.root ?? next.facts.issuer}) leads to no root the endpoints' consumers trust`,
    );

  const lifeBefore = lifetimeDays(previous.facts);
  const lifeAfter = lifetimeDays(next.facts);
  if (lifeAfter < lifeBefore) changes.push(`validity ${lifeBefore} → ${lifeAfter} days`);
  return { breaks, changes };
}

function list(values: readonly string[], empty: string): string {
  return values.length === 0 ? empty : [...values].sort().join('+');
}

function keyLabel(f: GuardFacts['facts']): string {
  return `${f.keyAlgorithm}${f.curve ? ` ${f.curve}` : ''}${f.keySize ? ` ${f.keySize}` : ''}`;
}

function names(f: GuardFacts['facts']): string[] {
  return f.subjectAltNames
    .filter((s) => s.type === 'DNS' || s.type === 'IP')
    .map((s) => s.value.toLowerCase())
    .sort();
}

function covers(sans: readonly string[], name: string): boolean {
  const n = name.toLowerCase();
  return sans.some(
    (s) =>
      s === n || (s.startsWith('*.') && n.endsWith(s.slice(1)) && !n.slice(0, -s.length + 1).includes('.')),
  );
}

function lifetimeDays(f: GuardFacts['facts']): number {
  return Math.round((Date.parse(f.notAfter) - Date.parse(f.notBefore)) / 86_400_000);
}
