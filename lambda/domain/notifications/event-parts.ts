/**
 * What each detail type contributes to its Slack message (title, facts, lists, advice); one renderer
 * (event-message.ts) lays the parts out. The builders object is exhaustive by detail type.
 */
import { DAY_MS, shortFingerprint } from '../certificate';
import { HOUR_MS } from '../duration';
import {
  type CertificateRef,
  DETAIL_TYPES,
  type DetailTypeName,
  type EventDetail,
  type EventLocation,
} from '../events';
import {
  bold,
  capitalise,
  code,
  describeTimeLeft,
  escapeText,
  formatTime,
  plural,
  remainingMsUntil,
  truncate,
} from './slack-blocks';

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

export type PartsBuilder<T extends DetailTypeName> = (
  detail: EventDetail<T>,
  ctx: PartsContext,
) => MessageParts;

export function certLabel(certificate: CertificateRef | undefined, fallback = 'certificate'): string {
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

export const partsBuilders: { readonly [T in DetailTypeName]: PartsBuilder<T> } = {
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
    title: `Scheduled ${d.schedule} job${d.placement ? ` of placement ${d.placement}` : ''} did not run`,
    subject: `${d.schedule} job${d.placement ? ` of placement ${d.placement}` : ''}`,
    what: `The ${bold(d.schedule)} job${d.placement ? ` of network placement ${bold(d.placement)}` : ''} should have completed by ${escapeText(formatTime(d.expectedBy))}; ${d.lastRunAt ? `it last completed at ${escapeText(formatTime(d.lastRunAt))} (${escapeText(describeTimeLeft(-(now.getTime() - Date.parse(d.lastRunAt))).replace('expired ', ''))})` : 'it has never completed'}. Until it runs, nothing it watches is checked.`,
    where: envLines(d.environments.length > 0 ? d.environments : ['all environments']),
    next: d.placement
      ? `Check the errors of placement ${escapeText(d.placement)}'s probe function (its heartbeat alarm and logs) and its route to AWS APIs from the VPC (NAT gateway or VPC endpoints), or run ${code('certrotor run')} from inside that network.`
      : `Check the ${escapeText(d.schedule)} schedule and the errors of its function (CloudWatch alarm and logs), or run ${code('certrotor run')} locally.`,
    escalate: true,
  }),
  'Client Certificate Sunset': (d, { now }) => {
    const label = certLabel(d.certificate);
    const past = d.daysLeft <= 0;
    return {
      title: `Client certificate losing clientAuth: ${label} (upstream ${d.upstream.name})`,
      subject: label,
      what: `${bold(label)} is presented to upstream ${bold(d.upstream.name)} as a client certificate and carries clientAuth from a public CA${d.certificate.issuer ? ` (${escapeText(d.certificate.issuer)})` : ''}. ${escapeText(d.authority)} ${past ? 'no longer issues' : 'stops issuing'} certificates with clientAuth ${past ? 'since' : 'from'} ${bold(d.sunsetDate)}${past ? '' : ` (in ${plural(d.daysLeft, 'day')})`}: its renewal will not authenticate as a client.`,
      certificate: d.certificate,
      remainingMs: remainingMsUntil(d.certificate.notAfter, now),
      fields: [
        ['Upstream', bold(d.upstream.name)],
        ['No clientAuth from', escapeText(`${d.sunsetDate} (${d.authority})`)],
        ...(d.source ? ([['Source', `<${d.source}|announcement>`]] as const) : []),
      ],
      where: d.locations.map(locationLine),
      next: `Ask the vendor of ${bold(d.upstream.name)} to accept a client certificate from a private CA (or their own), issue it (an ${code('acm-pca')} or local CA issuer) and import it with ${code(`certrotor upstream import-client-cert ${d.upstream.name} …`)} before this one expires${past ? '' : ` or ${escapeText(d.sunsetDate)} comes`}.`,
      escalate: past,
    };
  },
};
/** Every detail type this module formats: all of them (the builders object is exhaustive by type). */
export const FORMATTED_DETAIL_TYPES: readonly DetailTypeName[] = DETAIL_TYPES.filter(
  (t) => t in partsBuilders,
);
