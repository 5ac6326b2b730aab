/**
 * Inhibition during incidents. A silence quiets repeated alerts for a scope (a certificate, an
 * environment, an owner, an upstream; glob patterns allowed) between `from` and `until`. Whatever is
 * silenced, an alert about something that will expire (a certificate's notAfter, an upstream deadline)
 * inside the silence window still gets through: a silence must never hide the next outage.
 *
 * An inhibited alert is not "sent": callers must not record its deduplication key, so that the alert
 * fires once the silence ends if the situation persists.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from './errors';
import type { Finding } from './findings';

export const SILENCE_SCOPE_KINDS = ['certificate', 'environment', 'owner', 'upstream'] as const;
export type SilenceScopeKind = (typeof SILENCE_SCOPE_KINDS)[number];

/** One condition, e.g. `environment=staging` or `certificate=api-*`. */
export interface SilenceMatcher {
  readonly kind: SilenceScopeKind;
  /** Glob: `*` any run of characters, `?` one character; case-insensitive. */
  readonly pattern: string;
}

export interface Silence {
  /** Stable id (see `silenceId`), used as the state store key. */
  readonly id: string;
  /** Every matcher must hold (AND): `certificate=api` + `environment=staging` silences api in staging only. */
  readonly scope: readonly SilenceMatcher[];
  /**
   * ISO 8601 UTC. Absent for an open-ended silence from configuration: it is active from the start,
   * and lets through what will expire (after now) before `until`; what already expired stays quiet.
   */
  readonly from?: string;
  readonly until: string;
  /** Why, in the operator's words (an incident id, a ticket). Shown in reports. */
  readonly reason: string;
  readonly createdBy?: string;
}

/** What a silence is compared with: built from a finding or an event by the caller. */
export interface AlertSubject {
  /** Managed certificate name(s) and other names the certificate is known by (subject CN, DNS names). */
  readonly certificates?: readonly string[];
  /** Every environment affected. An alert is inhibited only when every one of them is silenced. */
  readonly environments: readonly string[];
  readonly owners?: readonly string[];
  readonly upstream?: string;
  /** When the thing warned about happens (certificate notAfter, upstream deadline): ISO 8601. */
  readonly expiresAt?: string;
}

export type InhibitionDecision =
  | {
      readonly inhibited: true;
      /** The silences that together cover the alert. */
      readonly silences: readonly Silence[];
      readonly reason: string;
    }
  | {
      readonly inhibited: false;
      /** Silences that matched but were overridden because the subject expires inside their window. */
      readonly overriddenBy?: readonly Silence[];
      readonly reason: string;
    };

/** Decides whether an alert about `subject` is inhibited at `now`; the decision says why either way. */
export function isInhibited(
  subject: AlertSubject,
  silences: readonly Silence[],
  now: Date,
): InhibitionDecision {
  const at = now.getTime();
  const active = silences.filter((s) => startOf(s) <= at && at < Date.parse(s.until));
  // No silence is active now.
  if (active.length === 0) return { inhibited: false, reason: 'no active silence' };

  const matching = active
    .map((silence) => ({ silence, covers: coveredEnvironments(silence, subject) }))
    .filter((m) => m.covers !== undefined);
  // None of the active silences matches this subject.
  if (matching.length === 0) return { inhibited: false, reason: 'no silence matches' };

  const expiresAt = subject.expiresAt === undefined ? Number.NaN : Date.parse(subject.expiresAt);
  const overridden = matching.filter((m) => expiresInside(expiresAt, m.silence, at));
  const effective = matching.filter((m) => !expiresInside(expiresAt, m.silence, at));
  // It expires inside every matching silence's window: it gets through.
  if (effective.length === 0) {
    return {
      inhibited: false,
      overriddenBy: overridden.map((m) => m.silence),
      reason: `expires ${subject.expiresAt} inside the silence window of ${describeSilences(overridden.map((m) => m.silence))}`,
    };
  }

  const silenced = new Set<string>();
  const used: Silence[] = [];
  for (const { silence, covers } of effective) {
    const adds = (covers as readonly string[]).filter((env) => !silenced.has(env));
    if (adds.length > 0 || (subject.environments.length === 0 && used.length === 0)) used.push(silence);
    adds.forEach((env) => silenced.add(env));
  }
  const open = subject.environments.filter((env) => !silenced.has(env));
  // Some environment is not silenced: the alert still matters there.
  if (open.length > 0) {
    return {
      inhibited: false,
      ...(overridden.length > 0 ? { overriddenBy: overridden.map((m) => m.silence) } : {}),
      reason: `not silenced in ${open.join(', ')}`,
    };
  }
  return { inhibited: true, silences: used, reason: `silenced by ${describeSilences(used)}` };
}

/**
 * The subject environments a silence covers, or undefined when it does not match the subject at all.
 * Non-environment matchers match or not as a whole; environment matchers narrow the environments.
 */
function coveredEnvironments(silence: Silence, subject: AlertSubject): readonly string[] | undefined {
  let covered: readonly string[] = subject.environments;
  for (const matcher of silence.scope) {
    const matches = globMatcher(matcher.pattern);
    switch (matcher.kind) {
      case 'environment':
        covered = covered.filter(matches);
        if (covered.length === 0) return undefined;
        break;
      case 'certificate':
        if (!(subject.certificates ?? []).some(matches)) return undefined;
        break;
      case 'owner':
        if (!(subject.owners ?? []).some(matches)) return undefined;
        break;
      case 'upstream':
        if (subject.upstream === undefined || !matches(subject.upstream)) return undefined;
        break;
    }
  }
  return covered;
}

function startOf(silence: Silence): number {
  return silence.from === undefined ? Number.NEGATIVE_INFINITY : Date.parse(silence.from);
}

/** Expires within the window: between its start (or, open-ended, now) and its end. */
function expiresInside(expiresAt: number, silence: Silence, now: number): boolean {
  if (Number.isNaN(expiresAt)) return false;
  const from = silence.from === undefined ? now : startOf(silence);
  return from <= expiresAt && expiresAt < Date.parse(silence.until);
}

function describeSilences(silences: readonly Silence[]): string {
  return silences.map((s) => `${formatScope(s.scope)} until ${s.until} (${s.reason})`).join('; ');
}

/** `*` any run, `?` one character, everything else literal; whole-string, case-insensitive. */
export function globMatcher(pattern: string): (value: string) => boolean {
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`, 'i');
  return (value) => regex.test(value);
}

/**
 * Parses `kind=pattern` as the CLI and configuration write it; several separated by commas or given
 * as an array are ANDed: `certificate=api-*,environment=prod`.
 * @throws InvalidInputError naming the text and what is wrong
 */
export function parseSilenceScope(text: string | readonly string[]): SilenceMatcher[] {
  const parts = (typeof text === 'string' ? [text] : text)
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (parts.length === 0) {
    throw new InvalidInputError(`silence scope: empty (write e.g. certificate=api-*, environment=staging)`);
  }
  return parts.map((part) => {
    const eq = part.indexOf('=');
    const kind = eq < 0 ? '' : part.slice(0, eq).trim().toLowerCase();
    const pattern = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!(SILENCE_SCOPE_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidInputError(
        `silence scope "${part}": expected ${SILENCE_SCOPE_KINDS.map((k) => `${k}=PATTERN`).join(', ')}`,
      );
    }
    if (pattern === '') throw new InvalidInputError(`silence scope "${part}": empty pattern`);
    return { kind: kind as SilenceScopeKind, pattern };
  });
}

export function formatScope(scope: readonly SilenceMatcher[]): string {
  return scope.map((m) => `${m.kind}=${m.pattern}`).join(',');
}

/** Same scope and window → same id, so creating a silence twice is idempotent. */
export function silenceId(scope: readonly SilenceMatcher[], from: string | undefined, until: string): string {
  const canonical = [...scope]
    .map((m) => `${m.kind}=${m.pattern.toLowerCase()}`)
    .sort()
    .join(',');
  return createHash('sha256')
    .update(`${canonical}\n${from ?? 'always'}\n${until}`)
    .digest('hex')
    .slice(0, 16);
}

export interface SilenceInput {
  readonly scope: string | readonly string[] | readonly SilenceMatcher[];
  /** ISO 8601; @default now */
  readonly from?: string;
  readonly until: string;
  readonly reason: string;
  readonly createdBy?: string;
}

/**
 * Validates and normalises a silence from the CLI, configuration or an event.
 * @throws InvalidInputError naming the field and what is wrong
 */
export function createSilence(input: SilenceInput, now: Date): Silence {
  const scope =
    typeof input.scope === 'string' || (input.scope.length > 0 && typeof input.scope[0] === 'string')
      ? parseSilenceScope(input.scope as string | readonly string[])
      : parseSilenceScope((input.scope as readonly SilenceMatcher[]).map((m) => `${m.kind}=${m.pattern}`));
  const from = input.from === undefined ? now.getTime() : Date.parse(input.from);
  if (Number.isNaN(from))
    throw new InvalidInputError(`silence from: "${input.from}" is not an ISO 8601 time`);
  const until = Date.parse(input.until);
  if (Number.isNaN(until))
    throw new InvalidInputError(`silence until: "${input.until}" is not an ISO 8601 time`);
  if (until <= from) {
    throw new InvalidInputError(
      `silence until: ${input.until} is not after from ${new Date(from).toISOString()}`,
    );
  }
  if (input.reason.trim() === '')
    throw new InvalidInputError('silence reason: empty (say why, e.g. an incident id)');
  const fromIso = new Date(from).toISOString();
  const untilIso = new Date(until).toISOString();
  return {
    id: silenceId(scope, fromIso, untilIso),
    scope,
    from: fromIso,
    until: untilIso,
    reason: input.reason.trim(),
    ...(input.createdBy !== undefined ? { createdBy: input.createdBy } : {}),
  };
}

/** Silences still worth keeping at `now` (active or future); expired ones can be dropped. */
export function liveSilences(silences: readonly Silence[], now: Date): Silence[] {
  return silences.filter((s) => Date.parse(s.until) > now.getTime());
}

/**
 * The subject of a finding: its managed name, subject CN and location-free identity, its environments,
 * and when it expires (the certificate's notAfter, or an upstream `deadline` in the details).
 */
export function alertSubjectOfFinding(finding: Finding, owners: readonly string[] = []): AlertSubject {
  const certificates: string[] = [];
  if (finding.certificate?.name) certificates.push(finding.certificate.name);
  const cn = finding.certificate ? /(?:^|,\s*)CN=([^,]+)/.exec(finding.certificate.subject)?.[1] : undefined;
  if (cn) certificates.push(cn.trim());
  const upstream = typeof finding.details.upstream === 'string' ? finding.details.upstream : undefined;
  const deadline = typeof finding.details.deadline === 'string' ? finding.details.deadline : undefined;
  const expiresAt = deadline ?? finding.certificate?.notAfter;
  return {
    certificates,
    environments: finding.environments,
    owners,
    ...(upstream !== undefined ? { upstream } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  };
}

/** A silence as configuration writes it (`silences[]`): `from` absent means open-ended. */
export interface ConfiguredSilence {
  readonly scope: string | readonly string[];
  readonly from?: string;
  readonly until: string;
  readonly reason: string;
  readonly createdBy?: string;
}

/**
 * Silences from configuration (already validated by the configuration schema); one without `from` is
 * open-ended (see `Silence.from`).
 * @throws InvalidInputError naming `silences[i]` when one is not valid after all
 */
export function silencesFromConfig(configured: readonly ConfiguredSilence[]): Silence[] {
  return configured.map((entry, index) => {
    try {
      const scope = parseSilenceScope(entry.scope);
      const until = new Date(Date.parse(entry.until));
      if (Number.isNaN(until.getTime()))
        throw new InvalidInputError(`until: "${entry.until}" is not an ISO 8601 time`);
      if (entry.from !== undefined) {
        return createSilence({ ...entry, scope }, new Date(Date.parse(entry.from)));
      }
      const untilIso = until.toISOString();
      return {
        id: silenceId(scope, undefined, untilIso),
        scope,
        until: untilIso,
        reason: entry.reason.trim(),
        ...(entry.createdBy !== undefined ? { createdBy: entry.createdBy } : {}),
      };
    } catch (error) {
      throw new InvalidInputError(`silences[${index}]: ${(error as Error).message}`, { cause: error });
    }
  });
}
