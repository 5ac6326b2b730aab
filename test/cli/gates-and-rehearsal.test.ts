/**
 * A CLI to gate on and to rehearse with: --fail-on exit codes (1 warning, 2 critical) on scan, status
 * and inspect; --at runs as of another time against the rehearsal state, never the real one; plan
 * speaks in the future tense and lists a managed certificate never issued as "issue it now".
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const NOW = new Date();

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function certrotor(cwd: string, env: Record<string, string>, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env,
    cwd,
    clock: () => NOW,
    exitCode: 0,
  };
  const config = argv[0] === 'inspect' ? [] : ['--config', join(cwd, 'certrotor.json')];
  const code = await runCli([...argv, ...config], ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function workspace(): Promise<string> {
  const dir = await temp.make('gates');
  const ca = await buildCa({ commonName: 'Gates test CA', now: new Date(NOW.getTime() - 400 * DAY) });
  const soon = await buildCertificate({
    issuer: ca,
    commonName: 'billing.example.com',
    notAfter: new Date(NOW.getTime() + 5 * DAY + 3_600_000),
    lifetimeDays: 365,
  });
  writeFileSync(join(dir, 'billing.pem'), soon.certificatePem);
  const expired = await buildCertificate({
    issuer: ca,
    commonName: 'old.example.com',
    notAfter: new Date(NOW.getTime() - 3 * DAY),
  });
  writeFileSync(join(dir, 'old.pem'), expired.certificatePem);
  writeFileSync(
    join(dir, 'certrotor.json'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      sources: [{ name: 'files', kind: 'files', environment: 'prod', paths: ['billing.pem'] }],
      issuers: [{ name: 'local', kind: 'local-ca' }],
      destinations: [{ name: 'api-files', kind: 'files', environment: 'prod', directory: 'tls/api' }],
      certificates: [
        { name: 'api', dnsNames: ['api.example.com'], issuer: 'local', destinations: ['api-files'] },
      ],
      local: { stateDirectory: 'state', events: { stdout: false } },
    }),
  );
  return dir;
}

describe('gating and rehearsing with the CLI', () => {
  it('exits 1 on a warning and 2 on a critical finding only when asked, and rehearses the expiry without touching the real state', async () => {
    // Prepare
    const dir = await workspace();

    // Act
    const plain = await certrotor(dir, {}, 'scan', '--json');
    const warning = await certrotor(dir, {}, 'scan', '--fail-on', 'warning');
    const critical = await certrotor(dir, {}, 'scan', '--fail-on', 'critical');
    const rehearsed = await certrotor(dir, {}, 'scan', '--json', '--at', '6d', '--fail-on', 'critical');
    const byEnv = await certrotor(dir, { CERTROTOR_AT: '7d' }, 'status', '--json', '--fail-on', 'critical');
    const realStatus = await certrotor(dir, {}, 'status', '--json', '--fail-on', 'critical');
    const badGate = await certrotor(dir, {}, 'scan', '--fail-on', 'sometimes');
    const badTime = await certrotor(dir, {}, 'scan', '--at', 'next tuesday');

    // Assess: plain runs never gate on findings.
    expect(plain.code).toBe(0);
    expect(warning.code).toBe(1);
    expect(critical.code).toBe(0);
    // The rehearsal, six days on: the certificate has expired there.
    expect(rehearsed.code).toBe(2);
    expect(rehearsed.err).toMatch(
      /^certrotor: rehearsal as of \S+ \(--at\); state in <stateDirectory>\/rehearsal$/,
    );
    const report = JSON.parse(rehearsed.out) as { schema: string; at: string; findings: { kind: string }[] };
    expect(report.schema).toBe('certrotor.scan/1');
    expect(Date.parse(report.at) - NOW.getTime()).toBeGreaterThanOrEqual(6 * DAY);
    expect(report.findings.map((f) => f.kind)).toContain('expired');
    expect(existsSync(join(dir, 'state', 'rehearsal'))).toBe(true);
    expect(byEnv.code).toBe(2);
    expect(byEnv.err).toMatch(/rehearsal as of .* \(CERTROTOR_AT\)/);
    // The real state never saw the rehearsal: today nothing is critical in it.
    expect(realStatus.code).toBe(0);
    const rows = (
      JSON.parse(realStatus.out) as {
        rows: { certificate: string; daysLeft: number | null; severity: string }[];
      }
    ).rows;
    expect(rows.find((r) => r.certificate.includes('billing'))).toMatchObject({
      daysLeft: 5,
      severity: 'warning',
    });
    expect(badGate).toMatchObject({
      code: 1,
      err: 'certrotor: --fail-on sometimes: must be warning or critical',
    });
    expect(badTime.code).toBe(1);
    expect(badTime.err).toMatch(/^certrotor: --at/);
  });

  it('plans in the future tense and lists a certificate never issued as one to issue now', async () => {
    // Prepare
    const dir = await workspace();

    // Act
    const plan = await certrotor(dir, {}, 'plan', '--horizon', '30d');
    const json = await certrotor(dir, {}, 'plan', '--json');

    // Assess
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/^ {2}issue api\s+never issued: issue it now \(certrotor rotate api\)$/m);
    expect(plan.out).toMatch(/billing\.example\.com will expire in 5 days/);
    expect(plan.out).not.toMatch(/ ago/);
    const actions = (
      JSON.parse(json.out) as { schema: string; actions: { what: string; daysLeft?: number }[] }
    ).actions;
    expect(actions.find((a) => a.what === 'will expire')?.daysLeft).toBe(5);
  });

  it('gates inspect on what it shows', async () => {
    // Prepare
    const dir = await workspace();

    // Act
    const expired = await certrotor(dir, {}, 'inspect', 'old.pem', '--fail-on', 'critical');
    const soon = await certrotor(dir, {}, 'inspect', 'billing.pem', '--fail-on', 'warning');
    const ungated = await certrotor(dir, {}, 'inspect', 'old.pem');

    // Assess
    expect([expired.code, soon.code, ungated.code]).toEqual([2, 1, 0]);
  });
});
