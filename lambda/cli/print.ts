/** How the cycle commands print findings, rotations and failures (text output). */
import { shortFingerprint } from '../domain/certificate';
import type { Finding } from '../domain/findings';
import type { RotationResult } from '../use-cases/rotation/finish';
import type { ScanFailure } from '../use-cases/scan';
import type { CliContext } from './context';

export function printFindings(
  ctx: CliContext,
  findings: readonly Finding[],
  fresh: ReadonlySet<string>,
): void {
  if (findings.length === 0) {
    ctx.out('findings: none');
    return;
  }
  ctx.out(
    `findings (${findings.length}, ${[...findings].filter((f) => fresh.has(f.dedupeKey)).length} new):`,
  );
  for (const f of findings) {
    const also = f.environments.length > 1 ? ` (in ${f.environments.join(', ')})` : '';
    ctx.out(
      `  ${f.severity.toUpperCase().padEnd(8)} ${f.kind.padEnd(20)} ${f.message}${also}${fresh.has(f.dedupeKey) ? '' : '  [already reported]'}`,
    );
  }
}

export function printRotation(ctx: CliContext, r: RotationResult): void {
  ctx.out(`rotation ${r.name} ${r.version}: ${r.status.toUpperCase()}${r.reason ? ` — ${r.reason}` : ''}`);
  if (r.newFingerprint)
    ctx.out(`  new certificate ${shortFingerprint(r.newFingerprint)} valid until ${r.newNotAfter}`);
  for (const t of r.targets)
    ctx.out(`  ${t.state.padEnd(16)} ${t.destination}/${t.target}${t.error ? `: ${t.error}` : ''}`);
  if (r.targets.length > 0) ctx.out(`  convergence ${r.convergence}%`);
}

export function printFailures(ctx: CliContext, failures: readonly ScanFailure[]): void {
  if (failures.length === 0) return;
  ctx.out(`failures (${failures.length}):`);
  for (const f of failures) ctx.out(`  ${f.what}: ${f.error}`);
}
