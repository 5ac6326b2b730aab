/**
 * Drift from host agents in the scan: a host whose report disagrees with the current version raises
 * Endpoint Drift Detected, every host of that certificate in every environment checked in the same
 * scan and named in one event, once.
 */
import { parseEvent } from '../../../lambda/domain/events';
import type { OutgoingEvent, TlsProber } from '../../../lambda/domain/ports';
import { hostRecordId } from '../../../lambda/domain/host-agent';
import { type HostReport } from '../../../lambda/domain/host-agent';
import { COLLECTIONS, updateCertificateState } from '../../../lambda/use-cases/certificate-state';
import { type CycleDeps, scan } from '../../../lambda/use-cases/cycle';
import { DAY, MINUTE, NOW, at, buildFacts, fingerprintOf } from '../../builders/facts';
import { MemoryStateStore } from '../../fakes/memory-state-store';

const CURRENT = buildFacts({ fingerprintSha256: fingerprintOf('v2'), subject: 'CN=worker.internal' });
const OLD = fingerprintOf('v1');

function report(host: string, environment: string, overrides: Partial<HostReport> = {}): HostReport {
  return {
    host,
    certificate: 'worker-tls',
    environment,
    installedFingerprint: CURRENT.fingerprintSha256,
    servedFingerprint: CURRENT.fingerprintSha256,
    reloadOk: true,
    healthy: true,
    at: at(-2 * MINUTE).toISOString(),
    ...overrides,
  };
}

async function world() {
  const state = new MemoryStateStore();
  await updateCertificateState(state, 'worker-tls', NOW, (s) => ({
    ...s,
    current: {
      version: 'v2',
      fingerprintSha256: CURRENT.fingerprintSha256,
      notAfter: CURRENT.notAfter,
      notBefore: CURRENT.notBefore,
      bundle: { name: 'worker-tls', version: 'v2', location: 'memory' },
      facts: CURRENT,
    },
  }));
  const published: OutgoingEvent[] = [];
  const prober: TlsProber = { probe: async () => [] };
  const deps: CycleDeps = {
    sources: [],
    prober,
    state,
    clock: () => NOW,
    ownership: () => ({ owner: 'platform' }),
    publisher: {
      name: 'memory',
      publish: async (events) => {
        published.push(...events);
        return { published: events.length, failed: [] };
      },
    },
  };
  return { state, deps, published };
}

const input = {
  endpoints: [],
  specs: [],
  renewal: new Map(),
  thresholds: [],
  concurrency: 4,
  expectedHosts: [
    { host: 'w-1', certificate: 'worker-tls', environment: 'prod', staleAfterMs: 15 * MINUTE },
    { host: 'w-2', certificate: 'worker-tls', environment: 'prod', staleAfterMs: 15 * MINUTE },
    { host: 'w-3', certificate: 'worker-tls', environment: 'staging', staleAfterMs: 15 * MINUTE },
    { host: 'w-4', certificate: 'worker-tls', environment: 'staging', staleAfterMs: 15 * MINUTE },
    { host: 'w-5', certificate: 'worker-tls', environment: 'staging', staleAfterMs: 15 * MINUTE },
  ],
};

describe('a scan judging host agent reports', () => {
  it('raises one drift event naming every drifted host in every environment, and only once', async () => {
    // Prepare: w-1 is fine; w-2 has the old file; w-3 installed but never reloaded; w-4 stopped
    // reporting a day ago; w-5 never reported
    const { state, deps, published } = await world();
    const reports = [
      report('w-1', 'prod'),
      report('w-2', 'prod', { installedFingerprint: OLD, servedFingerprint: OLD }),
      report('w-3', 'staging', { servedFingerprint: OLD }),
      report('w-4', 'staging', { at: at(-DAY).toISOString() }),
    ];
    for (const r of reports) await state.put(COLLECTIONS.hosts, hostRecordId(r.host, r.certificate), r, NOW);

    // Act
    const first = await scan(deps, input);
    const second = await scan(deps, input);

    // Assess
    expect(first.failures).toEqual([]);
    const drift = first.events.filter((e) => e.detailType === 'Endpoint Drift Detected');
    expect(drift).toHaveLength(1);
    const { detail } = parseEvent({
      source: 'certrotor',
      'detail-type': drift[0]!.detailType,
      time: drift[0]!.time,
      detail: drift[0]!.detail,
    });
    expect(detail).toMatchObject({
      certificate: { fingerprintSha256: CURRENT.fingerprintSha256, name: 'worker-tls' },
      environments: expect.arrayContaining(['prod', 'staging']),
      checkedEnvironments: expect.arrayContaining(['prod', 'staging']),
    });
    const drifts = (detail as { drifts: { endpoint: string; reason: string; source: string }[] }).drifts;
    expect(drifts.map((d) => [d.endpoint, d.reason, d.source])).toEqual([
      ['w-2', 'stale-file', 'agent'],
      ['w-3', 'not-reloaded', 'agent'],
      ['w-4', 'stale-report', 'agent'],
      ['w-5', 'missing', 'agent'],
    ]);
    expect(second.events).toEqual([]);
    expect(published).toHaveLength(first.events.length);
  });

  it('flags a host whose agent report a probe of the same scan contradicts', async () => {
    // Prepare: w-1 reports the current certificate, but its endpoint serves the old one
    const { state, deps } = await world();
    await state.put(COLLECTIONS.hosts, hostRecordId('w-1', 'worker-tls'), report('w-1', 'prod'), NOW);
    deps.prober.probe = async (request) => [
      {
        ok: true,
        host: request.host,
        port: request.port,
        address: '127.0.0.1',
        observedAt: NOW.toISOString(),
        chain: [{ facts: buildFacts({ fingerprintSha256: OLD, subject: 'CN=worker.internal' }) }],
      } as never,
    ];

    // Act
    const report1 = await scan(deps, {
      ...input,
      expectedHosts: input.expectedHosts.slice(0, 1),
      endpoints: [{ name: 'w-1', environment: 'prod', host: '127.0.0.1', port: 9443, expects: 'worker-tls' }],
    });

    // Assess
    const drifts = report1.events
      .filter((e) => e.detailType === 'Endpoint Drift Detected')
      .flatMap((e) => e.detail.drifts as { endpoint: string; reason: string; source: string }[]);
    expect(drifts).toContainEqual(
      expect.objectContaining({ endpoint: 'w-1', reason: 'agent-report-mismatch', source: 'agent' }),
    );
  });
});
