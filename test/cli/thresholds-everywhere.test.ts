/**
 * One threshold rule everywhere, through the built `certrotor` binary (dist/certrotor.js): thresholds
 * scale with lifetime by default, and the scan, `status`, `plan` and the fleet report judge the same
 * two certificates the same way: a 30-day certificate with 10 days left is fine (its "14 days" is
 * 2⅓ days), a one-year certificate with 10 days left is a warning. With `thresholdScaling: absolute`
 * every one of them says warning for both.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const temp = useTempDirs();

function certrotor(
  dir: string,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv, '--config', join(dir, 'certrotor.json')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

async function workspace(scaling?: 'absolute'): Promise<string> {
  const dir = await temp.make('thresholds-everywhere');
  const now = Date.now();
  const ca = await buildCa({ commonName: 'Thresholds CA', now: new Date(now - 400 * DAY) });
  const tenDaysLeft = new Date(now + 10 * DAY + 3_600_000);
  const short = await buildCertificate({
    issuer: ca,
    commonName: 'short.example',
    notAfter: tenDaysLeft,
    lifetimeDays: 30,
  });
  const long = await buildCertificate({
    issuer: ca,
    commonName: 'long.example',
    notAfter: tenDaysLeft,
    lifetimeDays: 365,
  });
  writeFileSync(join(dir, 'short.pem'), short.certificatePem);
  writeFileSync(join(dir, 'long.pem'), long.certificatePem);
  writeFileSync(
    join(dir, 'certrotor.json'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      sources: [{ name: 'files', kind: 'files', environment: 'prod', paths: ['short.pem', 'long.pem'] }],
      ...(scaling ? { notifications: { thresholdScaling: scaling } } : {}),
      local: { stateDirectory: 'state', events: { stdout: false } },
    }),
  );
  return dir;
}

/** How each command judges short.pem and long.pem. */
async function judgements(dir: string): Promise<Record<string, Record<'short' | 'long', string>>> {
  const scan = JSON.parse((await certrotor(dir, 'scan', '--json')).stdout) as {
    findings: { kind: string; severity: string; locations: string[] }[];
  };
  const status = JSON.parse((await certrotor(dir, 'status', '--json')).stdout) as {
    rows: { where: string; severity: string }[];
  };
  const plan = JSON.parse((await certrotor(dir, 'plan', '--json', '--horizon', '1d')).stdout) as {
    actions: { why: string; severity: string }[];
  };
  const reported = await certrotor(dir, 'report', '--out', 'report.html');
  expect(reported.code).toBe(0);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  const of = (file: 'short' | 'long') => ({
    scan:
      scan.findings.find((f) => f.kind === 'expiring' && f.locations.some((l) => l.endsWith(`${file}.pem`)))
        ?.severity ?? 'ok',
    status: status.rows.find((r) => r.where.endsWith(`${file}.pem`))?.severity ?? 'missing',
    plan: plan.actions.find((a) => a.why.includes(`${file}.example`))?.severity ?? 'ok',
    report: new RegExp(`data-state="(\\w+)" data-search="[^"]*${file}\\.pem`).exec(html)?.[1] ?? 'missing',
  });
  const short = of('short');
  const long = of('long');
  return Object.fromEntries(
    (['scan', 'status', 'plan', 'report'] as const).map((k) => [k, { short: short[k], long: long[k] }]),
  );
}

describe('alert thresholds', () => {
  it('scale with lifetime by default, the same in scan, status, plan and the fleet report', async () => {
    // Prepare
    const dir = await workspace();

    // Act
    const judged = await judgements(dir);

    // Assess
    expect(judged).toEqual({
      scan: { short: 'ok', long: 'warning' },
      status: { short: 'ok', long: 'warning' },
      plan: { short: 'ok', long: 'warning' },
      report: { short: 'ok', long: 'warning' },
    });
  });

  it('apply as written everywhere with thresholdScaling: absolute', async () => {
    // Prepare
    const dir = await workspace('absolute');

    // Act
    const judged = await judgements(dir);

    // Assess
    expect(judged).toEqual({
      scan: { short: 'warning', long: 'warning' },
      status: { short: 'warning', long: 'warning' },
      plan: { short: 'warning', long: 'warning' },
      report: { short: 'warning', long: 'warning' },
    });
  });
});
