/**
 * One strict, versioned schema per detail type, and the TypeScript types derived from them.
 */
import * as z from 'zod';
import {
  DETAIL_TYPES,
  DetailType,
  type DetailTypeName,
  type EVENT_SOURCE,
  SCHEMA_VERSION,
} from './detail-types';
import { guardKeyMaterial, text } from './key-material';
import {
  EVENT_SEVERITIES,
  announcementSchema,
  certificateRefSchema,
  consumerSchema,
  days,
  endpointSchema,
  environmentName,
  failedHostSchema,
  fingerprint,
  hostRefSchema,
  isoTime,
  list,
  locationSchema,
  percent,
  rotationSchema,
  upstreamSchema,
} from './fields';

const commonShape = {
  schemaVersion: z.literal(SCHEMA_VERSION).meta({ description: 'Detail schema version.' }),
  dedupeKey: text(
    'Deduplication key: the same finding for the same certificate version and threshold always has the same key.',
    512,
  ),
  severity: z.enum(EVENT_SEVERITIES).meta({ description: 'info, warning, error or critical.' }),
  occurredAt: isoTime('When certrotor observed or decided this, ISO 8601 UTC.'),
  environments: list(environmentName, 'Every environment affected (not only where it was first seen).'),
  summary: text('One line for humans.', 500).optional(),
  owner: text('Owner (team) from configuration.', 200).optional(),
  runbookUrl: z.url().max(2000).meta({ description: 'What to do about it.' }).optional(),
};

const optionalCertificate = certificateRefSchema.optional();

export function detail<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject({ ...commonShape, ...shape }).superRefine(guardKeyMaterial);
}

export const detailSchemas = {
  [DetailType.CertificateExpiring]: detail({
    certificate: certificateRefSchema,
    daysLeft: days('Whole days until notAfter.'),
    threshold: z
      .number()
      .positive()
      .meta({ description: 'The alert threshold crossed, in days (fractions allowed).' }),
    locations: list(locationSchema, 'Everywhere this certificate was seen.').min(1),
    managed: z.boolean().meta({ description: 'certrotor manages (and can rotate) this certificate.' }),
    upstream: text(
      'Upstream name, when this is an upstream certificate nearing expiry unannounced.',
      200,
    ).optional(),
  }),
  [DetailType.CertificateExpired]: detail({
    certificate: certificateRefSchema,
    expiredAt: isoTime('notAfter of the expired certificate.'),
    daysLeft: days('Whole days until notAfter: zero or negative.'),
    locations: list(locationSchema, 'Everywhere this certificate is still seen.').min(1),
    managed: z.boolean().meta({ description: 'certrotor manages (and can rotate) this certificate.' }),
    upstream: text('Upstream name, when this is an upstream certificate.', 200).optional(),
  }),
  [DetailType.RenewalDue]: detail({
    certificate: certificateRefSchema,
    name: text('Managed certificate name.', 200),
    renewAt: isoTime('When policy said to renew.'),
    daysLeft: days('Whole days until notAfter of the current certificate.'),
    reason: z
      .enum(['renewal-window', 'expired', 'not-issued', 'names-changed', 'key-spec-changed', 'manual'])
      .meta({ description: 'Why renewal is due.' }),
  }),
  [DetailType.EndpointDriftDetected]: detail({
    certificate: certificateRefSchema.meta({ description: 'The certificate the endpoints should serve.' }),
    drifts: list(
      z.strictObject({
        environment: environmentName,
        endpoint: text('`host:port` (and SNI name) or host name.', 500),
        address: text('IP address connected to.', 64).optional(),
        expectedFingerprint: fingerprint('What should be served.'),
        servedFingerprint: fingerprint('What is served or installed.').optional(),
        reason: z
          .enum([
            'unexpected-certificate',
            'stale-file',
            'not-reloaded',
            'agent-report-mismatch',
            'missing',
            'stale-report',
          ])
          .meta({ description: 'The kind of drift.' }),
        source: z.enum(['probe', 'agent']).meta({ description: 'How the drift was seen.' }),
      }),
      'Every place that disagrees with the current version.',
    ).min(1),
    checkedEnvironments: list(
      environmentName,
      'Environments checked for the same certificate in the same run.',
    ),
  }),
  [DetailType.EndpointProblemDetected]: detail({
    certificate: optionalCertificate.meta({ description: 'The served leaf, when one was served.' }),
    endpoint: endpointSchema,
    problems: list(
      z.strictObject({
        kind: z
          .enum([
            'hostname-mismatch',
            'incomplete-chain',
            'expired-in-chain',
            'not-yet-valid',
            'weak-key',
            'untrusted',
            'unreachable',
            'no-certificate',
          ])
          .meta({ description: 'The kind of problem.' }),
        message: text('One line describing it.', 1000),
      }),
      'Every problem found on this endpoint.',
    ).min(1),
  }),
  [DetailType.RotationStarted]: detail({
    rotation: rotationSchema,
    certificate: optionalCertificate.meta({ description: 'The new certificate, when already issued.' }),
    previous: optionalCertificate.meta({ description: 'The certificate being replaced, if any.' }),
    destinations: list(text('Destination name.', 200), 'Destinations the new version goes to.'),
    targets: z.number().int().min(0).meta({ description: 'Number of hosts and resources to update.' }),
    dryRun: z.boolean().meta({ description: 'Nothing is changed.' }).optional(),
  }),
  [DetailType.RotationSucceeded]: detail({
    rotation: rotationSchema,
    certificate: certificateRefSchema.meta({ description: 'The new certificate, now current.' }),
    previous: optionalCertificate.meta({ description: 'The replaced certificate, kept for rollback.' }),
    verifiedHosts: list(
      hostRefSchema,
      'Every host and resource verified serving or holding the new version.',
    ),
    convergencePercent: percent('Share of targets verified on the new version.'),
  }),
  [DetailType.RotationFailed]: detail({
    rotation: rotationSchema,
    certificate: optionalCertificate.meta({ description: 'The new certificate, when issued.' }),
    previous: optionalCertificate.meta({ description: 'The certificate still current.' }),
    stage: z
      .enum(['issue', 'stage', 'distribute', 'verify', 'promote', 'rollback'])
      .meta({ description: 'The step that failed.' }),
    error: text('One line: what failed.', 1000),
    failedHosts: list(failedHostSchema, 'Every host or resource that failed, with its reason.'),
    convergencePercent: percent('Share of targets that had been verified on the new version.'),
    rolledBack: z.boolean().meta({ description: 'Changed targets were restored to the previous version.' }),
  }),
  [DetailType.RotationRolledBack]: detail({
    rotation: rotationSchema,
    certificate: optionalCertificate.meta({ description: 'The abandoned new certificate.' }),
    previous: certificateRefSchema.meta({ description: 'The certificate restored.' }),
    failedHosts: list(failedHostSchema, 'The hosts whose failure caused the rollback, with reasons.'),
    restoredHosts: list(hostRefSchema, 'Hosts and resources restored to the previous version.'),
    rollbackVerified: z
      .boolean()
      .meta({ description: 'Every restored target was verified serving the previous version.' }),
    convergencePercent: percent(
      'Share of targets that had been verified on the new version before rolling back.',
    ),
  }),
  [DetailType.UpstreamRotationAnnounced]: detail({
    upstream: upstreamSchema,
    announcement: announcementSchema,
    certificate: optionalCertificate.meta({
      description: 'The certificate the upstream serves now, when known.',
    }),
    consumers: list(consumerSchema, 'Every consumer of the upstream and its readiness.'),
  }),
  [DetailType.UpstreamRotationDeadlineApproaching]: detail({
    upstream: upstreamSchema,
    announcement: announcementSchema,
    stage: z
      .enum(['announced', 'window-open', 'deadline-approaching', 'overdue', 'completed'])
      .meta({ description: 'Where the rotation window stands.' }),
    daysLeft: days('Whole days until the deadline.'),
    threshold: z
      .union([z.number().positive(), z.literal('overdue')])
      .meta({ description: 'The threshold crossed: days before the deadline, or `overdue`.' }),
    consumersNotReady: list(consumerSchema, 'Consumers not ready yet.'),
    consumersReady: z.number().int().min(0).meta({ description: 'Number of ready consumers.' }),
    consumersTotal: z.number().int().min(0).meta({ description: 'Number of consumers.' }),
  }),
  [DetailType.UpstreamCertificateChanged]: detail({
    upstream: upstreamSchema,
    endpoint: endpointSchema,
    certificate: certificateRefSchema.meta({ description: 'What the upstream serves now.' }),
    previous: certificateRefSchema.meta({ description: 'What it served before.' }),
    changes: list(z.enum(['leaf', 'issuer', 'root']), 'What changed in the served chain.').min(1),
    announced: z.boolean().meta({ description: 'A known announcement covers this change.' }),
    announcementId: text('The announcement covering it.', 300).optional(),
    consumersAffected: list(consumerSchema, 'Consumers pinning or trusting only the previous material.'),
  }),
  [DetailType.UpstreamAnnouncementNeedsReview]: detail({
    upstream: upstreamSchema,
    feed: z.strictObject({
      kind: z.enum(['statuspage-json', 'atom', 'rss', 'aws-health']).meta({ description: 'Feed kind.' }),
      url: z.url().max(2000).meta({ description: 'Feed address.' }).optional(),
    }),
    title: text('Item title as published.', 500),
    reason: text('Why it needs a human: missing or ambiguous dates, unclear scope.', 1000),
    excerpt: text('The raw text, truncated.', 2000).optional(),
    itemUrl: z.url().max(2000).meta({ description: 'Link to the item.' }).optional(),
  }),
  [DetailType.ConsumersNotReady]: detail({
    upstream: upstreamSchema,
    announcement: announcementSchema,
    daysLeft: days('Whole days until the deadline (negative when overdue).'),
    hoursLeft: z.number().meta({ description: 'Hours until the deadline (negative when overdue).' }),
    consumersNotReady: list(consumerSchema, 'Every consumer not ready, with the reason.').min(1),
    consumersReady: z.number().int().min(0).meta({ description: 'Number of ready consumers.' }),
    consumersTotal: z.number().int().min(0).meta({ description: 'Number of consumers.' }),
    readyPercent: percent('Share of consumers ready.'),
  }),
  [DetailType.NotificationDeliveryFailed]: detail({
    channel: text('Channel name from configuration.', 200),
    status: z
      .number()
      .int()
      .min(100)
      .max(599)
      .meta({ description: 'HTTP status, when one was received.' })
      .optional(),
    permanent: z.boolean().meta({ description: 'Not retried: the webhook or channel needs an operator.' }),
    attempts: z.number().int().min(1).meta({ description: 'Delivery attempts made.' }),
    error: text('One line from the delivery.', 1000),
    originalDetailType: z.enum(DETAIL_TYPES as [DetailTypeName, ...DetailTypeName[]]).meta({
      description: 'Detail type of the undelivered event.',
    }),
    originalDedupeKey: text('Deduplication key of the undelivered event.', 512),
  }),
  [DetailType.ScanMissed]: detail({
    schedule: z
      .enum(['inventory', 'probe', 'upstream', 'digest'])
      .meta({ description: 'The job that did not run.' }),
    placement: text(
      "The network placement whose probe did not run (the construct's networkPlacements[].name); absent for the probe outside any VPC and the other jobs.",
      200,
    ).optional(),
    lastRunAt: isoTime('When it last completed, if ever.').optional(),
    expectedBy: isoTime('When it should have completed.'),
  }),
  [DetailType.ClientCertificateSunset]: detail({
    certificate: certificateRefSchema.meta({ description: 'The client certificate presented.' }),
    upstream: upstreamSchema.meta({
      description: 'The upstream it is presented to as a client certificate.',
    }),
    authority: text('Who stops clientAuth issuance: the CA, or a root program for every public CA.', 200),
    sunsetDate: z.iso
      .date()
      .meta({ description: 'From this day (UTC) it can no longer be renewed with clientAuth.' }),
    daysLeft: days('Whole days until the sunset date (zero or negative from it on).'),
    locations: list(locationSchema, 'Where it is recorded (the upstream) and seen (hosts, inventory).').min(
      1,
    ),
    source: z.url().max(2000).meta({ description: 'The announcement of the sunset.' }).optional(),
  }),
} as const satisfies Record<DetailTypeName, z.ZodType>;

type Schemas = typeof detailSchemas;
/** The detail of `T` as it is after validation. */
export type EventDetail<T extends DetailTypeName> = z.output<Schemas[T]>;
/** What a producer passes to `buildEvent`: `schemaVersion` is filled in. */
export type EventDetailInput<T extends DetailTypeName> = Omit<z.input<Schemas[T]>, 'schemaVersion'> & {
  schemaVersion?: typeof SCHEMA_VERSION;
};

export type CertificateExpiringDetail = EventDetail<'Certificate Expiring'>;
export type CertificateExpiredDetail = EventDetail<'Certificate Expired'>;
export type RenewalDueDetail = EventDetail<'Renewal Due'>;
export type EndpointDriftDetectedDetail = EventDetail<'Endpoint Drift Detected'>;
export type EndpointProblemDetectedDetail = EventDetail<'Endpoint Problem Detected'>;
export type RotationStartedDetail = EventDetail<'Rotation Started'>;
export type RotationSucceededDetail = EventDetail<'Rotation Succeeded'>;
export type RotationFailedDetail = EventDetail<'Rotation Failed'>;
export type RotationRolledBackDetail = EventDetail<'Rotation Rolled Back'>;
export type UpstreamRotationAnnouncedDetail = EventDetail<'Upstream Rotation Announced'>;
export type UpstreamRotationDeadlineApproachingDetail = EventDetail<'Upstream Rotation Deadline Approaching'>;
export type UpstreamCertificateChangedDetail = EventDetail<'Upstream Certificate Changed'>;
export type UpstreamAnnouncementNeedsReviewDetail = EventDetail<'Upstream Announcement Needs Review'>;
export type ConsumersNotReadyDetail = EventDetail<'Consumers Not Ready'>;
export type NotificationDeliveryFailedDetail = EventDetail<'Notification Delivery Failed'>;
export type ScanMissedDetail = EventDetail<'Scan Missed'>;
export type ClientCertificateSunsetDetail = EventDetail<'Client Certificate Sunset'>;

/** A validated event of one detail type: what consumers (the Slack notifier, tests) work with. */
export type CatalogueEvent = {
  [T in DetailTypeName]: {
    readonly source: typeof EVENT_SOURCE;
    readonly detailType: T;
    readonly time: string;
    readonly detail: EventDetail<T>;
    readonly resources: readonly string[];
    /** EventBridge event id, when the event came through EventBridge. */
    readonly id?: string;
  };
}[DetailTypeName];
