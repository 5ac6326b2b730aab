/**
 * `certrotor upstream …`: vendor rotations of the certificates our consumers use to reach them.
 *
 * - `announce <upstream> --window-start … --cutover … [--new-cert FILE] [--new-ca FILE] [--note …]`
 *   records a rotation announced by mail, ticket or phone.
 * - `import-client-cert <upstream> --cert FILE --key FILE [--chain FILE]` checks a vendor-supplied
 *   client certificate offline (key matches, valid now, clientAuth usage) and stores it in the local
 *   key store; the key is never printed.
 * - `status [upstream]` shows each announcement, its stage, deadline and per-consumer readiness.
 *
 * State lives where the backend keeps it: `local.stateDirectory` locally, the DynamoDB table and
 * Secrets Manager with `--backend aws` (what the deployed upstream watcher reads).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { HttpFeedFetcher } from '../adapters/net/feeds';
import { NodeClientAuthProber } from '../adapters/net/mtls-handshake';
import { shortFingerprint } from '../domain/certificate';
import type { CertrotorConfig, UpstreamConfig } from '../config/configuration';
import { InvalidInputError, describeError } from '../domain/errors';
import { parseRfc3339 } from '../domain/upstream/feed-dates';
import type { CertificateBundle, OutgoingEvent } from '../domain/ports';
import { parseCertificates } from '../domain/x509';
import { parsePrivateKey } from '../domain/private-keys';
import { validateBundle } from '../domain/bundle-check';
import { type AnnouncementStatus, upstreamStatus } from '../use-cases/upstream/readiness';
import { cliNotifications } from './notification-outbox';
import { type UpstreamDeps } from '../use-cases/upstream/model';
import {
  attachNewMaterial,
  listAnnouncements,
  recordAnnouncement,
} from '../use-cases/upstream/announcements';
import { type UpstreamWatchReport, watchUpstreams } from '../use-cases/upstream/watch';
import { upstreamSpec, upstreamSpecs } from '../wiring/upstreams';
import { withConfigOption } from './config-option';
import { type BackendOptions, runtimeFor, withBackendOptions } from './runtime-option';
import { type RehearsalOptions, applyRehearsal, withRehearsalOption } from './rehearsal';
import type { Runtime } from './local-runtime';
import type { CliContext } from './context';
import { printJson } from './json-output';
import { publicClientAuthSunset } from '../domain/public-client-auth';
import { recordClientCertificate } from '../use-cases/client-certificate-records';

type CommonOptions = BackendOptions;

interface AnnounceOptions extends CommonOptions {
  readonly windowStart: string;
  readonly cutover: string;
  readonly newCert?: string;
  readonly newCa?: string;
  readonly note?: string;
  readonly id?: string;
}

interface ImportOptions extends CommonOptions {
  readonly cert: string;
  readonly key: string;
  readonly chain?: string;
  readonly announcement?: string;
}

export function registerUpstreamCommand(program: Command, ctx: CliContext): void {
  const upstream = program
    .command('upstream')
    .description('Track vendor certificate rotations and whether every consumer is ready for them.');

  withBackendOptions(
    withConfigOption(
      upstream
        .command('announce')
        .description('Record a rotation the vendor announced: overlap start, cutover and any new material.')
        .argument('<upstream>', 'upstream name from the configuration')
        .requiredOption('--window-start <time>', 'overlap start, RFC 3339 with offset (2026-11-01T00:00:00Z)')
        .requiredOption('--cutover <time>', 'when only the new material works, RFC 3339 with offset')
        .option('--new-cert <file>', "the vendor's new server certificate (PEM or DER)")
        .option('--new-ca <file>', 'the new CA certificate(s) consumers must trust (PEM)')
        .option('--note <text>', 'free text kept with the announcement (ticket, mail subject)')
        .option('--id <text>', 'your reference for this announcement; re-running with it updates it')
        .option('--json', 'print the stored announcement as JSON'),
    ),
  ).action(async (name: string, options: AnnounceOptions) => announce(ctx, name, options));

  withBackendOptions(
    withConfigOption(
      upstream
        .command('import-client-cert')
        .description('Check and store a client certificate the vendor issued us (the key is never printed).')
        .argument('<upstream>', 'upstream name from the configuration')
        .requiredOption('--cert <file>', 'client certificate (PEM or DER); a full chain is accepted')
        .requiredOption('--key <file>', 'its private key (PEM, unencrypted)')
        .option('--chain <file>', 'intermediates (PEM)')
        .option('--announcement <id>', 'attach to this announcement (default: the next one of the upstream)')
        .option('--json', 'print the result as JSON'),
    ),
  ).action(async (name: string, options: ImportOptions) => importClientCertificate(ctx, name, options));

  withBackendOptions(
    withConfigOption(
      withRehearsalOption(upstream.command('watch'))
        .description(
          'Poll feeds, observe every upstream endpoint, deliver announced material to consumers, and report what is new.',
        )
        .option('--json', 'print the report as JSON'),
    ),
  ).action(async (options: CommonOptions & RehearsalOptions) => {
    applyRehearsal(ctx, options);
    await watch(ctx, options);
  });

  withBackendOptions(
    withConfigOption(
      withRehearsalOption(upstream.command('status'))
        .description('Each announcement, its stage, deadline and per-consumer readiness.')
        .argument('[upstream]', 'only this upstream')
        .option('--json', 'print the statuses as JSON'),
    ),
  ).action(async (name: string | undefined, options: CommonOptions & RehearsalOptions) => {
    applyRehearsal(ctx, options);
    await status(ctx, name, options);
  });
}

// ---------------------------------------------------------------------------------------------
// announce
// ---------------------------------------------------------------------------------------------

async function announce(ctx: CliContext, name: string, options: AnnounceOptions): Promise<void> {
  const runtime = await runtimeFor(ctx, { ...options, json: true });
  const config = runtime.config;
  const upstream = findUpstream(config, name);
  const windowStart = instant('--window-start', options.windowStart);
  const cutover = instant('--cutover', options.cutover);
  if (cutover < windowStart) {
    throw new InvalidInputError(
      `--cutover ${options.cutover} is before --window-start ${options.windowStart}`,
    );
  }
  const newCert = options.newCert
    ? parseCertificates(readInput(ctx, options.newCert, '--new-cert'), options.newCert)
    : undefined;
  const newCa = options.newCa
    ? parseCertificates(readInput(ctx, options.newCa, '--new-ca'), options.newCa)
    : undefined;
  if (newCa && newCa.some((m) => !m.facts.isCA)) {
    throw new InvalidInputError(
      `${options.newCa}: holds a certificate that is not a CA (${newCa.find((m) => !m.facts.isCA)?.facts.subject})`,
    );
  }
  const leaf = newCert?.[0];
  const state = runtime.state;
  const now = ctx.clock();
  const { record, created } = await recordAnnouncement(
    state,
    {
      source: 'manual',
      sourceId: options.id ?? `${windowStart}/${cutover}`,
      upstream: upstream.name,
      title: options.note ?? `Rotation announced for ${upstream.name}`,
      ...(options.note ? { rawText: options.note } : {}),
      publishedAt: now.toISOString(),
      windowStart,
      cutover,
      ...(leaf
        ? {
            newCertificate: {
              fingerprintSha256: leaf.facts.fingerprintSha256,
              subject: leaf.facts.subject,
              serialNumber: leaf.facts.serialNumber,
              notAfter: leaf.facts.notAfter,
            },
          }
        : {}),
      needsReview: false,
      reviewReasons: [],
    },
    now,
    {
      ...(options.note ? { note: options.note } : {}),
      ...(newCert ? { newServerFingerprints: newCert.map((m) => m.facts.fingerprintSha256) } : {}),
      ...(newCa
        ? {
            newCaPem: newCa.map((m) => m.pem),
            newCaFingerprints: newCa.map((m) => m.facts.fingerprintSha256),
          }
        : {}),
    },
  );
  if (options.json) {
    printJson(ctx, 'upstream-announce', { announcement: record });
    return;
  }
  ctx.out(
    `${created ? 'recorded' : 'updated'} ${record.id}: ${upstream.name} window from ${windowStart}, cutover ${cutover}` +
      (leaf ? `, new certificate ${shortFingerprint(leaf.facts.fingerprintSha256)}` : '') +
      (newCa ? `, ${newCa.length} new CA${newCa.length === 1 ? '' : 's'}` : ''),
  );
}

// ---------------------------------------------------------------------------------------------
// import-client-cert
// ---------------------------------------------------------------------------------------------

async function importClientCertificate(ctx: CliContext, name: string, options: ImportOptions): Promise<void> {
  const runtime = await runtimeFor(ctx, { ...options, json: true });
  const config = runtime.config;
  const upstream = findUpstream(config, name);
  const now = ctx.clock();
  const key = parsePrivateKey(readInput(ctx, options.key, '--key'), options.key).key;
  const check = validateBundle({
    certificate: readInput(ctx, options.cert, '--cert'),
    ...(options.chain ? { chain: readInput(ctx, options.chain, '--chain') } : {}),
    privateKey: key,
    now,
    usage: 'client',
    inputNames: { certificate: options.cert, chain: options.chain ?? 'chain', privateKey: options.key },
  });
  // An incomplete chain is the vendor's business (their server holds the CA); everything else is ours.
  const problems = check.problems.filter((p) => p.code !== 'chain-incomplete');
  if (problems.length > 0 || !check.leaf) {
    throw new InvalidInputError(
      `${options.cert}: not usable as the client certificate for ${upstream.name}: ${problems.map((p) => p.message).join('; ')}`,
    );
  }
  const leaf = check.leaf;
  const { state, bundles } = runtime;
  const bundle: CertificateBundle = {
    name: upstream.clientCertificate ?? `${upstream.name}-client`,
    version: shortFingerprint(leaf.facts.fingerprintSha256).toLowerCase(),
    certificatePem: leaf.pem,
    chainPem: check.chain.map((m) => m.pem).join(''),
    privateKey: key,
    facts: leaf.facts,
  };
  const ref = await bundles.put(bundle);
  const target =
    options.announcement ??
    (await listAnnouncements(state, now, upstream.name)).find(
      (a) => a.cutover !== undefined && Date.parse(a.cutover) > now.getTime() && !a.oldRetiredAt,
    )?.id;
  if (target) {
    await attachNewMaterial(
      state,
      target,
      {
        newClientCertificate: {
          bundle: ref,
          fingerprintSha256: leaf.facts.fingerprintSha256,
          subject: leaf.facts.subject,
          notAfter: leaf.facts.notAfter,
        },
      },
      now,
    );
  }
  // A client certificate from a public CA with clientAuth: its renewal from that CA will lack it.
  const sunset = publicClientAuthSunset(leaf.facts);
  await recordClientCertificate(
    state,
    {
      upstream: upstream.name,
      certificate: bundle.name,
      version: bundle.version,
      environments: [...new Set(upstream.endpoints.flatMap((e) => (e.environment ? [e.environment] : [])))],
      facts: leaf.facts,
    },
    now,
  );
  const warning = sunset
    ? `warning: ${bundle.name} carries clientAuth from a public CA (${leaf.facts.issuer}): ${sunset.rule} from ${sunset.date} (${sunset.authority}); its renewal will not authenticate to ${upstream.name} as a client: ask the vendor for a certificate from a private CA`
    : undefined;
  const result = {
    upstream: upstream.name,
    name: bundle.name,
    version: bundle.version,
    fingerprintSha256: leaf.facts.fingerprintSha256,
    subject: leaf.facts.subject,
    notAfter: leaf.facts.notAfter,
    ...(target ? { announcement: target } : {}),
    ...(sunset ? { clientAuthSunset: { date: sunset.date, authority: sunset.authority } } : {}),
  };
  if (options.json) {
    printJson(ctx, 'upstream-import-client-cert', result);
    if (warning) ctx.err(warning);
    return;
  }
  ctx.out(
    `imported ${result.name} ${result.version}: "${result.subject}" (${shortFingerprint(result.fingerprintSha256)}) until ${result.notAfter}` +
      (target
        ? `; attached to ${target}`
        : '; no announcement ahead: run certrotor upstream announce to schedule its rollout'),
  );
  if (warning) ctx.err(warning);
}

// ---------------------------------------------------------------------------------------------
// watch
// ---------------------------------------------------------------------------------------------

async function watch(ctx: CliContext, options: CommonOptions): Promise<void> {
  const runtime = await runtimeFor(ctx, { ...options, json: true });
  // Alerts go through the notification outbox like every other command's (bounded wait after the action).
  const notifications = cliNotifications(runtime, ctx);
  const report = await runUpstreamWatch(
    runtime,
    ctx,
    notifications.enabled ? notifications.notify : undefined,
  );
  if (options.json) {
    printJson(ctx, 'upstream-watch', {
      at: ctx.clock().toISOString(),
      upstreams: report.upstreams.map((u) => ({
        upstream: u.upstream,
        delivered: u.delivered,
        retired: u.retired,
        announcements: u.announcements.map((a) => ({
          ...statusJson(a),
          ...cutoverVerdicts(a, ctx.clock()),
        })),
      })),
      events: report.events,
      failures: report.failures,
    });
  } else {
    const lines = renderWatch(report, ctx.clock());
    ctx.out(lines.length > 0 ? lines.join('\n') : 'no announcements');
    for (const e of report.events) ctx.out(`event  ${e.detailType}: ${String(e.detail.summary ?? '')}`);
    for (const f of report.failures) ctx.out(`failure ${f.what}: ${f.error}`);
  }
  if (report.failures.length > 0) ctx.exitCode = 1;
  // A consumer still not ready after its deadline is an outage in waiting: cron and CI see it.
  if (report.upstreams.some((u) => u.announcements.some((a) => a.stage === 'overdue'))) ctx.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

async function status(ctx: CliContext, name: string | undefined, options: CommonOptions): Promise<void> {
  const runtime = await runtimeFor(ctx, { ...options, json: true });
  const config = runtime.config;
  const chosen = name ? [findUpstream(config, name)] : config.upstreams;
  const deps = localUpstreamDeps(runtime, ctx);
  const report: { upstream: string; announcements?: AnnouncementStatus[]; error?: string }[] = [];
  for (const upstream of chosen) {
    try {
      const spec = await upstreamSpec(config, upstream, runtime.destinations);
      report.push({ upstream: upstream.name, announcements: await upstreamStatus(deps, spec) });
    } catch (error) {
      report.push({ upstream: upstream.name, error: describeError(error) });
    }
  }
  const failed = report.some((r) => r.error !== undefined);
  const overdue = report.some((r) => r.announcements?.some((a) => a.stage === 'overdue'));
  if (failed || overdue) ctx.exitCode = 1;
  if (options.json) {
    printJson(ctx, 'upstream-status', {
      at: ctx.clock().toISOString(),
      upstreams: report.map((r) => ({
        upstream: r.upstream,
        ...(r.error ? { error: r.error } : {}),
        announcements: (r.announcements ?? []).map(statusJson),
      })),
    });
    return;
  }
  ctx.out(renderStatus(report));
}

/** Once the cutover has passed: per consumer, whether it connects with the new material, and why not. */
function cutoverVerdicts(s: AnnouncementStatus, now: Date) {
  if (!s.cutover || Date.parse(s.cutover) > now.getTime()) return {};
  return {
    afterCutover: s.consumers.map((c) => ({
      consumer: c.consumer,
      connects: c.ready,
      ...(c.detail ? { reason: c.detail } : {}),
    })),
  };
}

function statusJson(s: AnnouncementStatus) {
  return {
    id: s.announcement.id,
    source: s.announcement.source,
    title: s.announcement.title,
    stage: s.stage,
    ...(s.cutover ? { cutover: s.cutover } : {}),
    ...(s.deadline ? { deadline: s.deadline } : {}),
    ...(s.announcement.needsReview ? { needsReview: true, reviewReasons: s.announcement.reviewReasons } : {}),
    consumers: s.consumers,
    ...(s.proof ? { proof: s.proof } : {}),
    findings: s.findings.map((f) => ({ kind: f.kind, severity: f.severity, message: f.message })),
  };
}

function renderStatus(
  report: readonly { upstream: string; announcements?: AnnouncementStatus[]; error?: string }[],
): string {
  if (report.length === 0) return 'no upstreams configured';
  const lines: string[] = [];
  for (const r of report) {
    if (r.error) {
      lines.push(`${r.upstream}: error: ${r.error}`);
      continue;
    }
    if (!r.announcements || r.announcements.length === 0) {
      lines.push(`${r.upstream}: no announcements`);
      continue;
    }
    for (const s of r.announcements) {
      const ready = s.consumers.filter((c) => c.ready).length;
      lines.push(
        `${r.upstream}: ${s.announcement.title} [${s.announcement.source}] ${s.stage}` +
          (s.deadline ? `, deadline ${s.deadline}` : '') +
          (s.cutover ? `, cutover ${s.cutover}` : '') +
          `, ${ready}/${s.consumers.length} consumers ready`,
      );
      if (s.announcement.needsReview)
        lines.push(`  needs review: ${s.announcement.reviewReasons.join('; ')}`);
      for (const c of s.consumers)
        lines.push(`  ${c.ready ? 'ready    ' : 'NOT READY'} ${c.consumer}: ${c.detail ?? ''}`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Composition
// ---------------------------------------------------------------------------------------------

function findUpstream(config: CertrotorConfig, name: string): UpstreamConfig {
  const upstream = config.upstreams.find((u) => u.name === name);
  if (!upstream) {
    const known = config.upstreams.map((u) => u.name).join(', ') || 'none';
    throw new InvalidInputError(`upstream ${name}: not in the configuration (configured: ${known})`);
  }
  return upstream;
}

function instant(flag: string, value: string): string {
  const parsed = parseRfc3339(value);
  if (!parsed.ok) throw new InvalidInputError(`${flag}: ${parsed.problem} (write e.g. 2026-12-01T14:00:00Z)`);
  return parsed.at;
}

function readInput(ctx: CliContext, path: string, flag: string): Buffer {
  try {
    return readFileSync(resolve(ctx.cwd, path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      `${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`}`,
      {
        cause: error,
      },
    );
  }
}

function localUpstreamDeps(runtime: Runtime, ctx: CliContext): UpstreamDeps {
  return {
    state: runtime.state,
    bundles: runtime.bundles,
    destinations: runtime.destinations,
    prober: runtime.prober,
    clientAuth: new NodeClientAuthProber(),
    feeds: new HttpFeedFetcher(),
    clock: ctx.clock,
  };
}

/**
 * One upstream watch over every configured upstream with the runtime's adapters (feeds, observation,
 * distribution to its destinations, events), as `certrotor run` and `upstream watch`
 * run it. An upstream whose configuration cannot be resolved is one failure; the others still run.
 */
export async function runUpstreamWatch(
  runtime: Runtime,
  ctx: CliContext,
  notify?: (events: readonly OutgoingEvent[]) => Promise<string[]>,
  options: { distribute?: boolean } = {},
): Promise<UpstreamWatchReport> {
  const { specs, failures } = await upstreamSpecs(runtime.config, runtime.destinations);
  const report = await watchUpstreams(
    {
      ...localUpstreamDeps(runtime, ctx),
      publisher: runtime.publisher,
      ownership: runtime.ownership,
      ...(notify ? { notify } : {}),
    },
    { upstreams: specs, ...(options.distribute === false ? { distribute: false } : {}) },
  );
  return { ...report, failures: [...failures, ...report.failures] };
}

/**
 * A few lines per upstream for humans: each announcement's stage and who is not ready; once `now` is
 * past the cutover, a verdict per consumer (connects with the new material, or fails and why).
 */
export function renderWatch(report: UpstreamWatchReport, now?: Date): string[] {
  const lines: string[] = [];
  for (const entry of report.upstreams) {
    for (const status of entry.announcements) {
      const ready = status.consumers.filter((c) => c.ready).length;
      lines.push(
        `upstream ${entry.upstream}: ${status.announcement.title} ${status.stage}` +
          (status.deadline ? `, deadline ${status.deadline}` : '') +
          `, ${ready}/${status.consumers.length} consumers ready`,
      );
      const delivered = entry.delivered[status.announcement.id];
      if (delivered && delivered.length > 0)
        lines.push(`  delivered new material to ${delivered.join(', ')}`);
      if (entry.retired.includes(status.announcement.id)) lines.push('  old material retired');
      for (const c of status.consumers.filter((x) => !x.ready))
        lines.push(`  NOT READY ${c.consumer}: ${c.detail ?? ''}`);
      if (now && status.cutover && Date.parse(status.cutover) <= now.getTime()) {
        for (const c of status.consumers)
          lines.push(
            c.ready
              ? `  after cutover: ${c.consumer} connects (${c.detail ?? 'ready'})`
              : `  after cutover: ${c.consumer} FAILS to connect: ${c.detail ?? 'not ready'}`,
          );
      }
    }
  }
  return lines;
}
