/**
 * AWS Health scheduled changes (an `aws.health` EventBridge event) as upstream rotation
 * announcements: a database CA rotation, a load balancer certificate change. The event's start is
 * taken as the cutover (AWS may apply the change from then on), its end as the end of the window,
 * and its affected entities as the affected resources. Only certificate-related events become
 * announcements; dates that cannot be read are flagged for review, never guessed.
 */
import { InvalidInputError } from './errors';
import { findTextDates, parseRfc3339, parseRfc822 } from './upstream/feed-dates';
import { type DateParse } from './upstream/feed-parsing';
import type { AnnouncementDraft } from './upstream/announcement';

/** What an upstream's `aws-health` feed selects (configuration `upstreams[].feeds[kind=aws-health]`). */
export interface HealthSubscription {
  readonly upstream: string;
  /** e.g. `RDS`; every service when absent. */
  readonly services?: readonly string[];
  /** Every certificate-related code when absent. */
  readonly eventTypeCodes?: readonly string[];
  readonly region?: string;
}

export interface HealthEventFacts {
  readonly eventArn: string;
  readonly service: string;
  readonly eventTypeCode: string;
  readonly eventTypeCategory?: string;
  readonly region?: string;
  readonly account?: string;
  readonly statusCode?: string;
  readonly startTime?: string;
  readonly endTime?: string;
  readonly description: string;
  readonly affectedEntities: readonly string[];
}

/** Event type codes that are about certificates whatever their description says. */
const CERTIFICATE_CODES = /(CERTIFICATE|_CERT_|_CA_|CA_ROTATION|CERT_ROTATION|_SSL_|_TLS_)/;
/** Codes whose description decides (a lifecycle or maintenance event may be about anything). */
const DESCRIPTION_DECIDES = /(PLANNED_LIFECYCLE_EVENT|MAINTENANCE_SCHEDULED|SCHEDULED_CHANGE|MAINTENANCE)/;
const CERTIFICATE_WORDS =
  /(?<![A-Za-z0-9])(certificates?|cert|CA|certificate authority|SSL\/TLS|SSL|TLS|rds-ca-[a-z0-9-]+|root|intermediate|rotation)(?![A-Za-z0-9])/i;

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The facts of an `aws.health` EventBridge event.
 * @throws InvalidInputError when it is not an AWS Health event or lacks the event ARN or type code
 */
export function parseHealthEvent(event: unknown): HealthEventFacts {
  if (!isRecord(event) || event.source !== 'aws.health' || !isRecord(event.detail)) {
    throw new InvalidInputError('AWS Health event: not an aws.health EventBridge event (source, detail)');
  }
  const detail = event.detail;
  const eventArn = typeof detail.eventArn === 'string' ? detail.eventArn : undefined;
  const eventTypeCode = typeof detail.eventTypeCode === 'string' ? detail.eventTypeCode : undefined;
  if (!eventArn || !eventTypeCode) {
    throw new InvalidInputError(
      `AWS Health event ${String(event.id ?? '(no id)')}: detail.eventArn and detail.eventTypeCode are required`,
    );
  }
  const descriptions = Array.isArray(detail.eventDescription) ? detail.eventDescription.filter(isRecord) : [];
  const english = descriptions.find((d) => d.language === 'en_US') ?? descriptions[0];
  const entities = Array.isArray(detail.affectedEntities) ? detail.affectedEntities.filter(isRecord) : [];
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const resources = Array.isArray(event.resources)
    ? event.resources.filter((r) => typeof r === 'string')
    : [];
  const affected = [
    ...new Set([...entities.map((e) => text(e.entityValue)).filter((v): v is string => !!v), ...resources]),
  ];
  const region = text(detail.eventRegion) ?? text(event.region);
  const account = text(detail.affectedAccount) ?? text(event.account);
  const category = text(detail.eventTypeCategory);
  const status = text(detail.statusCode);
  const start = text(detail.startTime);
  const end = text(detail.endTime);
  return {
    eventArn,
    service: text(detail.service) ?? eventTypeCode.replace(/^AWS_([A-Z0-9]+)_.*$/, '$1'),
    eventTypeCode,
    ...(category ? { eventTypeCategory: category } : {}),
    ...(region ? { region } : {}),
    ...(account ? { account } : {}),
    ...(status ? { statusCode: status } : {}),
    ...(start ? { startTime: start } : {}),
    ...(end ? { endTime: end } : {}),
    description: text(english?.latestDescription) ?? '',
    affectedEntities: affected,
  };
}

/** Whether the event is about certificates: by its code, or by its description for generic codes. */
export function isCertificateHealthEvent(facts: HealthEventFacts): boolean {
  if (CERTIFICATE_CODES.test(facts.eventTypeCode)) return true;
  if (facts.eventTypeCategory !== undefined && facts.eventTypeCategory !== 'scheduledChange') return false;
  return DESCRIPTION_DECIDES.test(facts.eventTypeCode) && CERTIFICATE_WORDS.test(facts.description);
}

/** AWS Health writes RFC 1123 dates in EventBridge events and RFC 3339 in its API; both are read. */
export function parseHealthTime(value: string): DateParse {
  const iso = parseRfc3339(value);
  return iso.ok ? iso : parseRfc822(value);
}

/**
 * One announcement per subscribed upstream the event concerns; none when it is not certificate
 * related, closed, or no subscription selects it.
 */
export function healthAnnouncements(
  event: unknown,
  subscriptions: readonly HealthSubscription[],
): AnnouncementDraft[] {
  const facts = parseHealthEvent(event);
  if (!isCertificateHealthEvent(facts) || facts.statusCode === 'closed') return [];
  const chosen = subscriptions.filter(
    (s) =>
      (!s.services || s.services.some((svc) => svc.toUpperCase() === facts.service.toUpperCase())) &&
      (!s.eventTypeCodes || s.eventTypeCodes.includes(facts.eventTypeCode)) &&
      (!s.region || facts.region === undefined || s.region === facts.region),
  );
  if (chosen.length === 0) return [];
  const reasons: string[] = [];
  let cutover: string | undefined;
  let windowEnd: string | undefined;
  if (facts.startTime !== undefined) {
    const start = parseHealthTime(facts.startTime);
    if (start.ok) cutover = start.at;
    else reasons.push(`startTime: ${start.problem}`);
  } else {
    reasons.push('startTime is missing');
  }
  if (facts.endTime !== undefined) {
    const end = parseHealthTime(facts.endTime);
    if (!end.ok) reasons.push(`endTime: ${end.problem}`);
    else if (cutover !== undefined && end.at < cutover)
      reasons.push(`window end ${end.at} is before its start ${cutover}`);
    else windowEnd = end.at;
  }
  if (cutover === undefined) {
    // Fall back on dates in the description, flagged: the structured start was not usable.
    const dates = findTextDates(facts.description).sort((a, b) => a.at.localeCompare(b.at));
    if (dates[0]) {
      cutover = dates[0].at;
      reasons.push(`cutover taken from the description ("${dates[0].text}"), the earliest date it mentions`);
    } else {
      reasons.push('no date found in the description');
    }
  }
  const title = `AWS Health ${facts.eventTypeCode} (${facts.service}${facts.region ? `, ${facts.region}` : ''})`;
  return chosen.map((s) => ({
    source: 'aws-health',
    sourceId: facts.eventArn,
    upstream: s.upstream,
    title,
    rawText: facts.description,
    link: `https://health.aws.amazon.com/health/home#/account/event-log?eventID=${encodeURIComponent(facts.eventArn)}`,
    ...(cutover ? { cutover } : {}),
    ...(windowEnd ? { windowEnd } : {}),
    affectedResources: facts.affectedEntities,
    keywords: [facts.eventTypeCode],
    needsReview: reasons.length > 0,
    reviewReasons: reasons,
  }));
}
