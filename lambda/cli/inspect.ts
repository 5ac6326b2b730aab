/**
 * `certrotor inspect <file|host:port>`: the facts of every certificate in a file, or of the whole
 * chain an endpoint serves on a fresh handshake. Bad input of any kind ends with one line naming it.
 */
import { DEFAULT_THRESHOLDS, expiryStanding } from '../domain/thresholds';
import { printJson } from './json-output';
import { type GateOptions, gate, parseFailOn } from './gate';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { NodeTlsProber, DEFAULT_PROBE_TIMEOUT_MS } from '../adapters/net/tls-prober';
import {
  type CertificateFacts,
  withDaysLeft,
  type CertificateReport,
  shortFingerprint,
} from '../domain/certificate';
import { formatDuration, parseDuration } from '../domain/duration';
import { InvalidInputError, OperationError } from '../domain/errors';
import type { CertificateMaterial, ProbeResult, TlsProber } from '../domain/ports';
import { describeKey, parseCertificates } from '../domain/x509';
import type { CliContext } from './context';

export interface InspectOptions {
  readonly json?: boolean;
  readonly servername?: string;
  readonly caFile?: string;
  readonly timeout?: string;
}

/** One certificate served by an endpoint, as `--json` prints it. */
export interface EndpointCertificateReport extends CertificateReport {
  readonly endpoint: string;
  readonly address: string;
  readonly servername?: string;
  /** 0 is the leaf. */
  readonly position: number;
  readonly tlsVersion?: string;
  readonly chainVerified: boolean;
  readonly verificationError?: string;
  readonly hostnameMatches: boolean;
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
}

const BRACKETED = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/;
const HOST_PORT = /^([A-Za-z0-9_.-]+):(\d{1,5})$/;

/** `host:port` or `[v6]:port`; undefined when `input` is not shaped like one. */
export function parseEndpoint(input: string): Endpoint | undefined {
  const match = BRACKETED.exec(input) ?? HOST_PORT.exec(input);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new InvalidInputError(`${input}: port must be 1-65535`);
  return { host: match[1]!, port };
}

export function registerInspectCommand(program: Command, ctx: CliContext, prober?: TlsProber): void {
  program
    .command('inspect')
    .description('Show the certificates in a PEM/DER file, or served by host:port on a fresh TLS handshake.')
    .argument('<target>', 'a certificate file (PEM or DER), or host:port ([v6]:port)')
    .option('--json', 'print {"schema", "at", "target", "certificates"} as JSON')
    .option('--servername <name>', 'SNI name to send (default: the host, unless it is an IP address)')
    .option(
      '--ca-file <file>',
      'verify the served chain against these CA certificates instead of the system store',
    )
    .option(
      '--timeout <duration>',
      `connect + handshake timeout, e.g. 5s or 1500ms (default: ${formatDuration(DEFAULT_PROBE_TIMEOUT_MS)})`,
    )
    .option(
      '--fail-on <severity>',
      'exit 1 on a warning, 2 on a critical problem (warning), or 2 on a critical one only (critical): expired, hostname mismatch, unverified chain, thresholds crossed',
    )
    .action(async (target: string, options: InspectOptions & GateOptions) => {
      parseFailOn(options.failOn);
      const reports = await inspect(target, options, ctx, prober);
      if (options.json)
        printJson(ctx, 'inspect', { at: ctx.clock().toISOString(), target, certificates: reports });
      else ctx.out(renderTable(target, reports));
      gate(
        ctx,
        options,
        reports.map((r, i) => reportSeverity(r, i, ctx.clock())),
      );
    });
}

/**
 * How bad one inspected certificate is, for --fail-on: a served leaf that is expired, not yet valid or
 * does not match the name is critical, a chain that does not verify a warning; every certificate is
 * judged by the default thresholds (scaled by its lifetime).
 */
function reportSeverity(report: CertificateReport, index: number, now: Date): string {
  const served = 'endpoint' in report ? (report as EndpointCertificateReport) : undefined;
  const leaf = served ? served.position === 0 : index === 0;
  if (leaf && Date.parse(report.notBefore) > now.getTime()) return 'critical';
  if (served && leaf && !served.hostnameMatches) return 'critical';
  const standing = expiryStanding(report, DEFAULT_THRESHOLDS, now, 'lifetime');
  const severity = standing === 'expired' ? 'critical' : standing;
  if (served && leaf && !served.chainVerified && severity !== 'critical') return 'warning';
  return severity;
}

function readInput(path: string, ctx: CliContext): Buffer {
  try {
    return readFileSync(resolve(ctx.cwd, path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a certificate file'
          : code === 'EACCES'
            ? 'permission denied'
            : `cannot read (${code ?? String(error)})`;
    throw new InvalidInputError(`${path}: ${why}`, { cause: error });
  }
}

function fileExists(path: string, ctx: CliContext): boolean {
  return existsSync(resolve(ctx.cwd, path));
}

async function inspect(
  target: string,
  options: InspectOptions,
  ctx: CliContext,
  prober: TlsProber | undefined,
): Promise<CertificateReport[] | EndpointCertificateReport[]> {
  const endpoint = fileExists(target, ctx) ? undefined : parseEndpoint(target);
  const now = ctx.clock();
  if (!endpoint) {
    for (const flag of ['servername', 'caFile'] as const) {
      if (options[flag] !== undefined) {
        throw new InvalidInputError(
          `--${flag === 'caFile' ? 'ca-file' : flag}: applies to host:port targets only, not to the file ${target}`,
        );
      }
    }
    return parseCertificates(readInput(target, ctx), target).map((m) => withDaysLeft(m.facts, now));
  }

  const timeoutMs = inspectTimeoutMs(options.timeout, ctx);
  const caPem = options.caFile
    ? parseCertificates(readInput(options.caFile, ctx), options.caFile).map((m) => m.pem)
    : undefined;
  const results = await (prober ?? new NodeTlsProber({ clock: ctx.clock })).probe({
    host: endpoint.host,
    port: endpoint.port,
    timeoutMs,
    ...(options.servername ? { servername: options.servername } : {}),
    ...(caPem ? { caPem } : {}),
  });

  const failed = results.filter((r) => !r.ok);
  if (failed.length === results.length) {
    throw new OperationError('inspect', target, failed.map(describeFailure).join('; '));
  }
  for (const failure of failed) {
    ctx.err(`certrotor: inspect ${target}: ${describeFailure(failure)}`);
    ctx.exitCode = 1;
  }
  return results.filter((r) => r.ok).flatMap((r) => endpointReports(target, r, now));
}

/**
 * `--timeout` is a duration like every other one (`5s`, `1500ms`). A bare number was milliseconds
 * before durations were used everywhere: still accepted as such, with a note on stderr.
 */
export function inspectTimeoutMs(text: string | undefined, ctx: CliContext): number {
  if (text === undefined) return DEFAULT_PROBE_TIMEOUT_MS;
  let ms: number;
  if (/^\d+$/.test(text.trim())) {
    ms = Number(text.trim());
    ctx.err(
      `certrotor: --timeout ${text}: a bare number is read as milliseconds; write ${text.trim()}ms (or 5s) — bare numbers will be refused in a later version`,
    );
  } else {
    ms = parseDuration(text, '--timeout');
  }
  if (ms <= 0) throw new InvalidInputError(`--timeout: must be more than 0, got "${text}"`);
  return ms;
}

function describeFailure(result: ProbeResult): string {
  return result.address && result.address !== result.host
    ? `${result.address}: ${result.error ?? 'failed'}`
    : (result.error ?? 'failed');
}

function endpointReports(target: string, result: ProbeResult, now: Date): EndpointCertificateReport[] {
  return result.chain.map((material: CertificateMaterial, position) => ({
    endpoint: target,
    address: result.address,
    ...(result.servername !== undefined ? { servername: result.servername } : {}),
    position,
    ...(result.protocol ? { tlsVersion: result.protocol } : {}),
    chainVerified: result.authorized,
    ...(result.authorizationError ? { verificationError: result.authorizationError } : {}),
    hostnameMatches: result.hostnameMatches,
    ...withDaysLeft(material.facts, now),
  }));
}

// ---------------------------------------------------------------------------------------------
// Human output
// ---------------------------------------------------------------------------------------------

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

function describeDays(days: number): string {
  if (days < 0) return `expired ${-days} day${days === -1 ? '' : 's'} ago`;
  return `${days} day${days === 1 ? '' : 's'} left`;
}

function certificateLines(report: CertificateReport): string[] {
  const facts: CertificateFacts = report;
  const rows: [string, string][] = [
    ['issuer', facts.issuer || '(empty)'],
    ['names', facts.subjectAltNames.map((n) => `${n.type}:${n.value}`).join(', ') || '(none)'],
    ['valid', `${facts.notBefore} → ${facts.notAfter} (${describeDays(report.daysLeft)})`],
    ['key', describeKey(facts)],
    ['sha256', shortFingerprint(facts.fingerprintSha256)],
    ['serial', facts.serialNumber],
    [
      'flags',
      `CA ${yesNo(facts.isCA)}, self-signed ${yesNo(facts.selfSigned)}, EKU ${facts.extendedKeyUsage.join(' ') || '(any)'}`,
    ],
  ];
  return rows.map(([name, value]) => `    ${name.padEnd(8)} ${value}`);
}

function renderTable(target: string, reports: readonly CertificateReport[]): string {
  const lines: string[] = [];
  let lastAddress: string | undefined;
  reports.forEach((report, index) => {
    if ('endpoint' in report) {
      const served = report as EndpointCertificateReport;
      if (served.address !== lastAddress) {
        if (lines.length > 0) lines.push('');
        lastAddress = served.address;
        lines.push(
          `${served.endpoint} (${served.address}${served.servername ? `, SNI ${served.servername}` : ''}) ${served.tlsVersion ?? ''}`.trimEnd(),
          `  chain verified  ${yesNo(served.chainVerified)}${served.verificationError ? ` (${served.verificationError})` : ''}`,
          `  hostname match  ${yesNo(served.hostnameMatches)}`,
        );
      }
      lines.push(`  [${served.position}] ${report.subject || '(empty subject)'}`);
    } else {
      if (index === 0)
        lines.push(`${target}: ${reports.length} certificate${reports.length === 1 ? '' : 's'}`);
      lines.push(`  [${index}] ${report.subject || '(empty subject)'}`);
    }
    lines.push(...certificateLines(report));
  });
  return lines.join('\n');
}
