/**
 * The pure parts of issue 15: certificate identity and the grouping of findings by it, verify codes
 * judged by code (as the real prober reports them: wording and code), owners resolved from the
 * certificate then the endpoint, thresholds scaled by lifetime, --fail-on exit codes and --at times.
 */
import { gateExitCode, parseFailOn } from '../../lambda/cli/gate';
import { parseRehearsalTime } from '../../lambda/cli/rehearsal';
import { endpointFindings } from '../../lambda/domain/endpoint-findings';
import { type Finding, certificateIdentity, identityLabel } from '../../lambda/domain/findings';
import type { InventoryItem } from '../../lambda/domain/ports';
import { DEFAULT_THRESHOLDS, crossedThreshold, effectiveThresholdDays } from '../../lambda/domain/thresholds';
import { evaluate, inWords, placeStatus } from '../../lambda/use-cases/evaluate';
import { ownershipLookup } from '../../lambda/config/views/ownership';
import { findingOwner } from '../../lambda/use-cases/finding-events';
import type { Observation } from '../../lambda/use-cases/scan';
import { DAY, HOUR, NOW, at, buildCaFacts, buildFacts, buildProbeResult } from '../builders/facts';

const year = 365 * DAY;

function seenIn(environment: string, location: string, facts: ReturnType<typeof buildFacts>): Observation {
  const item: InventoryItem = {
    id: `${environment}:${location}`,
    source: 'files',
    environment,
    location,
    facts,
  };
  return { kind: 'inventory', item };
}

describe('certificateIdentity', () => {
  const one = buildFacts({ seed: 'one', notAfter: at(5 * DAY) });
  const other = buildFacts({ seed: 'other', notAfter: at(-2 * DAY) });

  it('is the same for another serial with the same subject and names, and differs by fingerprint mode', () => {
    // Act + Assess
    expect(one.fingerprintSha256).not.toBe(other.fingerprintSha256);
    expect(certificateIdentity(one, undefined)).toBe(certificateIdentity(other, undefined));
    expect(certificateIdentity(one, undefined, 'fingerprint')).not.toBe(
      certificateIdentity(other, undefined, 'fingerprint'),
    );
  });

  it('is the configured name where one is declared, unless the mode ignores names', () => {
    // Act + Assess
    expect(certificateIdentity(one, 'api-cert')).toBe('name:api-cert');
    expect(certificateIdentity(one, 'api-cert', 'subject-and-names')).toMatch(/^subject:/);
    expect(identityLabel('name:api-cert')).toBe('api-cert');
    expect(identityLabel(certificateIdentity(one, undefined))).toBe(one.subject);
  });
});

describe('evaluate with the sibling sweep', () => {
  it('reports the same certificate expired in staging and expiring in prod as one finding naming every place', () => {
    // Prepare: the same subject and names in three environments, three serials.
    const expired = buildFacts({ seed: 'staging', notBefore: at(-year), notAfter: at(-2 * DAY - HOUR) });
    const soon = buildFacts({ seed: 'prod', notBefore: at(-year), notAfter: at(5 * DAY + HOUR) });
    const fine = buildFacts({ seed: 'dev', notBefore: at(-DAY), notAfter: at(year) });
    const observations = [
      seenIn('staging', 'stg-lb:443', expired),
      seenIn('prod', 'prod-lb:443', soon),
      seenIn('dev', 'dev-lb:443', fine),
    ];

    // Act
    const { findings } = evaluate(observations, [], { thresholds: DEFAULT_THRESHOLDS }, NOW);

    // Assess
    expect(findings).toHaveLength(1);
    const [finding] = findings as [Finding];
    expect(finding.kind).toBe('expired');
    expect(finding.environments).toEqual(['staging', 'prod']);
    expect(finding.message).toMatch(/; also in prod: expires in 5 days; dev: ok$/);
    expect(finding.places?.map((p) => [p.environment, p.status, p.affected])).toEqual([
      ['staging', 'expired 2 days ago', true],
      ['prod', 'expires in 5 days', true],
      ['dev', 'ok', false],
    ]);
    expect(finding.relatedKeys).toHaveLength(1);
  });

  it('keeps certificates with other names apart', () => {
    // Prepare
    const a = buildFacts({ seed: 'a', notAfter: at(-DAY) });
    const b = buildFacts({
      seed: 'b',
      notAfter: at(-DAY),
      subject: 'CN=b.example.test',
      subjectAltNames: [{ type: 'DNS', value: 'b.example.test' }],
    });

    // Act
    const { findings } = evaluate(
      [seenIn('prod', 'x', a), seenIn('staging', 'y', b)],
      [],
      { thresholds: DEFAULT_THRESHOLDS },
      NOW,
    );

    // Assess
    expect(findings.map((f) => f.environments)).toEqual([['prod'], ['staging']]);
  });
});

describe('endpointFindings with what the real prober reports (wording and code)', () => {
  const leaf = buildFacts({ notBefore: at(-30 * DAY), notAfter: at(60 * DAY) });
  const context = { environment: 'prod' };

  it('judges a missing intermediate by its code: a critical incomplete chain', () => {
    // Prepare
    const result = buildProbeResult([leaf], {
      authorized: false,
      authorizationError: 'unable to verify the first certificate',
      authorizationErrorCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });

    // Act
    const findings = endpointFindings(result, {}, NOW, context);

    // Assess
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['incomplete-chain', 'critical']]);
  });

  it('raises nothing but the expiry for an expired leaf', () => {
    // Prepare
    const expired = buildFacts({ seed: 'expired', notBefore: at(-90 * DAY), notAfter: at(-DAY) });
    const intermediate = buildCaFacts();
    const result = buildProbeResult([expired, intermediate], {
      authorized: false,
      authorizationError: 'certificate has expired',
      authorizationErrorCode: 'CERT_HAS_EXPIRED',
    });

    // Act
    const findings = endpointFindings(result, {}, NOW, context);

    // Assess
    expect(findings.map((f) => f.kind)).toEqual(['expired']);
  });

  it('names both wording and code for a self-signed certificate, as a warning', () => {
    // Prepare
    const self = buildFacts({
      seed: 'self',
      issuer: 'CN=api.example.test, O=certrotor tests',
      selfSigned: true,
    });
    const result = buildProbeResult([self], {
      authorized: false,
      authorizationError: 'self-signed certificate',
      authorizationErrorCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });

    // Act
    const [finding] = endpointFindings(result, {}, NOW, context);

    // Assess
    expect(finding).toMatchObject({ kind: 'untrusted-chain', severity: 'warning' });
    expect(finding?.message).toContain('(self-signed certificate, DEPTH_ZERO_SELF_SIGNED_CERT)');
  });
});

describe('findingOwner', () => {
  const owners: Record<string, string> = { 'api-prod': 'team-api', 'api-cert': 'team-cert' };
  const lookup = (name: string | undefined) => (name && owners[name] ? { owner: owners[name] } : {});
  const base: Finding = {
    kind: 'expired',
    severity: 'critical',
    environments: ['prod'],
    locations: ['x'],
    message: 'm',
    dedupeKey: 'k',
    details: {},
  };

  it('takes the certificate owner first, then the endpoint owner', () => {
    // Act + Assess
    expect(
      findingOwner(
        {
          ...base,
          certificate: { fingerprintSha256: 'AA', subject: 's', name: 'api-cert' },
          endpoints: ['api-prod'],
        },
        lookup,
      ),
    ).toEqual({ owner: 'team-cert' });
    expect(findingOwner({ ...base, endpoints: ['unowned', 'api-prod'] }, lookup)).toEqual({
      owner: 'team-api',
    });
    expect(findingOwner(base, lookup)).toEqual({});
  });

  it('falls back to the environment’s owner from the configuration', () => {
    // Prepare
    const fromConfig = ownershipLookup({
      certificates: [],
      endpoints: [],
      upstreams: [],
      environments: [{ name: 'prod', owner: 'prod-oncall', runbookUrl: 'https://runbooks.example.com/prod' }],
    } as unknown as Parameters<typeof ownershipLookup>[0]);

    // Act + Assess
    expect(findingOwner({ ...base, environments: ['staging', 'prod'] }, fromConfig)).toEqual({
      owner: 'prod-oncall',
      runbookUrl: 'https://runbooks.example.com/prod',
    });
  });
});

describe('thresholds scaled by lifetime', () => {
  it('scales a short-lived certificate’s thresholds and leaves a year-long one’s as written', () => {
    // Prepare
    const month = { notBefore: at(-25 * DAY).toISOString(), notAfter: at(5 * DAY).toISOString() };
    const longLived = { notBefore: at(-360 * DAY).toISOString(), notAfter: at(5 * DAY).toISOString() };

    // Act + Assess: 30 days of a 30-day certificate mean 5 days.
    expect(effectiveThresholdDays(30, month, 'lifetime')).toBe(5);
    expect(effectiveThresholdDays(30, month, 'absolute')).toBe(30);
    expect(effectiveThresholdDays(30, longLived, 'lifetime')).toBe(30);
    expect(crossedThreshold(month, DEFAULT_THRESHOLDS, NOW, 'lifetime')?.threshold).toBe(30);
    expect(crossedThreshold(month, DEFAULT_THRESHOLDS, at(-DAY), 'lifetime')).toBeUndefined();
    expect(crossedThreshold(longLived, DEFAULT_THRESHOLDS, NOW, 'lifetime')?.threshold).toBe(7);
  });

  it('says a place is ok until a threshold is crossed, then how long is left', () => {
    // Act + Assess
    const facts = { notBefore: at(-25 * DAY).toISOString(), notAfter: at(5 * DAY).toISOString() };
    expect(placeStatus(facts, DEFAULT_THRESHOLDS, at(-DAY), 'lifetime')).toBe('ok');
    expect(placeStatus(facts, DEFAULT_THRESHOLDS, NOW, 'lifetime')).toBe('expires in 5 days');
    expect(inWords(6 * HOUR)).toBe('6 hours');
    expect(inWords(DAY)).toBe('1 day');
  });
});

describe('--fail-on and --at', () => {
  it.each<[string | undefined, string[], number]>([
    [undefined, ['critical'], 0],
    ['critical', ['warning'], 0],
    ['critical', ['info', 'critical'], 2],
    ['warning', ['warning', 'info'], 1],
    ['warning', ['critical'], 2],
    ['warning', ['ok', 'info'], 0],
  ])('--fail-on %s with %j exits %i', (failOn, severities, code) => {
    // Act + Assess
    expect(gateExitCode(parseFailOn(failOn), severities)).toBe(code);
  });

  it('refuses any other --fail-on value with one line', () => {
    // Act + Assess
    expect(() => parseFailOn('error')).toThrow('--fail-on error: must be warning or critical');
  });

  it('reads an ISO time or a signed duration from now, and refuses anything else', () => {
    // Act + Assess
    expect(parseRehearsalTime('2031-01-01T00:00:00Z', NOW).toISOString()).toBe('2031-01-01T00:00:00.000Z');
    expect(parseRehearsalTime('30d', NOW).getTime()).toBe(NOW.getTime() + 30 * DAY);
    expect(parseRehearsalTime('-2d', NOW).getTime()).toBe(NOW.getTime() - 2 * DAY);
    expect(() => parseRehearsalTime('tomorrow', NOW)).toThrow(/--at/);
  });
});
