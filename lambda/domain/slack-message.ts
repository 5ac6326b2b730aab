/**
 * Slack Block Kit messages for every detail type in the event catalogue, and the daily digest. Pure:
 * time and configuration are parameters. Each message says what happened, which certificate (names,
 * subject, fingerprint prefix), where (every environment and place), how long is left, who owns it
 * (mentioned when the alert escalates), what to do next, and links the runbook for that finding.
 *
 * Every message stays within Slack's limits whatever the input: at most 50 blocks, 3,000 characters
 * per section text, 10 fields per section, 150 characters per header; long lists end "…and N more".
 */
import { DAY_MS, shortFingerprint } from './certificate';
import { HOUR_MS, MINUTE_MS, parseDuration } from './duration';
import {
  type CatalogueEvent,
  type CertificateRef,
  DETAIL_TYPES,
  type DetailTypeName,
  type EventDetail,
  type EventLocation,
  slugOf,
} from './events';
import type { ChatMessage } from './ports';
import { CRITICAL_DAYS } from './thresholds';

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/** Slack's documented Block Kit limits, and the fallback text length we allow ourselves. */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  url: 3000,
  /** Slack truncates `text` far later (40,000); notifications show only the start anyway. */
  fallbackText: 3000,
} as const;

type Block = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

export interface SlackMessageOptions {
  /** Time-left is computed against this. */
  readonly now: Date;
  /**
   * Runbook for a detail type when the event carries no `runbookUrl`: `<base>/<detail-type-slug>`
   * (e.g. `…/certificate-expiring`).
   */
  readonly runbookBaseUrl?: string;
  /** Runbook of the certificate, upstream or endpoint from configuration; used when the event carries none. */
  readonly runbookUrl?: string;
  /** Owner when the event names none (e.g. resolved from configuration by routing). */
  readonly owner?: string;
  /** How to mention the owner group when escalating: `<!subteam^S0123>`, `<@U0123>`, `<!here>`. */
  readonly ownerMention?: string;
  /** Mention the owner at or below this many days (or hours, fractional) left. @default 3 */
  readonly escalateAtDays?: number;
  /** Items shown per list before "…and N more". @default 15 */
  readonly maxListItems?: number;
}

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/** Escapes the three characters Slack treats as control characters in mrkdwn and plain text. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code that cannot be broken out of by a backtick in the value. */
function code(text: string): string {
  return `\`${escapeText(text).replace(/`/g, "'")}\``;
}

function bold(text: string): string {
  return `*${escapeText(text).replace(/\*/g, '∗')}*`;
}

/** Cuts `text` to `max` characters, ending in `…` when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * As many lines as fit in `maxChars` and `maxItems`, then `…and N more`: long lists never break a limit
 * and always say how much was left out.
 */
export function summariseList(
  lines: readonly string[],
  maxChars: number,
  maxItems = Number.POSITIVE_INFINITY,
  noun = '',
): string {
  const more = (n: number) => `…and ${n} more${noun ? ` ${noun}${n === 1 ? '' : 's'}` : ''}`;
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const remaining = lines.length - i - 1;
    const tail = remaining > 0 ? more(remaining).length + 1 : 0;
    const line = truncate(lines[i] as string, Math.max(40, Math.floor(maxChars / 3)));
    const cost = line.length + (out.length > 0 ? 1 : 0);
    if (out.length >= maxItems || used + cost + tail > maxChars)
      return [...out, more(lines.length - i)].join('\n');
    out.push(line);
    used += cost;
  }
  return out.join('\n');
}

/** `2026-03-14 12:00 UTC` */
export function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** `13 days left`, `5 hours left`, `40 minutes left`, `expired 2 days ago`: hours once under two days. */
export function describeTimeLeft(remainingMs: number): string {
  const abs = Math.abs(remainingMs);
  let amount: string;
  if (abs >= 2 * DAY_MS) amount = plural(Math.floor(abs / DAY_MS), 'day');
  else if (abs >= HOUR_MS) amount = plural(Math.floor(abs / HOUR_MS), 'hour');
  else amount = plural(Math.max(1, Math.ceil(abs / MINUTE_MS)), 'minute');
  return remainingMs >= 0 ? `${amount} left` : `expired ${amount} ago`;
}

function remainingMsUntil(iso: string | undefined, now: Date): number | undefined {
  if (iso === undefined) return undefined;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? undefined : at - now.getTime();
}

// ---------------------------------------------------------------------------------------------
// Message parts: what each detail type contributes; one renderer lays them out
// ---------------------------------------------------------------------------------------------

interface ListPart {
  readonly title: string;
  readonly lines: readonly string[];
}

interface MessageParts {
  /** Plain text, no emoji: `Certificate expiring: api-public`. */
  readonly title: string;
  /** Mrkdwn paragraph: what happened. */
  readonly what: string;
  /** Short name for the fallback text. */
  readonly subject: string;
  readonly certificate?: CertificateRef;
  readonly certificateLabel?: string;
  readonly previous?: CertificateRef;
  /** Time until the thing happens (certificate notAfter, deadline), for time-left and escalation. */
  readonly remainingMs?: number;
  readonly timeLeftLabel?: string;
  /** Extra fields (label → mrkdwn value). */
  readonly fields?: readonly (readonly [string, string])[];
  /** Where: one line per place. */
  readonly where: readonly string[];
  readonly lists?: readonly ListPart[];
  /** Mrkdwn: a concrete next step. */
  readonly next: string;
  /** Escalate regardless of time left (e.g. a rollback that failed). */
  readonly escalate?: boolean;
  /** Time left decides escalation: at or below `escalateAtDays` the owner is mentioned. */
  readonly timeCritical?: boolean;
}

interface PartsContext {
  readonly now: Date;
}

type PartsBuilder<T extends DetailTypeName> = (detail: EventDetail<T>, ctx: PartsContext) => MessageParts;

function certLabel(certificate: CertificateRef | undefined, fallback = 'certificate'): string {
  if (!certificate) return fallback;
  return certificate.name ?? commonName(certificate.subject) ?? certificate.subject;
}

function commonName(subject: string): string | undefined {
  return /(?:^|,\s*)CN=([^,]+)/.exec(subject)?.[1]?.trim();
}

function locationLine(location: EventLocation): string {
  const extra: string[] = [];
  if (location.host && !location.location.includes(location.host)) {
    extra.push(location.port !== undefined ? `${location.host}:${location.port}` : location.host);
  }
  if (location.servername && !location.location.includes(location.servername))
    extra.push(`SNI ${location.servername}`);
  if (location.address && !location.location.includes(location.address)) extra.push(location.address);
  if (location.source) extra.push(`via ${location.source}`);
  return `• ${bold(location.environment)}: ${code(location.location)}${extra.length > 0 ? ` (${escapeText(extra.join(', '))})` : ''}`;
}

function hostLine(host: {
  target: string;
  environment?: string | undefined;
  destination?: string | undefined;
  reason?: string | undefined;
}): string {
  const where = [host.environment, host.destination].filter((s): s is string => s !== undefined);
  return `• ${code(host.target)}${where.length > 0 ? ` (${escapeText(where.join(', '))})` : ''}${host.reason ? `: ${escapeText(host.reason)}` : ''}`;
}

function consumerLine(consumer: {
  name: string;
  kind?: string | undefined;
  environment?: string | undefined;
  ready: boolean;
  reason?: string | undefined;
}): string {
  const about = [consumer.kind, consumer.environment].filter((s): s is string => s !== undefined);
  const state = consumer.ready ? 'ready' : 'NOT ready';
  return `• ${code(consumer.name)}${about.length > 0 ? ` (${escapeText(about.join(', '))})` : ''} ${state}${consumer.reason ? `: ${escapeText(consumer.reason)}` : ''}`;
}

function envLines(environments: readonly string[]): string[] {
  return environments.map((env) => `• ${bold(env)}`);
}

function rotateCommand(name: string | undefined): string {
  return name ? code(`certrotor rotate ${name}`) : code('certrotor rotate <name>');
}

function announcementFields(a: {
  cutover: string;
  deadline: string;
  windowStart?: string | undefined;
  source: string;
}): (readonly [string, string])[] {
  return [
    ...(a.windowStart ? ([['Window opens', escapeText(formatTime(a.windowStart))]] as const) : []),
    ['Cutover', escapeText(formatTime(a.cutover))],
    ['Deadline', escapeText(formatTime(a.deadline))],
    ['Announced via', escapeText(a.source)],
  ];
}

const PROBLEM_ADVICE: Readonly<Record<string, string>> = {
  'hostname-mismatch': 'serve a certificate whose names include the host name clients use (SNI)',
  'incomplete-chain':
    'configure the server to send the intermediate certificates (the full chain, leaf first)',
  'expired-in-chain':
    'replace the expired intermediate in the served chain with the current one from the issuer',
  'not-yet-valid': 'check the server and issuer clocks; reissue if notBefore is in the future by mistake',
  'weak-key': 'reissue with an EC P-256 key (or RSA 2048 or more) and install it',
  untrusted:
    'serve a chain that leads to a trusted root, or add the CA to the trust configuration on purpose',
  unreachable: 'check that the endpoint is up and reachable from certrotor (DNS, firewall, port)',
  'no-certificate': 'check the TLS configuration: the endpoint completed no handshake with a certificate',
};

const DRIFT_ADVICE: Readonly<Record<string, string>> = {
  'unexpected-certificate': 'find what installed the other certificate and redeliver the current version',
  'stale-file': 'redeliver the current version to the host (the agent re-pulls on demand)',
  'not-reloaded': 'reload the service on the host so it serves the file already installed',
  'agent-report-mismatch':
    'check the agent on the host: what it installed differs from what it reports serving',
  missing: 'install the current version on the host',
};

const partsBuilders: { readonly [T in DetailTypeName]: PartsBuilder<T> } = {
  'Certificate Expiring': (d, { now }) => {
    const label = certLabel(d.certificate);
    const remainingMs = remainingMsUntil(d.certificate.notAfter, now) ?? d.daysLeft * DAY_MS;
    const next = d.upstream
      ? `This is the certificate of upstream ${bold(d.upstream)}. Ask the vendor when they rotate it and record it with ${code(`certrotor upstream announce ${d.upstream} --window-start … --cutover …`)} so every consumer is made ready in time.`
      : d.managed
        ? `Rotate it now with ${rotateCommand(d.certificate.name)} (it goes to every place listed and is verified there). If a rotation already ran, the places listed still serve this version: check them with ${code('certrotor status')}.`
        : `certrotor does not manage this certificate. Renew it with its issuer${d.certificate.issuer ? ` (${escapeText(d.certificate.issuer)})` : ''} and install it at every place listed, or add it to certrotor's managed certificates.`;
    return {
      title: `Certificate expiring: ${label}`,
      subject: label,
      what: `${bold(label)} crossed the ${plural(d.threshold, 'day')} alert threshold: it expires ${escapeText(describeTimeLeft(remainingMs).replace(' left', ' from now'))}.`,
      certificate: d.certificate,
      remainingMs,
      where: d.locations.map(locationLine),
      next,
      fields: [['Managed', d.managed ? 'yes' : 'no']],
      timeCritical: true,
    };
  },
  'Certificate Expired': (d, { now }) => {
    const label = certLabel(d.certificate);
    const remainingMs = remainingMsUntil(d.expiredAt, now) ?? d.daysLeft * DAY_MS;
    return {
      title: `Certificate EXPIRED: ${label}`,
      subject: label,
      what: `${bold(label)} expired at ${escapeText(formatTime(d.expiredAt))} and is still in use at the places below. Clients that check validity fail to connect.`,
      certificate: d.certificate,
      remainingMs,
      where: d.locations.map(locationLine),
      next: d.upstream
        ? `This is upstream ${bold(d.upstream)}'s certificate: contact the vendor now, and tell consumers.`
        : d.managed
          ? `Replace it now: ${rotateCommand(d.certificate.name)}. Then confirm every place serves the new one with ${code('certrotor scan')}.`
          : `Replace it now at every place listed with a certificate from its issuer${d.certificate.issuer ? ` (${escapeText(d.certificate.issuer)})` : ''}; then bring it under certrotor management so this cannot repeat.`,
      fields: [['Managed', d.managed ? 'yes' : 'no']],
      escalate: true,
      timeCritical: true,
    };
  },
  'Renewal Due': (d, { now }) => {
    const remainingMs = remainingMsUntil(d.certificate.notAfter, now) ?? d.daysLeft * DAY_MS;
    const reasons: Record<string, string> = {
      'renewal-window': 'it reached its renewal time',
      expired: 'it has expired',
      'not-issued': 'it has never been issued',
      'names-changed': 'its configured names changed',
      'key-spec-changed': 'its configured key type changed',
      manual: 'a renewal was requested',
    };
    return {
      title: `Renewal due: ${d.name}`,
      subject: d.name,
      what: `${bold(d.name)} is due for renewal: ${escapeText(reasons[d.reason] ?? d.reason)} (renew at ${escapeText(formatTime(d.renewAt))}).`,
      certificate: d.certificate,
      remainingMs,
      where: envLines(d.environments),
      next: `Nothing yet: certrotor starts the rotation by itself. If no "Rotation Started" follows within the hour, run ${rotateCommand(d.name)} and check ${code('certrotor plan')}.`,
    };
  },
  'Endpoint Drift Detected': (d, { now }) => {
    const label = certLabel(d.certificate);
    const reasons = [...new Set(d.drifts.map((drift) => drift.reason))];
    return {
      title: `Drift: ${plural(d.drifts.length, 'place')} not serving ${label}`,
      subject: label,
      what: `${plural(d.drifts.length, 'endpoint or host')} ${d.drifts.length === 1 ? 'serves or holds' : 'serve or hold'} something other than the current version of ${bold(label)} (checked in ${escapeText(d.checkedEnvironments.join(', ') || 'no other environment')}).`,
      certificate: d.certificate,
      certificateLabel: 'Expected certificate',
      remainingMs: remainingMsUntil(d.certificate.notAfter, now),
      where: d.drifts.map(
        (drift) =>
          `• ${bold(drift.environment)}: ${code(drift.endpoint)}${drift.address ? ` (${escapeText(drift.address)})` : ''} serves ${drift.servedFingerprint ? code(shortFingerprint(drift.servedFingerprint)) : 'nothing'}: ${escapeText(drift.reason)} (${escapeText(drift.source)})`,
      ),
      next: `${capitalise(reasons.map((reason) => escapeText(DRIFT_ADVICE[reason] ?? reason)).join('; '))}. Or redeliver everywhere with ${rotateCommand(d.certificate.name)}; confirm with ${code('certrotor scan')}.`,
    };
  },
  'Endpoint Problem Detected': (d, { now }) => {
    const endpoint = `${d.endpoint.host}:${d.endpoint.port}`;
    const kinds = [...new Set(d.problems.map((p) => p.kind))];
    return {
      title: `Endpoint problem: ${endpoint} (${kinds.join(', ')})`,
      subject: endpoint,
      what: `A fresh handshake to ${code(endpoint)}${d.endpoint.servername ? ` (SNI ${escapeText(d.endpoint.servername)})` : ''} found ${plural(d.problems.length, 'problem')}.`,
      ...(d.certificate ? { certificate: d.certificate, certificateLabel: 'Served certificate' } : {}),
      remainingMs: remainingMsUntil(d.certificate?.notAfter, now),
      where: [
        `• ${bold(d.endpoint.environment ?? d.environments[0] ?? 'unknown environment')}: ${code(endpoint)}${d.endpoint.address ? ` (${escapeText(d.endpoint.address)})` : ''}`,
      ],
      lists: [
        { title: 'Problems', lines: d.problems.map((p) => `• ${bold(p.kind)}: ${escapeText(p.message)}`) },
      ],
      next: `${capitalise(kinds.map((kind) => escapeText(PROBLEM_ADVICE[kind] ?? kind)).join('; '))}. Check again with ${code(`certrotor inspect ${endpoint}`)}.`,
    };
  },
  'Rotation Started': (d, { now }) => ({
    title: `Rotation started: ${d.rotation.name}${d.dryRun ? ' (dry run)' : ''}`,
    subject: d.rotation.name,
    what: `Rolling out version ${code(d.rotation.version)} of ${bold(d.rotation.name)} to ${plural(d.targets, 'target')} through ${escapeText(d.destinations.join(', ') || 'no destination')}${d.rotation.trigger ? ` (trigger: ${escapeText(d.rotation.trigger)})` : ''}.`,
    ...(d.certificate ? { certificate: d.certificate, certificateLabel: 'New certificate' } : {}),
    ...(d.previous ? { previous: d.previous } : {}),
    remainingMs: remainingMsUntil(d.previous?.notAfter, now),
    timeLeftLabel: 'Current expires',
    where: envLines(d.environments),
    next: `Nothing to do: every target is verified before promotion, and anything changed is rolled back on failure. Follow it with ${code('certrotor status')}.`,
  }),
  'Rotation Succeeded': (d) => ({
    title: `Rotation succeeded: ${d.rotation.name}`,
    subject: d.rotation.name,
    what: `Version ${code(d.rotation.version)} of ${bold(d.rotation.name)} is current: ${plural(d.verifiedHosts.length, 'target')} verified (${d.convergencePercent}%). The previous version is kept for rollback.`,
    certificate: d.certificate,
    certificateLabel: 'New certificate',
    ...(d.previous ? { previous: d.previous } : {}),
    where: envLines(d.environments),
    lists: [{ title: 'Verified', lines: d.verifiedHosts.map(hostLine) }],
    next: 'Nothing to do.',
  }),
  'Rotation Failed': (d, { now }) => ({
    title: `Rotation FAILED at ${d.stage}: ${d.rotation.name}`,
    subject: d.rotation.name,
    what: `Rotating ${bold(d.rotation.name)} to ${code(d.rotation.version)} failed at the ${bold(d.stage)} step: ${escapeText(d.error)}. ${d.rolledBack ? 'Targets already changed were rolled back; the previous version is still current.' : '*Targets already changed were NOT rolled back.*'} Converged: ${d.convergencePercent}%.`,
    ...(d.certificate ? { certificate: d.certificate, certificateLabel: 'New certificate' } : {}),
    ...(d.previous ? { previous: d.previous } : {}),
    remainingMs: remainingMsUntil(d.previous?.notAfter, now),
    timeLeftLabel: 'Current expires',
    where: envLines(d.environments),
    lists: [{ title: 'Failed', lines: d.failedHosts.map(hostLine) }],
    next: d.rolledBack
      ? `Fix the failed targets listed (each with its reason), then run ${rotateCommand(d.rotation.name)} again.`
      : `Check the targets now: some may hold the new version while the old one is current. Run ${rotateCommand(d.rotation.name)} again once the failed targets are fixed, or restore them by hand.`,
    escalate: !d.rolledBack || d.severity === 'critical',
    timeCritical: true,
  }),
  'Rotation Rolled Back': (d, { now }) => ({
    title: `Rotation rolled back: ${d.rotation.name}`,
    subject: d.rotation.name,
    what: `Rotating ${bold(d.rotation.name)} to ${code(d.rotation.version)} was rolled back after ${plural(d.failedHosts.length, 'target')} failed; ${plural(d.restoredHosts.length, 'target')} restored to the previous version, ${d.rollbackVerified ? 'and verified' : '*but the restoration is NOT verified*'}.`,
    ...(d.certificate ? { certificate: d.certificate, certificateLabel: 'Abandoned certificate' } : {}),
    previous: d.previous,
    remainingMs: remainingMsUntil(d.previous.notAfter, now),
    timeLeftLabel: 'Current expires',
    where: envLines(d.environments),
    lists: [
      { title: 'Failed', lines: d.failedHosts.map(hostLine) },
      { title: 'Restored', lines: d.restoredHosts.map(hostLine) },
    ],
    next: d.rollbackVerified
      ? `Fix the failed targets listed, then run ${rotateCommand(d.rotation.name)} again before the current certificate expires.`
      : `Check the restored targets now (${code('certrotor status')}): they may serve neither version correctly. Then fix the failed ones and rotate again.`,
    escalate: !d.rollbackVerified,
    timeCritical: true,
  }),
  'Upstream Rotation Announced': (d, { now }) => {
    const notReady = d.consumers.filter((c) => !c.ready);
    return {
      title: `Upstream rotation announced: ${d.upstream.name}`,
      subject: d.upstream.name,
      what: `${bold(d.upstream.name)} announced a certificate rotation${d.announcement.title ? `: ${escapeText(d.announcement.title)}` : ''}. ${notReady.length} of ${d.consumers.length} consumers are not ready yet.`,
      ...(d.certificate ? { certificate: d.certificate, certificateLabel: 'Served now' } : {}),
      remainingMs: remainingMsUntil(d.announcement.deadline, now),
      timeLeftLabel: 'Until deadline',
      fields: announcementFields(d.announcement),
      where: [
        ...envLines(d.environments),
        ...(d.upstream.endpoints ?? []).map((endpoint) => `• upstream ${code(endpoint)}`),
      ],
      lists: [{ title: 'Consumers', lines: d.consumers.map(consumerLine) }],
      next: `Get the new material to every consumer before the deadline (certrotor distributes it during the window); track it with ${code(`certrotor upstream status ${d.upstream.name}`)}.${d.announcement.url ? ` Announcement: <${d.announcement.url}|${escapeText(truncate(d.announcement.title ?? 'link', 60))}>.` : ''}`,
    };
  },
  'Upstream Rotation Deadline Approaching': (d, { now }) => ({
    title: `Upstream deadline approaching: ${d.upstream.name}`,
    subject: d.upstream.name,
    what: `The ${bold(d.upstream.name)} rotation deadline is in ${escapeText(describeTimeLeft(remainingMsUntil(d.announcement.deadline, now) ?? d.daysLeft * DAY_MS).replace(' left', ''))} (stage ${escapeText(d.stage)}); ${d.consumersReady} of ${d.consumersTotal} consumers are ready.`,
    remainingMs: remainingMsUntil(d.announcement.deadline, now) ?? d.daysLeft * DAY_MS,
    timeLeftLabel: 'Until deadline',
    fields: announcementFields(d.announcement),
    where: [...envLines(d.environments), ...(d.upstream.endpoints ?? []).map((e) => `• upstream ${code(e)}`)],
    lists: [{ title: 'Not ready', lines: d.consumersNotReady.map(consumerLine) }],
    timeCritical: true,
    next: `Make the consumers listed ready: deliver the new material (${code(`certrotor rotate <name>`)} for the managed certificate they use) and prove it with ${code(`certrotor upstream status ${d.upstream.name}`)}.`,
  }),
  'Upstream Certificate Changed': (d, { now }) => ({
    title: `Upstream certificate changed: ${d.upstream.name} (${d.changes.join(', ')})`,
    subject: d.upstream.name,
    what: `${code(`${d.endpoint.host}:${d.endpoint.port}`)} of ${bold(d.upstream.name)} now serves a different ${escapeText(d.changes.join(' and '))}${d.announced ? ` (announced${d.announcementId ? `: ${escapeText(d.announcementId)}` : ''})` : ' *without an announcement*'}.`,
    certificate: d.certificate,
    certificateLabel: 'Served now',
    previous: d.previous,
    remainingMs: remainingMsUntil(d.certificate.notAfter, now),
    where: [
      ...envLines(d.environments),
      `• upstream ${code(`${d.endpoint.host}:${d.endpoint.port}`)}${d.endpoint.address ? ` (${escapeText(d.endpoint.address)})` : ''}`,
    ],
    lists: [{ title: 'Consumers affected', lines: d.consumersAffected.map(consumerLine) }],
    next:
      d.consumersAffected.length > 0
        ? `Update the trust material (pins, CA bundle) of the consumers listed: they may already fail to connect. Check them with ${code(`certrotor upstream status ${d.upstream.name}`)}.`
        : `No consumer pins the previous material. ${d.announced ? 'Nothing to do.' : `Record the change: ${code(`certrotor upstream announce ${d.upstream.name} …`)}.`}`,
    escalate: d.consumersAffected.length > 0 && !d.announced,
  }),
  'Upstream Announcement Needs Review': (d) => ({
    title: `Upstream announcement needs review: ${d.upstream.name}`,
    subject: d.upstream.name,
    what: `A feed item (${escapeText(d.feed.kind)}) from ${bold(d.upstream.name)} looks like a certificate rotation, but ${escapeText(d.reason)}: ${bold(d.title)}.${d.excerpt ? `\n>${escapeText(truncate(d.excerpt, 500)).replace(/\n/g, '\n>')}` : ''}`,
    where: [...envLines(d.environments), ...(d.upstream.endpoints ?? []).map((e) => `• upstream ${code(e)}`)],
    next: `Read the item${d.itemUrl ? ` (<${d.itemUrl}|link>)` : ''}; if it is a rotation, record it with ${code(`certrotor upstream announce ${d.upstream.name} --window-start … --cutover …`)}.`,
  }),
  'Consumers Not Ready': (d, { now }) => ({
    title: `Consumers not ready: ${d.upstream.name}`,
    subject: d.upstream.name,
    what: `${plural(d.consumersNotReady.length, 'consumer')} of ${bold(d.upstream.name)} ${d.consumersNotReady.length === 1 ? 'lacks' : 'lack'} the new material, ${escapeText(
      describeTimeLeft(remainingMsUntil(d.announcement.deadline, now) ?? d.hoursLeft * HOUR_MS)
        .replace('left', 'before the deadline')
        .replace('expired', 'deadline passed'),
    )}; ${d.consumersReady} of ${d.consumersTotal} ready (${d.readyPercent}%).`,
    remainingMs: remainingMsUntil(d.announcement.deadline, now) ?? d.hoursLeft * HOUR_MS,
    timeLeftLabel: 'Until deadline',
    fields: announcementFields(d.announcement),
    where: [...envLines(d.environments), ...(d.upstream.endpoints ?? []).map((e) => `• upstream ${code(e)}`)],
    lists: [{ title: 'Not ready', lines: d.consumersNotReady.map(consumerLine) }],
    timeCritical: true,
    next: `Make each consumer listed ready before the deadline: deliver the new material, then prove it with ${code(`certrotor upstream status ${d.upstream.name}`)}. Consumers not ready at cutover will fail to connect.`,
  }),
  'Notification Delivery Failed': (d) => ({
    title: `Notifications to ${d.channel} are failing`,
    subject: d.channel,
    what: `A ${escapeText(d.originalDetailType)} notification could not be delivered to channel ${bold(d.channel)} after ${plural(d.attempts, 'attempt')}: ${escapeText(d.error)}.`,
    fields: [
      ['HTTP status', d.status !== undefined ? String(d.status) : 'none'],
      ['Retried', d.permanent ? 'no (permanent)' : 'yes, exhausted'],
      ['Undelivered', code(d.originalDedupeKey)],
    ],
    where: [`• channel ${bold(d.channel)}`, ...envLines(d.environments)],
    next: d.permanent
      ? `Fix the webhook for ${bold(d.channel)}: the channel was deleted or archived, or the webhook revoked. Create a new incoming webhook and update its secret in the configuration.`
      : `Slack was unreachable; the notification waits in the dead-letter queue. Redrive it once Slack answers again.`,
    escalate: d.permanent,
  }),
  'Scan Missed': (d, { now }) => ({
    title: `Scheduled ${d.schedule} job did not run`,
    subject: `${d.schedule} job`,
    what: `The ${bold(d.schedule)} job should have completed by ${escapeText(formatTime(d.expectedBy))}; ${d.lastRunAt ? `it last completed at ${escapeText(formatTime(d.lastRunAt))} (${escapeText(describeTimeLeft(-(now.getTime() - Date.parse(d.lastRunAt))).replace('expired ', ''))})` : 'it has never completed'}. Until it runs, nothing it watches is checked.`,
    where: envLines(d.environments.length > 0 ? d.environments : ['all environments']),
    next: `Check the ${escapeText(d.schedule)} schedule and the errors of its function (CloudWatch alarm and logs), or run ${code('certrotor run')} locally.`,
    escalate: true,
  }),
};

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

const SEVERITY_EMOJI: Readonly<Record<string, string>> = {
  info: ':information_source:',
  warning: ':warning:',
  error: ':x:',
  critical: ':rotating_light:',
};

/** What every event message shares, read from the common detail fields. */
interface CommonDetail {
  readonly severity: string;
  readonly environments: readonly string[];
  readonly owner?: string | undefined;
  readonly runbookUrl?: string | undefined;
  readonly dedupeKey: string;
  readonly occurredAt: string;
  readonly summary?: string | undefined;
}

/** The runbook for a detail type: the event's own link, else the configured item's, else `<base>/<slug>`. */
export function runbookUrlFor(
  detailType: DetailTypeName,
  detail: { runbookUrl?: string | undefined },
  runbookBaseUrl?: string,
  configured?: string,
): string | undefined {
  if (detail.runbookUrl) return detail.runbookUrl;
  if (configured) return configured;
  if (!runbookBaseUrl) return undefined;
  return `${runbookBaseUrl.replace(/\/+$/, '')}/${slugOf(detailType)}`;
}

/**
 * Whether a message mentions the owner: at or below `escalateAtDays` left (the later thresholds), for
 * anything already expired or overdue, and for outcomes that need a human now (a failed rollback).
 */
export function shouldEscalate(
  remainingMs: number | undefined,
  severity: string,
  forced: boolean,
  escalateAtDays: number = CRITICAL_DAYS,
): boolean {
  if (forced || severity === 'critical') return true;
  return remainingMs !== undefined && remainingMs <= escalateAtDays * DAY_MS;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Builds the Block Kit message for one catalogue event. */
export function buildSlackMessage(
  event: Pick<CatalogueEvent, 'detailType' | 'detail'>,
  options: SlackMessageOptions,
): ChatMessage {
  const builder = partsBuilders[event.detailType] as PartsBuilder<DetailTypeName>;
  const common = event.detail as CommonDetail;
  const parts = builder(event.detail as EventDetail<DetailTypeName>, { now: options.now });
  const owner = common.owner ?? options.owner;
  const escalate = shouldEscalate(
    parts.timeCritical ? parts.remainingMs : undefined,
    common.severity,
    parts.escalate === true,
    options.escalateAtDays,
  );
  const runbook = runbookUrlFor(event.detailType, common, options.runbookBaseUrl, options.runbookUrl);
  const maxItems = options.maxListItems ?? 15;
  const emoji = SEVERITY_EMOJI[common.severity] ?? ':grey_question:';
  const timeLeft = parts.remainingMs !== undefined ? describeTimeLeft(parts.remainingMs) : undefined;

  const blocks: Block[] = [];
  blocks.push(header(`${parts.title}`));

  const mention = escalate && options.ownerMention ? `${options.ownerMention} ` : '';
  const escalation = escalate
    ? `${mention}*Escalated*${timeLeft && parts.timeCritical ? `: ${escapeText(timeLeft)}` : ''}\n`
    : '';
  blocks.push(section(`${emoji} ${escalation}${parts.what}`));

  const fields: [string, string][] = [];
  if (parts.certificate) {
    fields.push([parts.certificateLabel ?? 'Certificate', certificateField(parts.certificate)]);
    fields.push(['Fingerprint', `${code(shortFingerprint(parts.certificate.fingerprintSha256))}`]);
  }
  if (timeLeft !== undefined) {
    const at =
      parts.certificate?.notAfter && !parts.timeLeftLabel
        ? ` (${formatTime(parts.certificate.notAfter)})`
        : '';
    fields.push([parts.timeLeftLabel ?? 'Expires', escapeText(`${timeLeft}${at}`)]);
  }
  fields.push([
    'Owner',
    owner
      ? `${escapeText(owner)}${escalate && options.ownerMention ? ` ${options.ownerMention}` : ''}`
      : '_no owner configured_',
  ]);
  fields.push(['Environments', escapeText(common.environments.join(', ') || 'none')]);
  fields.push(['Severity', escapeText(common.severity)]);
  for (const [label, value] of parts.fields ?? []) fields.push([label, value]);
  if (parts.previous) {
    fields.push([
      'Previous',
      `${certificateField(parts.previous)} ${code(shortFingerprint(parts.previous.fingerprintSha256))}`,
    ]);
  }
  blocks.push(fieldsSection(fields.slice(0, SLACK_LIMITS.fields)));
  if (fields.length > SLACK_LIMITS.fields)
    blocks.push(fieldsSection(fields.slice(SLACK_LIMITS.fields, 2 * SLACK_LIMITS.fields)));

  blocks.push(listSection(`*Where* (${parts.where.length})`, parts.where, maxItems));
  for (const list of parts.lists ?? []) {
    if (list.lines.length > 0)
      blocks.push(listSection(`*${list.title}* (${list.lines.length})`, list.lines, maxItems));
  }
  blocks.push(section(`*What to do*\n${parts.next}`));
  if (runbook) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Runbook', emoji: true },
          url: truncate(runbook, SLACK_LIMITS.url),
          ...(escalate ? { style: 'danger' } : {}),
        },
      ],
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: truncate(
          `${runbook ? `Runbook: <${runbook}|${escapeText(truncate(runbook, 80))}> · ` : 'No runbook configured (notifications.runbookBaseUrl) · '}${escapeText(event.detailType)} · ${escapeText(formatTime(common.occurredAt))} · key ${code(truncate(common.dedupeKey, 120))}`,
          SLACK_LIMITS.sectionText,
        ),
      },
    ],
  });

  const text = [
    `${escalate && options.ownerMention ? `${options.ownerMention} ` : ''}[${common.severity}] ${parts.title}`,
    parts.certificate ? `fingerprint ${shortFingerprint(parts.certificate.fingerprintSha256)}` : undefined,
    timeLeft,
    common.environments.length > 0 ? `in ${common.environments.join(', ')}` : undefined,
    owner ? `owner ${owner}` : undefined,
    runbook ? `runbook ${runbook}` : undefined,
  ]
    .filter((s): s is string => s !== undefined)
    .join(' · ');

  return enforceLimits({ text, blocks });
}

function certificateField(certificate: CertificateRef): string {
  const names = [certificate.name ? bold(certificate.name) : undefined, code(certificate.subject)];
  const dns = certificate.dnsNames ?? [];
  const sans =
    dns.length > 0
      ? `\n${escapeText(truncate(dns.slice(0, 5).join(', '), 300))}${dns.length > 5 ? ` …and ${dns.length - 5} more` : ''}`
      : '';
  return names.filter((s): s is string => s !== undefined).join(' ') + sans;
}

function header(text: string): Block {
  return {
    type: 'header',
    text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.headerText), emoji: true },
  };
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.sectionText) } };
}

function fieldsSection(fields: readonly (readonly [string, string])[]): Block {
  return {
    type: 'section',
    fields: fields.map(([label, value]) => ({
      type: 'mrkdwn',
      text: truncate(`*${label}*\n${value}`, SLACK_LIMITS.fieldText),
    })),
  };
}

function listSection(title: string, lines: readonly string[], maxItems: number): Block {
  const body =
    lines.length > 0
      ? summariseList(lines, SLACK_LIMITS.sectionText - title.length - 20, maxItems)
      : '_none_';
  return section(`${title}\n${body}`);
}

/**
 * The last guard: whatever a builder produced, the message Slack receives is within limits. Builders
 * summarise on their own; this only cuts.
 */
export function enforceLimits(message: ChatMessage): ChatMessage {
  let blocks = message.blocks.map((block) => {
    const b = { ...block } as Block & {
      text?: { type: string; text: string };
      fields?: { type: string; text: string }[];
    };
    if (b.type === 'header' && b.text)
      b.text = { ...b.text, text: truncate(b.text.text, SLACK_LIMITS.headerText) };
    else if (b.text) b.text = { ...b.text, text: truncate(b.text.text, SLACK_LIMITS.sectionText) };
    if (b.fields) {
      b.fields = b.fields
        .slice(0, SLACK_LIMITS.fields)
        .map((f) => ({ ...f, text: truncate(f.text, SLACK_LIMITS.fieldText) }));
    }
    if (b.type === 'context' && Array.isArray(b.elements)) {
      b.elements = (b.elements as { type: string; text?: string }[])
        .slice(0, SLACK_LIMITS.contextElements)
        .map((e) => (e.text !== undefined ? { ...e, text: truncate(e.text, SLACK_LIMITS.sectionText) } : e));
    }
    return b;
  });
  if (blocks.length > SLACK_LIMITS.blocks) {
    const dropped = blocks.length - (SLACK_LIMITS.blocks - 1);
    blocks = [
      ...blocks.slice(0, SLACK_LIMITS.blocks - 1),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${dropped} more blocks not shown` }] },
    ];
  }
  return { text: truncate(message.text, SLACK_LIMITS.fallbackText), blocks };
}

// ---------------------------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------------------------

/** One line of a digest: a certificate or a finding with its time left and owner. */
export interface DigestItem {
  /** Certificate name or subject, upstream name, endpoint. */
  readonly title: string;
  /** Detail type or finding kind: `Certificate Expiring`, `drift`. */
  readonly kind: string;
  /** When it expires or the deadline falls (ISO 8601); items without one are listed as "other findings". */
  readonly expiresAt?: string;
  readonly environments: readonly string[];
  readonly owner?: string;
  readonly fingerprintSha256?: string;
  readonly severity?: string;
}

export interface DigestOptions {
  /** Items expiring later than now + horizon are left out: milliseconds or a duration (`7d`). */
  readonly horizon: number | string;
  readonly now: Date;
  /** The channel (or team) this digest is for, named in the header. */
  readonly channel: string;
  readonly runbookBaseUrl?: string;
  /** Mention for an owner with anything at or below `escalateAtDays`. */
  readonly mentionFor?: (owner: string) => string | undefined;
  /** @default 3 */
  readonly escalateAtDays?: number;
}

interface Bucket {
  readonly label: string;
  /** Inclusive upper bound of remaining time, ms; items fall into the first bucket that holds them. */
  readonly upTo: number;
}

const DIGEST_BUCKETS: readonly Bucket[] = [
  { label: 'Expired', upTo: 0 },
  { label: 'Within 1 day', upTo: DAY_MS },
  { label: '1 to 3 days', upTo: 3 * DAY_MS },
  { label: '3 to 7 days', upTo: 7 * DAY_MS },
  { label: '7 to 14 days', upTo: 14 * DAY_MS },
  { label: '14 to 30 days', upTo: 30 * DAY_MS },
  { label: 'Later', upTo: Number.POSITIVE_INFINITY },
];

/** Builds a digest item from a catalogue event: the certificate or upstream it is about and its expiry. */
export function digestItemFromEvent(event: Pick<CatalogueEvent, 'detailType' | 'detail'>): DigestItem {
  const d = event.detail as CommonDetail & {
    certificate?: CertificateRef;
    previous?: CertificateRef;
    upstream?: { name: string } | string;
    announcement?: { deadline: string };
    endpoint?: { host: string; port: number };
    rotation?: { name: string };
    channel?: string;
    schedule?: string;
    name?: string;
  };
  const upstreamName = typeof d.upstream === 'string' ? d.upstream : d.upstream?.name;
  const title =
    d.name ??
    d.rotation?.name ??
    (d.certificate ? certLabel(d.certificate) : undefined) ??
    upstreamName ??
    (d.endpoint ? `${d.endpoint.host}:${d.endpoint.port}` : undefined) ??
    d.channel ??
    d.schedule ??
    event.detailType;
  const expiresAt = d.announcement?.deadline ?? d.certificate?.notAfter ?? d.previous?.notAfter;
  const fingerprint = d.certificate?.fingerprintSha256;
  return {
    title,
    kind: event.detailType,
    environments: d.environments,
    severity: d.severity,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(d.owner !== undefined ? { owner: d.owner } : {}),
    ...(fingerprint !== undefined ? { fingerprintSha256: fingerprint } : {}),
  };
}

/**
 * One message for many items: grouped by time left (expired, within a day, 1–3, 3–7, 7–14, 14–30 days,
 * later) and, inside each group, by owner. 200 certificates expiring in one week make one message.
 */
export function buildDigest(items: readonly DigestItem[], options: DigestOptions): ChatMessage {
  const horizonMs =
    typeof options.horizon === 'number' ? options.horizon : parseDuration(options.horizon, 'digest horizon');
  const escalateMs = (options.escalateAtDays ?? CRITICAL_DAYS) * DAY_MS;

  const timed: { item: DigestItem; remaining: number }[] = [];
  const untimed: DigestItem[] = [];
  for (const item of items) {
    const remaining = remainingMsUntil(item.expiresAt, options.now);
    if (remaining === undefined) untimed.push(item);
    else if (remaining <= horizonMs) timed.push({ item, remaining });
  }
  timed.sort((a, b) => a.remaining - b.remaining || a.item.title.localeCompare(b.item.title));

  const buckets = DIGEST_BUCKETS.map((bucket) => ({
    bucket,
    entries: [] as { item: DigestItem; remaining: number }[],
  }));
  for (const entry of timed) {
    const target = buckets.find((b) => entry.remaining <= b.bucket.upTo) ?? buckets[buckets.length - 1]!;
    target.entries.push(entry);
  }
  const used = buckets.filter((b) => b.entries.length > 0);
  const total = timed.length + untimed.length;
  const horizonLabel = describeTimeLeft(horizonMs).replace(' left', '');

  const blocks: Block[] = [];
  blocks.push(
    header(`certrotor digest for ${options.channel}: ${plural(total, 'item')} within ${horizonLabel}`),
  );

  const urgentOwners = new Set(timed.filter((e) => e.remaining <= escalateMs).map((e) => e.item.owner ?? ''));
  // Owners sharing a channel often share its mention: ping each group once.
  const mentions = [
    ...new Set(
      [...urgentOwners]
        .filter((owner) => owner !== '')
        .map((owner) => options.mentionFor?.(owner))
        .filter((m): m is string => m !== undefined),
    ),
  ];
  const counts = used.map((b) => `${b.bucket.label}: ${b.entries.length}`);
  if (untimed.length > 0) counts.push(`Other findings: ${untimed.length}`);
  blocks.push(
    section(
      total === 0
        ? `:white_check_mark: Nothing expires within ${escapeText(horizonLabel)} and nothing else needs attention.`
        : `${mentions.length > 0 ? `${mentions.join(' ')} ` : ''}${escapeText(counts.join(' · '))}`,
    ),
  );

  for (const { bucket, entries } of used) {
    const byOwner = groupBy(entries, (e) => e.item.owner ?? 'no owner');
    // Every owner gets a share of the section, so a busy owner cannot crowd the others out.
    const perOwner = Math.max(
      150,
      Math.min(700, Math.floor((SLACK_LIMITS.sectionText - 100) / byOwner.size) - 30),
    );
    const ownerLines = [...byOwner.entries()]
      .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
      .map(([owner, list]) => {
        const names = list.map(
          (e) =>
            `${escapeText(e.item.title)} ${escapeText(compactTimeLeft(e.remaining))}${e.item.environments.length > 0 ? ` (${escapeText(e.item.environments.join(', '))})` : ''}`,
        );
        return `• ${bold(owner)} (${list.length}): ${inlineList(names, perOwner)}`;
      });
    const title = `*${bucket.label}* (${entries.length})`;
    blocks.push(
      section(
        `${title}\n${summariseList(ownerLines, SLACK_LIMITS.sectionText - title.length - 20, Infinity, 'owner')}`,
      ),
    );
  }
  if (untimed.length > 0) {
    const byKind = groupBy(untimed, (item) => item.kind);
    const lines = [...byKind.entries()].map(
      ([kind, list]) =>
        `• ${bold(kind)} (${list.length}): ${inlineList(
          list.map((i) => `${escapeText(i.title)}${i.owner ? ` [${escapeText(i.owner)}]` : ''}`),
          700,
        )}`,
    );
    const title = `*Other findings* (${untimed.length})`;
    blocks.push(section(`${title}\n${summariseList(lines, SLACK_LIMITS.sectionText - title.length - 20)}`));
  }
  const runbook = options.runbookBaseUrl ? `${options.runbookBaseUrl.replace(/\/+$/, '')}/digest` : undefined;
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `${escapeText(formatTime(options.now.toISOString()))} · ${code('certrotor plan --horizon ' + horizonLabel.replace(/ days?/, 'd').replace(/ hours?/, 'h'))} lists every item${runbook ? ` · Runbook: <${runbook}|digest>` : ''}`,
      },
    ],
  });

  const text = `${mentions.length > 0 ? `${mentions.join(' ')} ` : ''}certrotor digest for ${options.channel}: ${plural(total, 'item')} within ${horizonLabel}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}`;
  return enforceLimits({ text, blocks });
}

/** `2d`, `5h`, `expired 3d ago`, for dense digest lines. */
function compactTimeLeft(remainingMs: number): string {
  const abs = Math.abs(remainingMs);
  const amount =
    abs >= 2 * DAY_MS
      ? `${Math.floor(abs / DAY_MS)}d`
      : abs >= HOUR_MS
        ? `${Math.floor(abs / HOUR_MS)}h`
        : `${Math.max(1, Math.ceil(abs / MINUTE_MS))}m`;
  return remainingMs >= 0 ? amount : `expired ${amount} ago`;
}

/** `a, b, c …and N more` within `maxChars`. */
function inlineList(names: readonly string[], maxChars: number): string {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < names.length; i++) {
    const name = truncate(names[i] as string, 120);
    const reserve = i < names.length - 1 ? ` …and ${names.length - i} more`.length : 0;
    if (used + name.length + 2 + reserve > maxChars) return `${out.join(', ')} …and ${names.length - i} more`;
    out.push(name);
    used += name.length + 2;
  }
  return out.join(', ');
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Operator problems with notification delivery itself
// ---------------------------------------------------------------------------------------------

export interface DeliveryProblemInput {
  readonly channel: string;
  /** One line, already free of the webhook URL. */
  readonly error: string;
  readonly status?: number;
  /** Headlines (fallback text first lines) of the messages not delivered. */
  readonly undelivered: readonly string[];
  readonly now: Date;
  readonly runbookBaseUrl?: string;
}

/** The operator alert sent through another channel when a channel refuses messages for good. */
export function buildDeliveryProblemMessage(input: DeliveryProblemInput): ChatMessage {
  const runbook = input.runbookBaseUrl
    ? runbookUrlFor('Notification Delivery Failed', {}, input.runbookBaseUrl)
    : undefined;
  const title = `Notifications to ${input.channel} are failing`;
  const blocks: Block[] = [
    header(title),
    section(
      `:x: Channel ${bold(input.channel)} refused ${plural(input.undelivered.length, 'message')}${input.status !== undefined ? ` with HTTP ${input.status}` : ''}: ${escapeText(input.error)}`,
    ),
    listSection(
      `*Not delivered* (${input.undelivered.length})`,
      input.undelivered.map((h) => `• ${escapeText(h)}`),
      15,
    ),
    section(
      `*What to do*\nFix the webhook for ${bold(input.channel)}: the channel was deleted or archived, or the webhook revoked. Create a new incoming webhook, update its secret, and re-run ${code('certrotor scan')} to resend.`,
    ),
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${escapeText(formatTime(input.now.toISOString()))}${runbook ? ` · Runbook: <${runbook}|notification delivery>` : ''}`,
        },
      ],
    },
  ];
  return enforceLimits({
    text: `[error] ${title}: ${input.error} (${plural(input.undelivered.length, 'message')} not delivered)`,
    blocks,
  });
}

/** Every detail type this module formats: all of them (the builders object is exhaustive by type). */
export const FORMATTED_DETAIL_TYPES: readonly DetailTypeName[] = DETAIL_TYPES.filter(
  (t) => t in partsBuilders,
);
