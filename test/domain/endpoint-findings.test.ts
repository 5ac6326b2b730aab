import type { CertificateFacts } from '../../lambda/domain/certificate';
import {
  type EndpointExpectation,
  endpointFindings,
  endpointId,
  endpointLocation,
  isWeakKey,
  upstreamChangeFinding,
} from '../../lambda/domain/endpoint-findings';
import type { FindingKind } from '../../lambda/domain/findings';
import type { ProbeResult } from '../../lambda/domain/ports';
import { alertKey } from '../../lambda/domain/thresholds';
import { DAY, HOUR, NOW, at, buildCaFacts, buildFacts, buildProbeResult } from '../builders/facts';

const ROOT = 'CN=certrotor test root, O=certrotor tests';
const INTERMEDIATE = 'CN=certrotor test intermediate, O=certrotor tests';

const leaf = buildFacts({ notBefore: at(-30 * DAY), notAfter: at(60 * DAY), issuer: INTERMEDIATE });
const intermediate = buildCaFacts({ subject: INTERMEDIATE, issuer: ROOT, notAfter: at(3 * 365 * DAY) });
const context = { environment: 'prod', name: 'api' };

function judge(result: ProbeResult, expectation: EndpointExpectation = {}) {
  return endpointFindings(result, expectation, NOW, context);
}

function kinds(result: ProbeResult, expectation: EndpointExpectation = {}): FindingKind[] {
  return judge(result, expectation).map((finding) => finding.kind);
}

describe('endpointFindings', () => {
  it('finds nothing wrong with a verified, current, matching chain', () => {
    // Act + Assess
    expect(judge(buildProbeResult([leaf, intermediate]))).toEqual([]);
  });

  describe('probe failures', () => {
    it.each<[string, Partial<ProbeResult>, readonly CertificateFacts[], string]>([
      [
        'reports an unreachable endpoint as a failed probe',
        { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:443', authorized: false },
        [],
        'api.example.test:443 (127.0.0.1): connect ECONNREFUSED 127.0.0.1:443',
      ],
      [
        'reports a handshake without a certificate as a failed probe',
        { ok: true },
        [],
        'api.example.test:443 (127.0.0.1): no certificate presented',
      ],
      [
        'reports a failed probe without an error text as a failed handshake',
        { ok: false },
        [],
        'api.example.test:443 (127.0.0.1): handshake failed',
      ],
    ])('%s', (_name, overrides, chain, message) => {
      // Act
      const findings = judge(buildProbeResult(chain, overrides));

      // Assess
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({
        kind: 'probe-failed',
        severity: 'warning',
        message,
        dedupeKey: 'probe-failed:api.example.test:443',
      });
      expect(findings[0]?.certificate).toBeUndefined();
    });
  });

  describe('validity', () => {
    it('reports an expired leaf once, with the same key as the expiry threshold, and no chain finding', () => {
      // Prepare
      const expired = buildFacts({ notAfter: at(-HOUR), issuer: INTERMEDIATE });
      const result = buildProbeResult([expired, intermediate], {
        authorized: false,
        authorizationError: 'CERT_HAS_EXPIRED',
      });

      // Act
      const findings = judge(result);

      // Assess
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({
        kind: 'expired',
        severity: 'critical',
        daysLeft: -1,
        dedupeKey: alertKey(expired.fingerprintSha256, 'expired'),
      });
      expect(findings[0]?.message).toContain('expired 1h ago');
    });

    it('reports a leaf that is not yet valid, and no chain finding', () => {
      // Prepare
      const early = buildFacts({ notBefore: at(2 * HOUR), lifetimeMs: 90 * DAY, issuer: INTERMEDIATE });
      const result = buildProbeResult([early, intermediate], {
        authorized: false,
        authorizationError: 'CERT_NOT_YET_VALID',
      });

      // Act
      const findings = judge(result);

      // Assess
      expect(findings.map((f) => f.kind)).toEqual(['not-yet-valid']);
      expect(findings[0]?.severity).toBe('critical');
      expect(findings[0]?.message).toContain('not valid for another 2h');
    });
  });

  describe('drift', () => {
    it.each<[string, EndpointExpectation, FindingKind[]]>([
      ['does not judge drift without an expectation', {}, []],
      ['does not judge drift with an empty expectation', { expectedFingerprints: [] }, []],
      [
        'finds no drift when the expected certificate is served',
        { expectedFingerprints: [leaf.fingerprintSha256] },
        [],
      ],
      [
        'compares fingerprints regardless of letter case',
        { expectedFingerprints: [leaf.fingerprintSha256.toLowerCase()] },
        [],
      ],
      [
        'accepts any expected version during a rotation',
        { expectedFingerprints: ['AA:BB', leaf.fingerprintSha256] },
        [],
      ],
      [
        'reports drift when something other than the expected certificate is served',
        { expectedFingerprints: ['AA:BB:CC'] },
        ['drift'],
      ],
    ])('%s', (_name, expectation, expected) => {
      // Act + Assess
      expect(kinds(buildProbeResult([leaf, intermediate]), expectation)).toEqual(expected);
    });

    it('names the endpoint, what it serves and what was expected', () => {
      // Act
      const [drift] = judge(buildProbeResult([leaf, intermediate]), {
        expectedFingerprints: ['AA:BB:CC:DD'],
      });

      // Assess
      expect(drift).toMatchObject({
        kind: 'drift',
        severity: 'warning',
        environments: ['prod'],
        locations: ['api.example.test:443 (127.0.0.1)'],
        dedupeKey: `drift:api.example.test:443:${leaf.fingerprintSha256.replace(/:/g, '')}`,
        details: { servedFingerprint: leaf.fingerprintSha256, expectedFingerprints: ['AA:BB:CC:DD'] },
      });
      expect(drift?.message).toMatch(
        /^api\.example\.test:443 \(127\.0\.0\.1\) serves "CN=api\.example\.test, O=certrotor tests" \([0-9A-F]{12}\) instead of api AABBCCDD$/,
      );
    });
  });

  describe('hostname', () => {
    it('reports a certificate that does not cover the name asked for as critical', () => {
      // Prepare
      const result = buildProbeResult([leaf, intermediate], {
        servername: 'www.example.test',
        hostnameMatches: false,
      });

      // Act
      const [mismatch] = judge(result);

      // Assess
      expect(mismatch).toMatchObject({ kind: 'hostname-mismatch', severity: 'critical' });
      expect(mismatch?.message).toContain('which does not cover www.example.test (names: api.example.test)');
    });

    it('reports only the mismatch when verification failed because of the name', () => {
      // Prepare
      const result = buildProbeResult([leaf, intermediate], {
        hostnameMatches: false,
        authorized: false,
        authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });

      // Act + Assess
      expect(kinds(result)).toEqual(['hostname-mismatch']);
    });
  });

  describe('chain', () => {
    const selfSigned = buildFacts({ subject: 'CN=self', issuer: 'CN=self', selfSigned: true, seed: 'self' });
    const unrelated = buildCaFacts({ subject: 'CN=some other CA', issuer: ROOT, seed: 'other' });

    it.each<[string, readonly CertificateFacts[], Partial<ProbeResult>, FindingKind[]]>([
      [
        'reports a lone leaf whose issuer cannot be found as an incomplete chain',
        [leaf],
        { authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
        ['incomplete-chain'],
      ],
      [
        'reports a chain whose issuer cannot be fetched as an incomplete chain',
        [leaf],
        { authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT' },
        ['incomplete-chain'],
      ],
      [
        'reports a lone non-self-signed leaf that does not verify without a code as an incomplete chain',
        [leaf],
        { authorized: false },
        ['incomplete-chain'],
      ],
      [
        'reports a lone leaf whose issuer is not found locally as an incomplete chain',
        [leaf],
        { authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' },
        ['incomplete-chain'],
      ],
      [
        'reports a chain with the wrong intermediate as an incomplete chain',
        [leaf, unrelated],
        { authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' },
        ['incomplete-chain'],
      ],
      [
        'accepts a lone leaf that verifies because its issuer is trusted directly',
        [leaf],
        { authorized: true },
        [],
      ],
      [
        'reports a complete chain to an unknown root as untrusted',
        [leaf, intermediate],
        { authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' },
        ['untrusted-chain'],
      ],
      [
        'reports a self-signed leaf as untrusted, not incomplete',
        [selfSigned],
        { authorized: false, authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT', hostnameMatches: true },
        ['untrusted-chain'],
      ],
      [
        'reports a chain that does not verify for a time reason nothing else explains as untrusted',
        [leaf, intermediate],
        { authorized: false, authorizationError: 'CERT_HAS_EXPIRED' },
        ['untrusted-chain'],
      ],
    ])('%s', (_name, chain, overrides, expected) => {
      // Act + Assess
      expect(kinds(buildProbeResult(chain, overrides))).toEqual(expected);
    });

    it('names the missing issuer and keys the finding by endpoint and leaf', () => {
      // Act
      const [incomplete] = judge(
        buildProbeResult([leaf], {
          authorized: false,
          authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        }),
      );

      // Assess
      expect(incomplete).toMatchObject({
        severity: 'critical',
        dedupeKey: `incomplete-chain:api.example.test:443:${leaf.fingerprintSha256.replace(/:/g, '')}`,
        details: { authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', chainLength: 1 },
      });
      expect(incomplete?.message).toContain(`issuer "${INTERMEDIATE}"`);
    });

    it('reports an expired intermediate as critical when the chain does not verify', () => {
      // Prepare
      const expiredIntermediate = buildCaFacts({ subject: INTERMEDIATE, issuer: ROOT, notAfter: at(-DAY) });
      const result = buildProbeResult([leaf, expiredIntermediate], {
        authorized: false,
        authorizationError: 'CERT_HAS_EXPIRED',
      });

      // Act
      const findings = judge(result);

      // Assess
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({
        kind: 'chain-expired',
        severity: 'critical',
        certificate: { fingerprintSha256: expiredIntermediate.fingerprintSha256 },
        dedupeKey: `chain-expired:api.example.test:443:${expiredIntermediate.fingerprintSha256.replace(/:/g, '')}`,
        details: { leafFingerprint: leaf.fingerprintSha256 },
      });
      expect(findings[0]?.message).toContain(`sends expired CA certificate "${INTERMEDIATE}"`);
    });

    it('reports an expired certificate in a chain that still verifies by another path as a warning', () => {
      // Prepare: like an expired cross-signed root sent alongside a valid chain
      const expiredRoot = buildCaFacts({
        subject: ROOT,
        issuer: 'CN=old root',
        notAfter: at(-DAY),
        seed: 'old',
      });

      // Act
      const findings = judge(buildProbeResult([leaf, intermediate, expiredRoot]));

      // Assess
      expect(findings.map((f) => [f.kind, f.severity])).toEqual([['chain-expired', 'warning']]);
    });
  });

  describe('weak keys', () => {
    it.each<[string, Partial<CertificateFacts>, EndpointExpectation, boolean]>([
      [
        'reports a 1024-bit RSA key as weak',
        { keyAlgorithm: 'RSA', keySize: 1024, curve: undefined },
        {},
        true,
      ],
      [
        'accepts a 2048-bit RSA key by default',
        { keyAlgorithm: 'RSA', keySize: 2048, curve: undefined },
        {},
        false,
      ],
      ['accepts an EC P-256 key', { keyAlgorithm: 'EC', curve: 'P-256' }, {}, false],
      [
        'reports a 1024-bit DSA key as weak',
        { keyAlgorithm: 'DSA', keySize: 1024, curve: undefined },
        {},
        true,
      ],
      [
        'reports a 2048-bit RSA key as weak when the minimum is 3072',
        { keyAlgorithm: 'RSA', keySize: 2048, curve: undefined },
        { minimumKeyBits: 3072 },
        true,
      ],
    ])('%s', (_name, key, expectation, weak) => {
      // Prepare
      const keyed: CertificateFacts = { ...leaf, ...key };

      // Act
      const findings = judge(buildProbeResult([keyed, intermediate]), expectation);

      // Assess
      expect(findings.map((f) => f.kind)).toEqual(weak ? ['weak-key'] : []);
      expect(isWeakKey(keyed, expectation.minimumKeyBits)).toBe(weak);
    });

    it('reports a weak intermediate by its own fingerprint', () => {
      // Prepare
      const weakIntermediate = buildCaFacts({
        subject: INTERMEDIATE,
        issuer: ROOT,
        keyAlgorithm: 'RSA',
        keySize: 1024,
      });

      // Act
      const [weak] = judge(buildProbeResult([leaf, weakIntermediate]));

      // Assess
      expect(weak).toMatchObject({
        kind: 'weak-key',
        certificate: { fingerprintSha256: weakIntermediate.fingerprintSha256 },
        dedupeKey: `weak-key:${weakIntermediate.fingerprintSha256.replace(/:/g, '')}`,
        details: { keyAlgorithm: 'RSA', keySize: 1024, minimumBits: 2048 },
      });
      expect(weak?.message).toContain('with a 1024-bit RSA key (minimum 2048)');
    });
  });

  it('reports every problem at once, in check order', () => {
    // Prepare
    const bad = buildFacts({
      notAfter: at(-DAY),
      keyAlgorithm: 'RSA',
      keySize: 1024,
      issuer: INTERMEDIATE,
      seed: 'bad',
    });
    const result = buildProbeResult([bad], {
      hostnameMatches: false,
      authorized: false,
      authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });

    // Act
    const found = kinds(result, { expectedFingerprints: [leaf.fingerprintSha256] });

    // Assess
    expect(found).toEqual(['expired', 'drift', 'hostname-mismatch', 'incomplete-chain', 'weak-key']);
  });

  it('uses the location from the context when one is given', () => {
    // Act
    const [drift] = endpointFindings(buildProbeResult([leaf]), { expectedFingerprints: ['AA'] }, NOW, {
      environment: 'staging',
      location: 'host-7',
    });

    // Assess
    expect(drift?.locations).toEqual(['host-7']);
    expect(drift?.environments).toEqual(['staging']);
  });
});

describe('endpointId and endpointLocation', () => {
  it.each<[string, Partial<ProbeResult>, string, string]>([
    [
      'names host and port when SNI is the host',
      {},
      'api.example.test:443',
      'api.example.test:443 (127.0.0.1)',
    ],
    [
      'adds the SNI name when it differs from the host',
      { host: '10.0.0.7', servername: 'api.example.test', address: '10.0.0.7' },
      '10.0.0.7:443#api.example.test',
      '10.0.0.7:443#api.example.test',
    ],
    [
      'leaves out SNI when none was sent',
      { servername: undefined },
      'api.example.test:443',
      'api.example.test:443 (127.0.0.1)',
    ],
  ])('%s', (_name, overrides, id, location) => {
    // Prepare
    const result = buildProbeResult([leaf], overrides);

    // Act + Assess
    expect(endpointId(result)).toBe(id);
    expect(endpointLocation(result)).toBe(location);
  });
});

describe('upstreamChangeFinding', () => {
  const upstreamContext = { environment: 'prod' };
  const newLeafSameIssuer = buildFacts({ issuer: INTERMEDIATE, seed: 'new-leaf' });
  const newIssuer = buildCaFacts({ subject: 'CN=vendor CA 2', issuer: ROOT, seed: 'vendor-2' });
  const newLeafNewIssuer = buildFacts({ issuer: 'CN=vendor CA 2', seed: 'new-leaf-2' });
  const newRootIntermediate = buildCaFacts({
    subject: INTERMEDIATE,
    issuer: 'CN=vendor root 2',
    seed: 'new-root',
  });

  it.each<[string, readonly CertificateFacts[], string | undefined, string | undefined]>([
    ['reports nothing while the same leaf is served', [leaf, intermediate], undefined, undefined],
    ['reports a new leaf from the same issuer as info', [newLeafSameIssuer, intermediate], 'leaf', 'info'],
    [
      'reports a new issuer as a warning, since consumers pinning it break',
      [newLeafNewIssuer, newIssuer],
      'issuer',
      'warning',
    ],
    [
      'reports a new root above the same issuer name as a warning',
      [newLeafSameIssuer, newRootIntermediate],
      'root',
      'warning',
    ],
  ])('%s', (_name, current, change, severity) => {
    // Act
    const finding = upstreamChangeFinding(
      'payments-api',
      [leaf, intermediate],
      current,
      NOW,
      upstreamContext,
    );

    // Assess
    expect(finding?.details.change).toBe(change);
    expect(finding?.severity).toBe(severity);
  });

  it('reports nothing without a previous observation', () => {
    // Act + Assess
    expect(upstreamChangeFinding('payments-api', [], [leaf], NOW, upstreamContext)).toBeUndefined();
  });

  it('keys the change by upstream and new fingerprint, and names the old and new issuer', () => {
    // Act
    const finding = upstreamChangeFinding(
      'payments-api',
      [leaf, intermediate],
      [newLeafNewIssuer, newIssuer],
      NOW,
      upstreamContext,
    );

    // Assess
    expect(finding).toMatchObject({
      kind: 'upstream-certificate-changed',
      locations: ['payments-api'],
      dedupeKey: `upstream-certificate-changed:payments-api:${newLeafNewIssuer.fingerprintSha256.replace(/:/g, '')}`,
    });
    expect(finding?.message).toContain(`from a new issuer: "CN=vendor CA 2" (was "${INTERMEDIATE}")`);
  });
});
