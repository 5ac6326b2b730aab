/**
 * `rotate`, `run` and `repair`: the CLI's in-process driver of the rotation engine
 * (lambda/use-cases/rotation/), with interrupts (Ctrl-C/SIGTERM roll back and exit 130), the lock's
 * holder recorded, and every event sent through the cycle's publisher and notifications.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { currentHolder } from '../adapters/local/process-holder';
import { InvalidInputError, describeError } from '../domain/errors';
import { eventSink, rotateWithEvents, runCycle } from '../use-cases/cycle';
import { repairRotation } from '../use-cases/rotation/repair';
import { acmRenewalSource } from '../wiring/acm-issuer';
import { withConfigOption } from './config-option';
import type { CliContext } from './context';
import { cycleDeps, scanInput } from './cycle-commands';
import { sendLocalDigests } from './notification-outbox';
import { type GateOptions, gate, parseFailOn, withFailOnOption } from './gate';
import { printJson } from './json-output';
import { printFailures, printFindings, printRotation } from './print';
import { type RehearsalOptions, applyRehearsal, withRehearsalOption } from './rehearsal';
import { type BackendOptions, runtimeFor, withBackendOptions } from './runtime-option';
import { renderWatch, runUpstreamWatch } from './upstream';

type CommonOptions = BackendOptions;

/**
 * Ctrl-C / SIGTERM during a rotation: no new work starts, every touched target is rolled back, the
 * lock is released and the command exits 130. A second signal exits at once; `repair` or the next run
 * then finishes or undoes the rotation.
 */
function onInterrupt(ctx: CliContext): { interrupted: () => boolean; stop: () => void } {
  let interrupted = false;
  const stop =
    ctx.onInterrupt?.((signal) => {
      interrupted = true;
      ctx.err(
        `certrotor: ${signal}: finishing the current step, then rolling back what was touched (again to exit at once)`,
      );
    }) ?? (() => undefined);
  return { interrupted: () => interrupted, stop };
}

export function registerRotationCommands(program: Command, ctx: CliContext): void {
  withBackendOptions(withConfigOption(program.command('rotate <name>')))
    .description(
      'issue → stage → distribute (canary first) → verify every host → promote; roll back on failure',
    )
    .option('--dry-run', 'say what would happen; change nothing')
    .option('--json', 'print JSON')
    .action(async (name: string, options: CommonOptions & { dryRun?: boolean }) => {
      const runtime = await runtimeFor(ctx, options);
      const spec = runtime.specs.find((s) => s.name === name);
      const configured = runtime.config.certificates.find((c) => c.name === name);
      if (!spec && configured)
        throw new InvalidInputError(
          `rotate ${name}: issued by ${configured.issuer}, an external issuer; the vendor supplies it (certrotor upstream import-client-cert) and the upstream watcher distributes it`,
        );
      if (!spec)
        throw new InvalidInputError(
          `rotate ${name}: no certificate named ${name} in the configuration (known: ${runtime.specs.map((s) => s.name).join(', ') || 'none'})`,
        );
      const deps = cycleDeps(runtime, ctx);
      const interrupt = onInterrupt(ctx);
      const rotated = await rotateWithEvents(deps, spec, {
        reason: 'manual',
        owner: `cli-${randomUUID()}`,
        dryRun: options.dryRun ?? false,
        interrupted: interrupt.interrupted,
        holder: currentHolder('rotate'),
      }).finally(interrupt.stop);
      const result = rotated.result;
      const failures = [...rotated.failures, ...(await deps.drainNotifications())];
      if (options.json) printJson(ctx, 'rotate', { rotation: result, failures });
      else printRotation(ctx, result);
      if (failures.length > 0) ctx.exitCode = 1;
      if (interrupt.interrupted()) ctx.exitCode = 130;
    });

  withFailOnOption(withRehearsalOption(withBackendOptions(withConfigOption(program.command('run')))))
    .description('one scheduled cycle: scan, then rotate whatever policy says is due')
    .option('--dry-run', 'scan and plan rotations without changing anything')
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & RehearsalOptions & GateOptions & { dryRun?: boolean }) => {
      parseFailOn(options.failOn);
      applyRehearsal(ctx, options);
      const runtime = await runtimeFor(ctx, options);
      // ACM's renewals decide when its certificates rotate, as in the deployed planner.
      const acm = acmRenewalSource(runtime.config, runtime.issuers);
      const deps = { ...cycleDeps(runtime, ctx), ...(acm ? { acm } : {}) };
      const interrupt = onInterrupt(ctx);
      const report = await runCycle(deps, {
        ...scanInput(runtime),
        owner: `run-${randomUUID()}`,
        dryRun: options.dryRun ?? false,
        interrupted: interrupt.interrupted,
        holder: currentHolder('run'),
      }).finally(interrupt.stop);
      // Upstream rotations are watched in the same cycle (the deployed service runs it on its own schedule).
      const upstreams =
        runtime.config.upstreams.length > 0
          ? await runUpstreamWatch(runtime, ctx, deps.notify, { distribute: !options.dryRun })
          : undefined;
      // Messages of this run go out first (one queue per webhook keeps the pacing), then a digest
      // that falls due on its schedule, with or without new findings in this run.
      const undelivered = await deps.drainNotifications();
      const digests = options.dryRun
        ? []
        : await sendLocalDigests(runtime, ctx).catch((error: unknown) => [describeError(error)]);
      const failures = [
        ...report.failures,
        ...(upstreams?.failures ?? []),
        ...undelivered,
        ...digests.map((error) => ({ what: 'digest', error })),
      ];
      if (options.json) {
        printJson(ctx, 'run', {
          at: ctx.clock().toISOString(),
          findings: report.scan.evaluation.findings,
          newFindings: report.scan.newFindings.length,
          events: report.scan.events.length + (upstreams?.events.length ?? 0),
          rotations: report.rotations,
          deferred: report.deferred,
          upstreams: upstreams?.upstreams.map((u) => ({
            upstream: u.upstream,
            delivered: u.delivered,
            retired: u.retired,
            announcements: u.announcements.map((a) => ({
              id: a.announcement.id,
              stage: a.stage,
              ...(a.deadline ? { deadline: a.deadline } : {}),
              consumers: a.consumers,
            })),
          })),
          failures,
        });
      } else {
        printFindings(
          ctx,
          report.scan.evaluation.findings,
          new Set(report.scan.newFindings.map((f) => f.dedupeKey)),
        );
        for (const r of report.rotations) printRotation(ctx, r);
        for (const d of report.deferred) ctx.out(`rotation ${d.name}: DEFERRED — ${d.reason}`);
        if (upstreams) for (const line of renderWatch(upstreams)) ctx.out(line);
        printFailures(ctx, failures);
      }
      if (failures.length > 0) ctx.exitCode = 1;
      gate(ctx, options, [
        ...report.scan.evaluation.findings.map((f) => f.severity),
        ...(upstreams?.events.map((e) => String(e.detail.severity ?? '')) ?? []),
      ]);
      if (interrupt.interrupted()) ctx.exitCode = 130;
    });

  withBackendOptions(withConfigOption(program.command('repair <name>')))
    .description(
      'finish or undo an interrupted rotation: promote it if every host was verified, otherwise restore every touched host to the previous version',
    )
    .option('--force-unlock', 'break the rotation lock first (only when its holder is known to be gone)')
    .option('--json', 'print JSON')
    .action(async (name: string, options: CommonOptions & { forceUnlock?: boolean }) => {
      const runtime = await runtimeFor(ctx, options);
      const spec = runtime.specs.find((s) => s.name === name);
      if (!spec)
        throw new InvalidInputError(
          `repair ${name}: no certificate named ${name} in the configuration (known: ${runtime.specs.map((s) => s.name).join(', ') || 'none'})`,
        );
      const deps = cycleDeps(runtime, ctx);
      const { sink, failures } = eventSink(deps);
      const repaired = await repairRotation({ ...deps.rotation, events: sink }, spec, {
        owner: `repair-${randomUUID()}`,
        holder: currentHolder('repair'),
        ...(options.forceUnlock ? { forceUnlock: true } : {}),
      });
      failures.push(...(await deps.drainNotifications()));
      if (!repaired.repaired) {
        if (options.json) printJson(ctx, 'repair', { repaired: false, reason: repaired.reason });
        else ctx.out(`repair ${name}: ${repaired.reason}`);
        // Nothing to repair is a clean state; a refusal (lock held by a live rotation) is not.
        if (!/no interrupted rotation/.test(repaired.reason)) ctx.exitCode = 1;
        return;
      }
      if (options.json) printJson(ctx, 'repair', { repaired: true, rotation: repaired.result, failures });
      else {
        printRotation(ctx, repaired.result);
        printFailures(ctx, failures);
      }
      if (repaired.result.status !== 'succeeded' && repaired.result.status !== 'rolled-back')
        ctx.exitCode = 1;
    });
}
