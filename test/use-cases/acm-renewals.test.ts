/**
 * The ACM renewal reconciliation's decisions, with ACM's answers given directly (the adapter's
 * DescribeCertificate is tested against moto in test/adapters/aws/acm-exportable-issuer.test.ts, the
 * whole path through the planner in test/handlers/planner-acm-renewals.test.ts).
 */
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmCertificateStatus,
  type AcmIssuanceRecord,
  acmIssuanceId,
} from '../../lambda/domain/acm-issuance';
import {
  CA_RENEWS_NOT_DUE,
  dueInCycle,
  reconcileAcmRenewals,
  renewedReasons,
} from '../../lambda/use-cases/acm-renewals';
import { planRotations } from '../../lambda/use-cases/rotation/plan-rotations';
import { COLLECTIONS, type CertificateState } from '../../lambda/use-cases/certificate-state';
import { MemoryStateStore } from '../fakes/memory-state-store';

const NOW = new Date('2030-01-01T00:00:00Z');
const DISTRIBUTED_UNTIL = '2030-03-01T00:00:00.000Z';
const arnOf = (name: string) => `arn:aws:acm:us-east-1:111111111111:certificate/${name}`;

async function stateWith(
  names: readonly string[],
  distributed: readonly string[],
): Promise<MemoryStateStore> {
  const state = new MemoryStateStore();
  for (const name of names) {
    const record: AcmIssuanceRecord = {
      issuer: 'public',
      certificate: name,
      certificateArn: arnOf(name),
      names: [`${name}.example.com`],
      keyAlgorithm: 'EC_prime256v1',
      requestedAt: NOW.toISOString(),
    };
    await state.put(ACM_ISSUANCE_COLLECTION, acmIssuanceId('public', name), record, NOW);
  }
  for (const name of distributed) {
    const value: CertificateState = {
      name,
      failedAttempts: 0,
      current: {
        version: 'v1',
        fingerprintSha256: 'AA',
        notBefore: '2029-09-01T00:00:00.000Z',
        notAfter: DISTRIBUTED_UNTIL,
        bundle: { name, version: 'v1', location: `certrotor:${name}` },
      },
    };
    await state.put(COLLECTIONS.certificates, name, value, NOW);
  }
  return state;
}

describe('the ACM renewal reconciliation', () => {
  const acm: Record<string, AcmCertificateStatus> = {
    renewed: { status: 'ISSUED', notAfter: '2030-07-01T00:00:00.000Z', serial: '0a:1b' },
    same: { status: 'ISSUED', notAfter: DISTRIBUTED_UNTIL },
    renewing: { status: 'ISSUED', notAfter: DISTRIBUTED_UNTIL, renewalStatus: 'PENDING_VALIDATION' },
    pending: { status: 'PENDING_VALIDATION' },
    undistributed: { status: 'ISSUED', notAfter: '2030-07-01T00:00:00.000Z' },
  };
  const status = async (_issuer: string, arn: string): Promise<AcmCertificateStatus> => {
    const name = arn.split('/').pop()!;
    if (name === 'unreadable') throw new Error(`acm:DescribeCertificate ${arn}: AccessDeniedException`);
    return acm[name]!;
  };
  const all = ['renewed', 'same', 'renewing', 'pending', 'undistributed', 'unreadable'];

  it('says renewed only where ACM holds a later version than the hosts have, or one never distributed', async () => {
    const state = await stateWith(all, ['renewed', 'same', 'renewing', 'pending', 'unreadable']);
    const results = await reconcileAcmRenewals(
      { state, clock: () => NOW, status },
      [...all, 'never-requested'].map((name) => ({ name, issuer: 'public' })),
    );

    expect(Object.fromEntries(results.map((r) => [r.name, r.outcome]))).toEqual({
      renewed: 'renewed',
      same: 'current',
      renewing: 'current',
      pending: 'current',
      undistributed: 'renewed',
      unreadable: 'failed',
      'never-requested': 'not-requested',
    });
    const byName = new Map(results.map((r) => [r.name, r.reason]));
    expect(byName.get('renewed')).toBe(
      `ACM renewed ${arnOf('renewed')}: notAfter 2030-07-01T00:00:00.000Z, serial 0a:1b; the hosts have the version ending ${DISTRIBUTED_UNTIL}`,
    );
    expect(byName.get('renewing')).toBe(
      `the hosts have ACM's latest version (notAfter ${DISTRIBUTED_UNTIL}); ACM's renewal: PENDING_VALIDATION`,
    );
    expect(byName.get('pending')).toBe('ACM holds it PENDING_VALIDATION: nothing to redistribute');
    expect(byName.get('unreadable')).toContain('AccessDeniedException');
  });

  it('looks only at the certificates an event names when given its ARNs', async () => {
    const state = await stateWith(all, ['renewed', 'same']);
    const results = await reconcileAcmRenewals(
      { state, clock: () => NOW, status },
      all.map((name) => ({ name, issuer: 'public' })),
      [arnOf('renewed'), 'arn:aws:acm:us-east-1:111111111111:certificate/not-ours'],
    );

    expect(results.map((r) => [r.name, r.outcome])).toEqual([['renewed', 'renewed']]);
  });

  it("is one decision for certrotor run and the deployed planner: due where ACM renewed or nothing was distributed yet, never by certrotor's own renewal time once distributed", async () => {
    const names = [...all, 'never-requested'];
    const certificates = names.map((name) => ({ name, issuer: 'public' }));
    // certrotor's own renewal time says due for every one of them.
    const ownVerdicts = names.map((name) => ({ name, due: true, reason: 'renewal was due' }));

    const cycleState = await stateWith(all, ['renewed', 'same', 'renewing', 'pending', 'unreadable']);
    const cycle = await dueInCycle(
      { state: cycleState, clock: () => NOW, acm: { certificates, status } },
      ownVerdicts,
    );

    const plannerState = await stateWith(all, ['renewed', 'same', 'renewing', 'pending', 'unreadable']);
    const reconciled = await reconcileAcmRenewals(
      { state: plannerState, clock: () => NOW, status },
      certificates,
    );
    const renewed = renewedReasons(reconciled);
    const started: string[] = [];
    const plans = await planRotations(
      names.map((name) => ({
        name,
        issuer: 'public',
        environments: ['prod'],
        renewal: {},
        caRenews: true,
        ...(renewed.has(name) ? { dueBecause: renewed.get(name)! } : {}),
      })),
      plannerState,
      async (_execution, input) => {
        started.push(String(input.name));
        return 'started';
      },
      NOW,
    );

    expect(cycle.due.map((v) => v.name)).toEqual(['renewed', 'undistributed', 'never-requested']);
    expect(started).toEqual(cycle.due.map((v) => v.name));
    expect(cycle.due.find((v) => v.name === 'renewed')?.reason).toBe(renewed.get('renewed'));
    expect(plans.filter((p) => p.status === 'not-due').map((p) => [p.name, p.reason])).toEqual(
      ['same', 'renewing', 'pending', 'unreadable'].map((name) => [name, CA_RENEWS_NOT_DUE]),
    );
    // An ACM status that cannot be read is reported; its certificate is not rotated.
    expect(cycle.failures).toEqual([
      { what: 'ACM renewal check unreadable', error: expect.stringContaining('AccessDeniedException') },
    ]);
  });

  it('leaves an unfinished rotation of an acm certificate to its own verdict: finishing it is no renewal', async () => {
    const state = await stateWith(['same'], ['same']);
    const stored = (await state.get<CertificateState>(COLLECTIONS.certificates, 'same', NOW))!.value;
    await state.put(
      COLLECTIONS.certificates,
      'same',
      { ...stored, pending: { ...stored.current!, version: 'v2' } },
      NOW,
    );
    const cycle = await dueInCycle(
      { state, clock: () => NOW, acm: { certificates: [{ name: 'same', issuer: 'public' }], status } },
      [{ name: 'same', due: true, reason: 'resume v2' }],
    );

    expect(cycle.due).toEqual([{ name: 'same', due: true, reason: 'resume v2' }]);
  });
});
