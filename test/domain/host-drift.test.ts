import { type HostReportFacts, hostDrift } from '../../lambda/domain/host-drift';
import { MINUTE, NOW, at, fingerprintOf } from '../builders/facts';

const CURRENT = fingerprintOf('current');
const OLD = fingerprintOf('old');

function report(host: string, edit: Partial<HostReportFacts> = {}): HostReportFacts {
  return {
    host,
    certificate: 'api',
    environment: 'prod',
    installedFingerprint: CURRENT,
    servedFingerprint: CURRENT,
    healthy: true,
    reloadOk: true,
    at: at(-MINUTE).toISOString(),
    ...edit,
  };
}

const current = new Map([['api', { version: 'v2', fingerprintSha256: CURRENT, subject: 'CN=api' }]]);

describe('drift from agent reports', () => {
  it.each([
    ['An up-to-date host that serves what it installed is ok', report('h'), 'ok', undefined],
    [
      'A host with an old file has a stale file',
      report('h', { installedFingerprint: OLD, servedFingerprint: OLD }),
      'drift',
      'stale-file',
    ],
    [
      'A host serving something other than its file was not reloaded',
      report('h', { servedFingerprint: OLD }),
      'drift',
      'not-reloaded',
    ],
    [
      'A host with no installed certificate is missing it',
      report('h', { installedFingerprint: undefined }),
      'drift',
      'missing',
    ],
    [
      'A host whose last report is old has a stale report',
      report('h', { at: at(-60 * MINUTE).toISOString() }),
      'stale report',
      'stale-report',
    ],
    [
      'A host whose reload failed is failed',
      report('h', { reloadOk: false, healthy: false }),
      'failed',
      undefined,
    ],
  ])('%s', (_name, r, state, reason) => {
    // Act
    const result = hostDrift({ reports: [r], current, now: NOW });

    // Assess
    expect(result.hosts[0]).toMatchObject({ state, ...(reason ? { reason } : {}) });
    expect(result.findings).toHaveLength(reason ? 1 : 0);
  });

  it('raises missing for an expected host that never reported', () => {
    // Act
    const result = hostDrift({
      reports: [],
      current,
      expected: [{ host: 'h', certificate: 'api', environment: 'prod', staleAfterMs: 10 * MINUTE }],
      now: NOW,
    });

    // Assess
    expect(result.hosts).toEqual([
      {
        host: 'h',
        certificate: 'api',
        environment: 'prod',
        state: 'no report',
        reason: 'missing',
        expectedFingerprint: CURRENT,
      },
    ]);
    expect(result.findings[0]).toMatchObject({
      kind: 'drift',
      details: { source: 'agent', reason: 'missing' },
    });
  });

  it('flags a report that an independent probe contradicts', () => {
    // Act
    const result = hostDrift({
      reports: [report('h')],
      current,
      probed: new Map([['h#api', OLD]]),
      now: NOW,
    });

    // Assess
    expect(result.hosts[0]?.reason).toBe('agent-report-mismatch');
  });

  it('checks the same certificate in every environment at once and merges the findings', () => {
    // Prepare
    const reports = [
      report('prod-1', { installedFingerprint: OLD, servedFingerprint: OLD }),
      report('stage-1', { environment: 'staging', installedFingerprint: OLD, servedFingerprint: OLD }),
      report('stage-2', { environment: 'staging' }),
    ];

    // Act
    const result = hostDrift({ reports, current, now: NOW });

    // Assess
    expect(result.hosts.map((h) => h.state)).toEqual(['drift', 'drift', 'ok']);
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({
      kind: 'drift',
      environments: ['prod', 'staging'],
      locations: ['prod-1', 'stage-1'],
      certificate: { fingerprintSha256: CURRENT, name: 'api' },
      details: { source: 'agent', reason: 'stale-file', checkedEnvironments: ['prod', 'staging'] },
    });
    expect(result.findings[0]?.relatedKeys).toHaveLength(1);
  });
});
