/**
 * `certrotor inspect` must agree with `openssl x509` on every certificate of the system trust store:
 * fingerprint, serial, validity and subject. openssl runs once for the whole store (one shell loop).
 */
import { spawn } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateReport } from '../../lambda/domain/certificate';
import { parseCertificates } from '../../lambda/domain/x509';
import { runCli } from '../../lambda/cli/program';
import type { CliContext } from '../../lambda/cli/context';

const STORE = '/etc/ssl/certs';
/** The same rendering as inspect's one-line subject: RFC 2253 escaping, UTF-8, most specific first. */
const NAMEOPT = 'esc_2253,esc_ctrl,utf8,sep_comma_plus_space,dn_rev,sname';

interface OpensslFacts {
  fingerprint: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  subject: string;
}

function uniqueCertificateFiles(): string[] {
  const files = new Set<string>();
  for (const entry of readdirSync(STORE)) {
    const real = realpathSync(join(STORE, entry));
    if (statSync(real).isFile()) files.add(real);
  }
  return [...files].sort();
}

/** `2026-01-01 00:00:00Z` (openssl -dateopt iso_8601) → ISO 8601 as inspect prints it. */
function isoFromOpenssl(value: string): string {
  return new Date(value.replace(' ', 'T')).toISOString();
}

/** Runs openssl over `files` in one shell loop per core, so the whole store takes seconds. */
async function opensslFacts(files: readonly string[]): Promise<OpensslFacts[]> {
  const script = [
    'for f in "$@"; do',
    `  openssl x509 -in "$f" -noout -fingerprint -sha256 -serial -startdate -enddate -dateopt iso_8601 -subject -nameopt ${NAMEOPT} || echo "FAILED $f"`,
    '  echo "--END--"',
    'done',
  ].join('\n');
  const half = Math.ceil(files.length / 2);
  const outputs = await Promise.all(
    [files.slice(0, half), files.slice(half)].map(
      (batch) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn('bash', ['-c', script, 'openssl-batch', ...batch]);
          let stdout = '';
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
          child.on('error', reject);
          child.on('close', (code) =>
            code === 0 ? resolve(stdout) : reject(new Error(`openssl batch exited ${code}`)),
          );
        }),
    ),
  );
  const records = outputs.flatMap((stdout) => stdout.split('--END--\n').slice(0, -1));
  expect(records).toHaveLength(files.length);
  return records.map((record) => {
    const value = (prefix: string) => {
      const line = record.split('\n').find((l) => l.startsWith(prefix));
      if (line === undefined) throw new Error(`openssl printed no ${prefix} in:\n${record}`);
      return line.slice(prefix.length);
    };
    return {
      fingerprint: value('sha256 Fingerprint='),
      serial: value('serial='),
      notBefore: isoFromOpenssl(value('notBefore=')),
      notAfter: isoFromOpenssl(value('notAfter=')),
      subject: value('subject='),
    };
  });
}

function factsForComparison(report: CertificateReport): OpensslFacts {
  return {
    fingerprint: report.fingerprintSha256,
    serial: report.serialNumber,
    notBefore: report.notBefore,
    notAfter: report.notAfter,
    subject: report.subject,
  };
}

async function inspectJson(file: string): Promise<CertificateReport[]> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
    cwd: '/',
    clock: () => new Date('2026-01-01T00:00:00Z'),
    exitCode: 0,
  };
  const code = await runCli(['inspect', file, '--json'], ctx);
  expect({ file, code, err }).toEqual({ file, code: 0, err: [] });
  return (JSON.parse(out.join('\n')) as { certificates: CertificateReport[] }).certificates;
}

describe('inspect agrees with openssl x509 on the system trust store', () => {
  const files = uniqueCertificateFiles();
  let workDir: string;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'certrotor-agreement-'));
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('finds certificates to compare', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('reports the same fingerprint, serial, validity and subject as openssl for every certificate', async () => {
    // Prepare: openssl reads only the first certificate of a file, so bundles are split; a bundled
    // certificate that is also a file of its own is checked once, and its two reports must be equal.
    const compared: { file: string; report: CertificateReport; opensslInput: string }[] = [];
    const bundled: { file: string; report: CertificateReport; pem: string }[] = [];
    for (const file of files) {
      const reports = await inspectJson(file);
      if (reports.length === 1) {
        compared.push({ file, report: reports[0]!, opensslInput: file });
        continue;
      }
      const materials = parseCertificates(readFileSync(file), file);
      expect(materials).toHaveLength(reports.length);
      reports.forEach((report, index) =>
        bundled.push({ file: `${file}[${index}]`, report, pem: materials[index]!.pem }),
      );
    }
    const checked = new Map(compared.map((c) => [c.report.fingerprintSha256, c.report]));
    const bundledElsewhere = bundled.filter((b) => checked.has(b.report.fingerprintSha256));
    for (const { file, report, pem } of bundled.filter((b) => !checked.has(b.report.fingerprintSha256))) {
      const single = join(workDir, `${compared.length}.pem`);
      writeFileSync(single, pem);
      compared.push({ file, report, opensslInput: single });
    }

    // Act
    const expected = await opensslFacts(compared.map((c) => c.opensslInput));

    // Assess
    const mismatches = compared.flatMap(({ file, report }, index) => {
      const got = factsForComparison(report);
      const want = expected[index]!;
      return JSON.stringify(got) === JSON.stringify(want) ? [] : [{ file, got, want }];
    });
    expect(mismatches).toEqual([]);
    for (const { report } of bundledElsewhere) {
      expect(report).toEqual(checked.get(report.fingerprintSha256));
    }
    expect(compared.length + bundledElsewhere.length).toBeGreaterThanOrEqual(files.length);
  });
});
