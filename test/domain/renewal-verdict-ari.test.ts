import { CA_RENEWS_NOT_DUE, renewalVerdict, type RenewalSubject } from '../../lambda/domain/renewal-verdict';

const DAY = 86_400_000;
const issued = Date.parse('2026-03-01T00:00:00.000Z');
const current = {
  fingerprintSha256: 'AA:BB',
  notBefore: new Date(issued).toISOString(),
  notAfter: new Date(issued + 47 * DAY).toISOString(),
};
// Policy: renew 10 days before expiry → 2026-04-07.
const subject: RenewalSubject = {
  name: 'api',
  environments: ['prod'],
  renewal: { renewBefore: 10 * DAY },
  current,
};
const policyRenewAt = Date.parse('2026-04-07T00:00:00.000Z');

describe('renewalVerdict with the CA’s suggested window (ARI)', () => {
  it('keeps the policy’s decision when the CA offers no window', () => {
    const { verdict } = renewalVerdict(subject, [], new Date(issued + 5 * DAY));
    expect(verdict).toMatchObject({ due: false, renewAt: new Date(policyRenewAt).toISOString() });
  });

  it('moves the renewal earlier to a point in a window that opens before the policy’s time', () => {
    const window = { start: '2026-03-20T00:00:00.000Z', end: '2026-03-22T00:00:00.000Z' };
    const { verdict } = renewalVerdict(
      { ...subject, suggestedWindow: window },
      [],
      new Date(issued + 5 * DAY),
    );
    const at = Date.parse(verdict.renewAt!);
    expect(at).toBeGreaterThanOrEqual(Date.parse(window.start));
    expect(at).toBeLessThanOrEqual(Date.parse(window.end));
    expect(verdict.due).toBe(false);
    expect(verdict.reason).toMatch(
      /inside the CA's suggested renewal window 2026-03-20T00:00:00.000Z – 2026-03-22T00:00:00.000Z \(ARI\)$/,
    );
  });

  it('makes a certificate due now, with a finding, when the CA’s window has already opened (an incident)', () => {
    const window = {
      start: '2026-03-05T00:00:00.000Z',
      end: '2026-03-05T01:00:00.000Z',
      explanationUrl: 'https://ca.example/incident-42',
    };
    const { verdict, finding } = renewalVerdict(
      { ...subject, suggestedWindow: window },
      [],
      new Date(issued + 5 * DAY),
    );
    expect(verdict.due).toBe(true);
    expect(verdict.reason).toMatch(
      /^renewal was due at 2026-03-05T00:\d\d:\d\d.000Z, inside the CA's suggested renewal window .* see https:\/\/ca.example\/incident-42; /,
    );
    expect(finding?.kind).toBe('renewal-due');
  });

  it('caps a window later than the policy’s own time by the policy', () => {
    const window = { start: '2026-04-10T00:00:00.000Z', end: '2026-04-12T00:00:00.000Z' };
    const { verdict } = renewalVerdict(
      { ...subject, suggestedWindow: window },
      [],
      new Date(issued + 5 * DAY),
    );
    expect(verdict.renewAt).toBe(new Date(policyRenewAt).toISOString());
  });

  it('ignores a malformed window', () => {
    const window = { start: 'soon', end: '2026-03-22T00:00:00.000Z' };
    const { verdict } = renewalVerdict(
      { ...subject, suggestedWindow: window },
      [],
      new Date(issued + 5 * DAY),
    );
    expect(verdict.renewAt).toBe(new Date(policyRenewAt).toISOString());
  });
});

describe('renewalVerdict for a certificate its CA renews (ACM)', () => {
  it('is never due by certrotor’s own time once a version is distributed, and raises no finding', () => {
    const { verdict, finding } = renewalVerdict(
      { ...subject, caRenews: true },
      [],
      new Date(issued + 40 * DAY),
    );
    expect(verdict).toMatchObject({ due: false, reason: CA_RENEWS_NOT_DUE, notAfter: current.notAfter });
    expect(finding).toBeUndefined();
  });

  it('is due by certrotor’s own time before the first version (the first request)', () => {
    const { current: _none, ...first } = subject;
    expect(renewalVerdict({ ...first, caRenews: true }, [], new Date(issued)).verdict.due).toBe(true);
  });
});
