/**
 * Offline bundle checks: does a certificate, its chain and its key make a bundle a server can use
 * (order, issuance, validity, usage, names, key match), before anything is delivered.
 */
import { X509Certificate } from 'node:crypto';
import { type CertificateFacts, shortFingerprint } from './certificate';
import type { CertificateMaterial, CertificateUsage } from './ports';
import { type SecretKey } from './secret';
import { coversName, describeKey, parseCertificates } from './x509';
import { type PrivateKeySummary, keyMatchesCertificate, parsePrivateKey } from './private-keys';

export type BundleProblemCode =
  | 'unparseable'
  | 'several-certificates'
  | 'private-key-unusable'
  | 'key-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'chain-expired'
  | 'chain-out-of-order'
  | 'chain-incomplete'
  | 'chain-unrelated'
  | 'outlives-issuer'
  | 'missing-names'
  | 'wrong-usage'
  | 'key-type-changed'
  | 'weak-key';

export interface BundleProblem {
  readonly code: BundleProblemCode;
  /** One line naming the certificate or input concerned. */
  readonly message: string;
}

export interface BundleCheckRequest {
  /** The leaf, PEM or DER. Exactly one certificate is expected; extras are reported and used as chain. */
  readonly certificate: string | Buffer;
  /** Intermediates (and optionally the root), PEM in any order. */
  readonly chain?: string | Buffer;
  readonly privateKey?: SecretKey;
  readonly now: Date;
  /** Names (DNS or IP) the certificate must cover. */
  readonly expectedNames?: readonly string[];
  /** Extended key usage required; a certificate without the extension is usable for anything. */
  readonly usage?: CertificateUsage;
  /** The key type of the version being replaced: some destinations (ACM re-import) require it unchanged. */
  readonly previousKey?: Pick<CertificateFacts, 'keyAlgorithm' | 'keySize' | 'curve'>;
  /** Trust anchors (PEM) the chain must reach. Without them, the chain must at least hold the leaf's issuer. */
  readonly trustAnchorsPem?: readonly string[];
  /** Names used in messages. @default { certificate: 'certificate', chain: 'chain', privateKey: 'private key' } */
  readonly inputNames?: {
    readonly certificate?: string;
    readonly chain?: string;
    readonly privateKey?: string;
  };
  /** @default 2048 */
  readonly minimumRsaBits?: number;
}

export interface BundleCheck {
  readonly ok: boolean;
  readonly problems: readonly BundleProblem[];
  readonly leaf?: CertificateMaterial;
  /** Certificates above the leaf in issuance order (leaf's issuer first), ready to install. */
  readonly chain: readonly CertificateMaterial[];
}

interface Parsed {
  readonly material: CertificateMaterial;
  readonly x509: X509Certificate;
}

function issued(issuer: Parsed, subject: Parsed): boolean {
  if (!subject.x509.checkIssued(issuer.x509)) return false;
  try {
    return subject.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

export function label(facts: CertificateFacts): string {
  return facts.subject || shortFingerprint(facts.fingerprintSha256);
}

const USAGE_EKUS: Record<CertificateUsage, readonly string[]> = {
  server: ['serverAuth'],
  client: ['clientAuth'],
  'server-and-client': ['serverAuth', 'clientAuth'],
};

/**
 * Offline checks before an irreversible install (an ACM re-import, a vendor client certificate):
 * every problem found is returned as a value; nothing is thrown. The checks run in order, one
 * trailing comment each.
 */
export function validateBundle(request: BundleCheckRequest): BundleCheck {
  const names = {
    certificate: request.inputNames?.certificate ?? 'certificate',
    chain: request.inputNames?.chain ?? 'chain',
    privateKey: request.inputNames?.privateKey ?? 'private key',
  };
  const problems: BundleProblem[] = [];
  const problem = (code: BundleProblemCode, message: string) => problems.push({ code, message });
  const parse = (input: string | Buffer, name: string): Parsed[] | undefined => {
    try {
      return parseCertificates(input, name).map((material) => ({
        material,
        x509: new X509Certificate(material.pem),
      }));
    } catch (error) {
      problem('unparseable', error instanceof Error ? error.message : String(error));
      return undefined;
    }
  };

  const given = parse(request.certificate, names.certificate);
  const chainGiven =
    request.chain !== undefined && String(request.chain).trim() !== ''
      ? parse(request.chain, names.chain)
      : [];
  if (!given || !chainGiven) return { ok: false, problems, chain: [] };
  const leaf = given[0]!;
  if (given.length > 1) {
    problem(
      'several-certificates',
      `${names.certificate}: holds ${given.length} certificates where one was expected; the first (${label(leaf.material.facts)}) is taken as the leaf`,
    ); // a full chain passed as the certificate: the extras are treated as chain below
  }

  // Build the path leaf → root from whatever was given, so order in the input does not matter.
  const pool = [...given.slice(1), ...chainGiven];
  const path: Parsed[] = [];
  let current = leaf;
  while (!current.material.facts.selfSigned) {
    const index = pool.findIndex((candidate) => issued(candidate, current));
    if (index === -1) break;
    current = pool.splice(index, 1)[0]!;
    path.push(current);
  }
  const givenOrder = [...given.slice(1), ...chainGiven].filter((p) => path.includes(p));
  if (givenOrder.some((p, i) => p !== path[i])) {
    problem(
      'chain-out-of-order',
      `${names.chain}: certificates are out of order; expected ${path.map((p) => label(p.material.facts)).join(' → ')} after the leaf (reordered)`,
    ); // installers send the chain as given, and some clients refuse a misordered one
  }
  for (const stray of pool) {
    problem(
      'chain-unrelated',
      `${names.chain}: ${label(stray.material.facts)} is not part of the leaf's issuing chain`,
    ); // a leftover certificate usually means the wrong intermediate was bundled
  }

  const top = path[path.length - 1] ?? leaf;
  const anchors = (request.trustAnchorsPem ?? []).flatMap((pem) => parse(pem, 'trust anchors') ?? []);
  const anchor = anchors.find(
    (a) => a.material.facts.fingerprintSha256 === top.material.facts.fingerprintSha256 || issued(a, top),
  );
  if (!top.material.facts.selfSigned) {
    if (request.trustAnchorsPem && !anchor) {
      problem(
        'chain-incomplete',
        `${names.chain}: incomplete: no certificate given or trusted issued ${label(top.material.facts)} (issuer ${top.material.facts.issuer})`,
      ); // clients without the missing intermediate fail to verify
    } else if (!request.trustAnchorsPem && path.length === 0) {
      problem(
        'chain-incomplete',
        `${names.chain}: incomplete: the leaf's issuer (${leaf.material.facts.issuer}) is not in the chain`,
      ); // leaf only: the classic "works in the browser, fails in curl" chain
    }
  }

  const leafFacts = leaf.material.facts;
  if (Date.parse(leafFacts.notAfter) <= request.now.getTime()) {
    problem('expired', `${names.certificate}: ${label(leafFacts)} expired at ${leafFacts.notAfter}`);
  } // installing an expired certificate breaks every client at once
  if (Date.parse(leafFacts.notBefore) > request.now.getTime()) {
    problem(
      'not-yet-valid',
      `${names.certificate}: ${label(leafFacts)} is not valid before ${leafFacts.notBefore}`,
    );
  } // clients reject it until then; a clock-skewed issuer is the usual cause
  for (const link of path) {
    const facts = link.material.facts;
    if (Date.parse(facts.notAfter) <= request.now.getTime()) {
      problem('chain-expired', `${names.chain}: ${label(facts)} expired at ${facts.notAfter}`);
    } // an expired intermediate breaks verification as surely as an expired leaf
  }
  const links: [Parsed, Parsed | undefined][] = [leaf, ...path].map((p, i, all) => [
    p,
    all[i + 1] ?? (i === all.length - 1 ? anchor : undefined),
  ]);
  for (const [child, parent] of links) {
    if (!parent) continue;
    if (Date.parse(child.material.facts.notAfter) > Date.parse(parent.material.facts.notAfter)) {
      problem(
        'outlives-issuer',
        `${child === leaf ? names.certificate : names.chain}: ${label(child.material.facts)} (until ${child.material.facts.notAfter}) outlives its issuer ${label(parent.material.facts)} (until ${parent.material.facts.notAfter})`,
      ); // it stops verifying when the issuer expires, earlier than its own date says
    }
  }

  const missing = (request.expectedNames ?? []).filter((name) => !coversName(leafFacts, name));
  if (missing.length > 0) {
    problem(
      'missing-names',
      `${names.certificate}: ${label(leafFacts)} does not cover ${missing.join(', ')} (SANs: ${leafFacts.subjectAltNames.map((s) => s.value).join(', ') || 'none'})`,
    ); // clients match SANs only, never the CN
  }
  if (
    request.usage &&
    leafFacts.extendedKeyUsage.length > 0 &&
    !leafFacts.extendedKeyUsage.includes('anyExtendedKeyUsage')
  ) {
    const absent = USAGE_EKUS[request.usage].filter((u) => !leafFacts.extendedKeyUsage.includes(u));
    if (absent.length > 0) {
      problem(
        'wrong-usage',
        `${names.certificate}: ${label(leafFacts)} has extended key usage ${leafFacts.extendedKeyUsage.join(', ')} but ${absent.join(' and ')} is required`,
      ); // a client certificate presented as a server one (or the reverse) fails the handshake
    }
  }
  if (leafFacts.keyAlgorithm === 'RSA' && (leafFacts.keySize ?? 0) < (request.minimumRsaBits ?? 2048)) {
    problem('weak-key', `${names.certificate}: ${label(leafFacts)} has a ${leafFacts.keySize}-bit RSA key`);
  } // below 2048 bits modern clients refuse it
  const previous = request.previousKey;
  if (
    previous &&
    (previous.keyAlgorithm !== leafFacts.keyAlgorithm ||
      previous.keySize !== leafFacts.keySize ||
      previous.curve !== leafFacts.curve)
  ) {
    problem(
      'key-type-changed',
      `${names.certificate}: key type changed from ${describeKey(previous)} to ${describeKey(leafFacts)}`,
    ); // ACM re-import in place requires the same key type
  }

  if (request.privateKey) {
    let summary: PrivateKeySummary | undefined;
    try {
      summary = parsePrivateKey(request.privateKey.reveal(), names.privateKey);
    } catch (error) {
      problem('private-key-unusable', error instanceof Error ? error.message : String(error));
    }
    if (summary && !keyMatchesCertificate(leaf.material.pem, summary.key)) {
      problem(
        'key-mismatch',
        `${names.privateKey}: does not match ${names.certificate} ${label(leafFacts)} (${describeKey(summary)} key)`,
      ); // the server would fail to start or serve handshakes that fail
    }
  }

  return {
    ok: problems.length === 0,
    problems,
    leaf: leaf.material,
    chain: path.map((p) => p.material),
  };
}
