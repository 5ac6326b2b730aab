/**
 * `scan`, `status`, `plan` and `silence` (and, from rotation-commands.ts, `rotate`, `run` and
 * `repair`): the local cycle over the same use cases the Lambdas run. Every command accepts --config and --json, and exits non-zero when
 * anything failed (the summary names each failure).
 */
import type { Command } from 'commander';
import type { CertrotorConfig } from '../config/configuration';
import { scanSettings, thresholdScalingOf } from '../config/views/scan';
import { InvalidInputError } from '../domain/errors';
import { parseDuration } from '../domain/duration';
import {
  createSilence,
  liveSilences,
  silencesFromConfig,
  formatScope,
  type Silence,
} from '../domain/silences';
import { isLocalHolderGone } from '../adapters/local/process-holder';
import { acmeRenewalWindows } from '../wiring/acme';
import { COLLECTIONS, readCertificateState } from '../use-cases/certificate-state';
import { type CycleDeps, type ScanInput, scan } from '../use-cases/cycle';
import type { RotationDeps } from '../use-cases/rotation/spec';
import type { ScanFailure } from '../use-cases/scan';
import { withConfigOption } from './config-option';
import { printFailures, printFindings } from './print';
import { registerRotationCommands } from './rotation-commands';
import type { CliContext } from './context';
import type { Runtime } from './local-runtime';
import { type BackendOptions, runtimeFor, withBackendOptions } from './runtime-option';
import { formatTable } from './table';
import { cliNotifications, registerNotificationFinish } from './notification-outbox';
import { type RehearsalOptions, applyRehearsal, withRehearsalOption } from './rehearsal';
import { type GateOptions, gate, parseFailOn, withFailOnOption } from './gate';
import { inWords } from '../use-cases/evaluate';
import { identityLabel } from '../domain/findings';
import { printJson } from './json-output';
import { statusRows } from './status-rows';

export type { StatusRow } from './status-rows';

type CommonOptions = BackendOptions;

export function cycleDeps(
  runtime: Runtime,
  ctx: CliContext,
): CycleDeps & { rotation: RotationDeps; drainNotifications: () => Promise<ScanFailure[]> } {
  // Messages go through the outbox; the command's bounded wait for them runs after its action.
  const notifications = cliNotifications(runtime, ctx);
  return {
    // Kept for the actions: delivery problems are no command failures (see notification-outbox.ts).
    drainNotifications: async () => [],
    sources: runtime.sources ?? [],
    prober: runtime.prober,
    state: runtime.state,
    publisher: runtime.publisher,
    clock: ctx.clock,
    ownership: runtime.ownership,
    ...(notifications.enabled ? { notify: notifications.notify } : {}),
    renewalWindow: acmeRenewalWindows(runtime.issuers, runtime.bundles),
    rotation: {
      issuers: runtime.issuers,
      destinations: runtime.destinations,
      bundles: runtime.bundles,
      state: runtime.state,
      prober: runtime.prober,
      clock: ctx.clock,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      isHolderGone: isLocalHolderGone,
      onProgress: (p) => {
        // Waits are never silent on a terminal: nobody should press Ctrl-C in the dark.
        if (p.phase !== 'verifying' || !p.target) return;
        const line = `  waiting for ${p.target}: ${p.detail ?? ''}`;
        if (ctx.stderrIsTTY) ctx.err(line);
        else ctx.verbose?.(line);
      },
    },
  };
}

export function scanInput(runtime: Runtime): ScanInput {
  return {
    endpoints: runtime.endpoints,
    specs: runtime.specs,
    ...scanSettings(runtime.config),
    ...(runtime.endpointFailures ? { targetFailures: runtime.endpointFailures } : {}),
  };
}

export function registerCycleCommands(program: Command, ctx: CliContext): void {
  // After any command, the messages it produced get their bounded wait (see notification-outbox.ts).
  registerNotificationFinish(program, ctx);
  withFailOnOption(withRehearsalOption(withBackendOptions(withConfigOption(program.command('scan')))))
    .description('probe every endpoint and read every source; report new findings as events')
    .option('--json', 'print the report as JSON')
    .action(async (options: CommonOptions & RehearsalOptions & GateOptions) => {
      parseFailOn(options.failOn);
      applyRehearsal(ctx, options);
      const runtime = await runtimeFor(ctx, options);
      const deps = cycleDeps(runtime, ctx);
      const scanned = await scan(deps, scanInput(runtime));
      const report = { ...scanned, failures: [...scanned.failures, ...(await deps.drainNotifications())] };
      if (options.json) {
        printJson(ctx, 'scan', {
          at: ctx.clock().toISOString(),
          findings: report.evaluation.findings,
          newFindings: report.newFindings.length,
          events: report.events,
          failures: report.failures,
        });
      } else {
        printFindings(ctx, report.evaluation.findings, new Set(report.newFindings.map((f) => f.dedupeKey)));
        printFailures(ctx, report.failures);
      }
      if (report.failures.length > 0) ctx.exitCode = 1;
      gate(
        ctx,
        options,
        report.evaluation.findings.map((f) => f.severity),
      );
    });

  withFailOnOption(withRehearsalOption(withBackendOptions(withConfigOption(program.command('status')))))
    .description('one line per certificate and place: where, fingerprint, days left, state')
    .option('--json', 'print JSON')
    .option('--wide', 'print every cell whole, even wider than the terminal')
    .option('--group <identity>', 'identity: the same certificate (name, or subject and names) together')
    .action(
      async (
        options: CommonOptions & RehearsalOptions & GateOptions & { wide?: boolean; group?: string },
      ) => {
        parseFailOn(options.failOn);
        if (options.group !== undefined && options.group !== 'identity')
          throw new InvalidInputError(`--group ${options.group}: must be identity`);
        applyRehearsal(ctx, options);
        const runtime = await runtimeFor(ctx, { ...options, json: true });
        const now = ctx.clock();
        let rows = await statusRows(runtime, now);
        if (options.group === 'identity')
          rows = [...rows].sort((a, b) => (a.identity ?? '\uffff').localeCompare(b.identity ?? '\uffff'));
        if (options.json)
          printJson(ctx, 'status', {
            at: now.toISOString(),
            rows: rows.map((r) => ({
              environment: r.environment,
              where: r.where,
              certificate: r.certificate,
              identity: r.identity ?? null,
              fingerprintSha256: r.fingerprintSha256 ?? null,
              notAfter: r.notAfter ?? null,
              daysLeft: r.days ?? null,
              severity: r.severity,
              state: r.state,
              ...(r.clientAuthSunset
                ? {
                    clientAuthSunset: {
                      date: r.clientAuthSunset.date,
                      authority: r.clientAuthSunset.authority,
                    },
                  }
                : {}),
            })),
          });
        else if (options.group === 'identity')
          printTable(
            ctx,
            ['IDENTITY', 'ENVIRONMENT', 'WHERE', 'FINGERPRINT', 'DAYS LEFT', 'STATE'],
            rows.map((r) => [
              r.identity ? identityLabel(r.identity) : r.certificate,
              r.environment,
              r.where,
              r.fingerprint,
              r.daysLeft,
              r.state,
            ]),
            { wide: options.wide === true, shrink: [0, 2] },
          );
        else
          printTable(
            ctx,
            ['ENVIRONMENT', 'WHERE', 'CERTIFICATE', 'FINGERPRINT', 'DAYS LEFT', 'STATE'],
            rows.map((r) => [r.environment, r.where, r.certificate, r.fingerprint, r.daysLeft, r.state]),
            { wide: options.wide === true, shrink: [1, 2] },
          );
        gate(
          ctx,
          options,
          rows.map((r) => r.severity),
        );
      },
    );

  withRehearsalOption(withBackendOptions(withConfigOption(program.command('plan'))))
    .description('what will need renewing or acting on within the horizon, and why; changes nothing')
    .option('--horizon <duration>', 'look this far ahead', '30d')
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & RehearsalOptions & { horizon: string }) => {
      const horizonMs = parseDuration(options.horizon, '--horizon');
      applyRehearsal(ctx, options);
      const runtime = await runtimeFor(ctx, { ...options, json: true });
      const now = ctx.clock();
      const later = new Date(now.getTime() + horizonMs);
      const deps = {
        ...cycleDeps(runtime, ctx),
        clock: () => later,
        publisher: { name: 'none', publish: async () => ({ published: 0, failed: [] }) },
      };
      // Evaluate as of the end of the horizon, without recording anything.
      const { gatherObservations } = await import('../use-cases/scan');
      const { evaluate } = await import('../use-cases/evaluate');
      const { observations, failures } = await gatherObservations(deps, runtime.endpoints, {
        concurrency: runtime.config.probe.concurrency,
      });
      const managed = await Promise.all(
        runtime.specs.map(async (s) => {
          const stored = await readCertificateState(runtime.state, s.name, now);
          return {
            name: s.name,
            environments: s.environments,
            renewal: runtime.config.certificates.find((c) => c.name === s.name)!.renewal,
            ...(stored ? { state: stored.value } : {}),
            endpoints: s.verify.map((v) => `${v.host}:${v.port}`),
          };
        }),
      );
      const evaluation = evaluate(
        observations,
        managed,
        {
          thresholds: runtime.config.notifications.thresholds,
          thresholdScaling: thresholdScalingOf(runtime.config),
        },
        later,
      );
      // Said as of now, in the future tense: what will happen within the horizon, and when.
      const when = (iso: string | undefined) => {
        if (!iso) return 'now';
        const ms = Date.parse(iso) - now.getTime();
        return ms <= 0 ? 'now' : `in ${inWords(ms)} (${iso})`;
      };
      const actions = [
        ...evaluation.renewals
          .filter((r) => r.due)
          .map((r) =>
            r.basis === 'none'
              ? {
                  what: `issue ${r.name}`,
                  when: now.toISOString(),
                  severity: 'warning' as const,
                  why: `never issued: issue it now (certrotor rotate ${r.name})`,
                }
              : {
                  what: `rotate ${r.name}`,
                  when: r.renewAt && Date.parse(r.renewAt) > now.getTime() ? r.renewAt : now.toISOString(),
                  severity: 'info' as const,
                  why: `renewal due ${when(r.renewAt)}${r.notAfter ? `; the current certificate ${Date.parse(r.notAfter) < now.getTime() ? `expired ${inWords(now.getTime() - Date.parse(r.notAfter))} ago` : `expires in ${inWords(Date.parse(r.notAfter) - now.getTime())}`}` : ''}`,
                  ...(r.notAfter ? { notAfter: r.notAfter } : {}),
                },
          ),
        ...evaluation.findings
          .filter((f) => f.kind !== 'renewal-due')
          .map((f) => {
            const notAfter = f.certificate?.notAfter;
            const label = f.certificate?.name ?? f.certificate?.subject ?? f.kind;
            const left = notAfter ? Date.parse(notAfter) - now.getTime() : undefined;
            const where = f.environments.length > 0 ? ` in ${f.environments.join(', ')}` : '';
            return {
              what:
                left === undefined
                  ? f.kind
                  : left < 0
                    ? 'expired'
                    : f.kind === 'expired'
                      ? 'will expire'
                      : 'will be expiring',
              when: notAfter ?? now.toISOString(),
              severity: f.severity,
              why:
                left === undefined
                  ? f.message
                  : left < 0
                    ? `${label} expired ${inWords(-left)} ago${where}: replace it now`
                    : `${label} will expire in ${inWords(left)} (${notAfter})${where}`,
              ...(notAfter ? { notAfter } : {}),
              ...(left !== undefined ? { daysLeft: Math.floor(left / 86_400_000) } : {}),
            };
          }),
      ];
      if (options.json)
        printJson(ctx, 'plan', {
          at: now.toISOString(),
          horizon: options.horizon,
          until: later.toISOString(),
          actions,
          failures,
        });
      else {
        ctx.out(`within ${options.horizon} (until ${later.toISOString()}):`);
        if (actions.length === 0) ctx.out('  nothing to do');
        for (const a of actions) ctx.out(`  ${a.what.padEnd(28)} ${a.why}`);
        printFailures(ctx, failures);
      }
      if (failures.length > 0) ctx.exitCode = 1;
    });

  registerRotationCommands(program, ctx);

  const silence = withBackendOptions(withConfigOption(program.command('silence')))
    .description(
      'suppress repeated alerts for a scope until a time; anything expiring inside the window still alerts (also: silence list, silence lift <id>)',
    )
    .option('--scope <matchers>', 'e.g. environment=staging,certificate=api-* (required)')
    .option('--until <time>', 'ISO 8601 time, or a duration from now such as 4h (required)')
    .option('--reason <text>', 'why (incident id, ticket) (required)')
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { scope?: string; until?: string; reason?: string }) => {
      const missing = (['scope', 'until', 'reason'] as const).filter((k) => options[k] === undefined);
      if (missing.length > 0)
        throw new InvalidInputError(
          `silence: ${missing.map((k) => `--${k}`).join(', ')} required (or: certrotor silence list, certrotor silence lift <id>)`,
        );
      const runtime = await runtimeFor(ctx, { ...options, json: true });
      const now = ctx.clock();
      const until = /^\d{4}-/.test(options.until!)
        ? options.until!
        : new Date(now.getTime() + parseDuration(options.until!, '--until')).toISOString();
      const created = createSilence(
        { scope: options.scope!, until, reason: options.reason!, createdBy: ctx.env.USER ?? 'cli' },
        now,
      );
      await runtime.state.put(COLLECTIONS.silences, created.id, created, now, {
        expiresAt: new Date(Date.parse(created.until)),
      });
      if (options.json) printJson(ctx, 'silence', { silence: created });
      else
        ctx.out(
          `silenced ${formatScope(created.scope)} until ${created.until} (${created.reason}); id ${created.id}`,
        );
    });

  withBackendOptions(withConfigOption(silence.command('list')))
    .description('the silences in force: stored ones (liftable by id) and those in the configuration')
    .option('--json', 'print JSON')
    .action(async (local: CommonOptions & { json?: boolean }) => {
      // `--json` after `silence list` may be parsed as the parent's option: both count.
      const options = {
        ...local,
        json: local.json === true || silence.opts<{ json?: boolean }>().json === true,
      };
      const runtime = await runtimeFor(ctx, { ...options, json: true });
      const now = ctx.clock();
      const stored = liveSilences(
        (await runtime.state.list<Silence>(COLLECTIONS.silences, now)).map((i) => i.value),
        now,
      );
      const configured = liveSilences(silencesFromConfig(runtime.config.silences), now);
      const rows = [
        ...stored.map((s) => ({ ...s, origin: 'stored' as const })),
        ...configured.map((s) => ({ ...s, origin: 'configuration' as const })),
      ];
      if (options.json) {
        printJson(ctx, 'silence-list', { at: now.toISOString(), silences: rows });
        return;
      }
      if (rows.length === 0) {
        ctx.out('no silences in force');
        return;
      }
      printTable(
        ctx,
        ['ID', 'SCOPE', 'UNTIL', 'ORIGIN', 'REASON'],
        rows.map((r) => [r.id, formatScope(r.scope), r.until, r.origin, r.reason]),
      );
    });

  withBackendOptions(withConfigOption(silence.command('lift <id>')))
    .description('end a stored silence now (a silence from the configuration is lifted by editing it)')
    .option('--json', 'print JSON')
    .action(async (id: string, local: CommonOptions & { json?: boolean }) => {
      const options = {
        ...local,
        json: local.json === true || silence.opts<{ json?: boolean }>().json === true,
      };
      const runtime = await runtimeFor(ctx, { ...options, json: true });
      const now = ctx.clock();
      const found = await runtime.state.get<Silence>(COLLECTIONS.silences, id, now);
      if (!found) {
        const inConfig = silencesFromConfig(runtime.config.silences).some((s) => s.id === id);
        throw new InvalidInputError(
          inConfig
            ? `silence lift ${id}: this silence is in the configuration file (silences:); remove it there`
            : `silence lift ${id}: no silence in force with this id (see certrotor silence list)`,
        );
      }
      await runtime.state.delete(COLLECTIONS.silences, id);
      if (options.json) printJson(ctx, 'silence-lift', { lifted: found.value });
      else ctx.out(`lifted ${formatScope(found.value.scope)} (${found.value.reason})`);
    });
}

/** On a terminal the table fits its width (`shrink`: the columns that may be cut); `--wide` never cuts. */
function printTable(
  ctx: CliContext,
  header: string[],
  rows: string[][],
  fit: { wide?: boolean; shrink?: number[] } = {},
): void {
  const maxWidth = fit.wide ? undefined : ctx.columns;
  for (const line of formatTable(header, rows, {
    ...(maxWidth !== undefined ? { maxWidth } : {}),
    ...(fit.shrink ? { shrink: fit.shrink } : {}),
  }))
    ctx.out(line);
}

export type { CertrotorConfig };
