/**
 * `certrotor hosts [--config FILE] [--json] [--backend aws …]`: per host and certificate, the environment, the current
 * version against what the agent installed and serves, the last report and a state (ok, drift,
 * stale report, failed, no report). Exit 1 when any host is not ok.
 */
import type { Command } from 'commander';
import { shortFingerprint } from '../domain/certificate';
import { printJson } from './json-output';
import { type CurrentVersion, type HostReportFacts, hostDrift } from '../domain/host-drift';
import { COLLECTIONS, type CertificateState } from '../use-cases/certificate-state';
import { expectedAgentHosts } from './agent-runtime';
import { withConfigOption } from './config-option';
import { type BackendOptions, runtimeFor, withBackendOptions } from './runtime-option';
import type { CliContext } from './context';

type HostsOptions = BackendOptions;

export function registerHostsCommand(program: Command, ctx: CliContext): void {
  withBackendOptions(
    withConfigOption(
      program
        .command('hosts')
        .description('Per-host view of agent-managed certificates: installed vs served, last report, state.')
        .option('--json', 'print hosts and drift findings as JSON'),
    ),
  ).action(async (options: HostsOptions) => {
    await hostsCommand(ctx, options);
  });
}

async function hostsCommand(ctx: CliContext, options: HostsOptions): Promise<void> {
  const runtime = await runtimeFor(ctx, { ...options, json: true });
  const { config, state } = runtime;
  const now = ctx.clock();
  const reports = (await state.list<HostReportFacts>(COLLECTIONS.hosts, now)).map((i) => i.value);
  const current = new Map<string, CurrentVersion>();
  for (const item of await state.list<CertificateState>(COLLECTIONS.certificates, now)) {
    const c = item.value.current;
    if (c)
      current.set(item.value.name, {
        version: c.version,
        fingerprintSha256: c.fingerprintSha256,
        notAfter: c.notAfter,
        ...(c.facts?.subject ? { subject: c.facts.subject } : {}),
      });
  }
  const result = hostDrift({ reports, current, expected: expectedAgentHosts(config), now });
  if (result.hosts.some((h) => h.state !== 'ok')) ctx.exitCode = 1;
  if (options.json) {
    printJson(ctx, 'hosts', { at: now.toISOString(), hosts: result.hosts, findings: result.findings });
    return;
  }
  if (result.hosts.length === 0) {
    ctx.out('no agent-managed hosts (no `agent` destinations and no agent reports)');
    return;
  }
  const rows = result.hosts.map((h) => [
    h.host,
    h.environment,
    h.certificate,
    short(h.expectedFingerprint),
    short(h.installedFingerprint),
    short(h.servedFingerprint),
    h.reportAt ?? '-',
    h.reason ? `${h.state} (${h.reason})` : h.state,
  ]);
  const header = [
    'HOST',
    'ENVIRONMENT',
    'CERTIFICATE',
    'CURRENT',
    'INSTALLED',
    'SERVED',
    'LAST REPORT',
    'STATE',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    ctx.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  for (const f of result.findings)
    ctx.out(
      `drift: ${f.message}${f.environments.length > 1 ? ` (also in ${f.environments.slice(1).join(', ')})` : ''}`,
    );
}

function short(fingerprint: string | undefined): string {
  return fingerprint ? shortFingerprint(fingerprint) : '-';
}
