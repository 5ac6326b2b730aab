/**
 * The event catalogue: every EventBridge detail type certrotor emits, with one versioned schema each.
 * It is the single source of truth: the CDK rule patterns, the Slack formatter, the publishers and the
 * generated reference (docs/events.md, schemas/events/*.json) all read it.
 *
 * Events travel to chat tools and third parties, so the schemas make key material unrepresentable:
 * every object is strict (unknown keys are rejected) and every string refuses PEM blocks, the words
 * `PRIVATE KEY` and long base64 runs, with a final walk over the whole detail as a second guard.
 */
import * as z from 'zod';
import { CertrotorError } from './errors';
import type { OutgoingEvent } from './ports';
import { describeIssues } from './zod-issues';

export const EVENT_SOURCE = 'certrotor' as const;

export const DetailType = {
  CertificateExpiring: 'Certificate Expiring',
  CertificateExpired: 'Certificate Expired',
  RenewalDue: 'Renewal Due',
  EndpointDriftDetected: 'Endpoint Drift Detected',
  EndpointProblemDetected: 'Endpoint Problem Detected',
  RotationStarted: 'Rotation Started',
  RotationSucceeded: 'Rotation Succeeded',
  RotationFailed: 'Rotation Failed',
  RotationRolledBack: 'Rotation Rolled Back',
  UpstreamRotationAnnounced: 'Upstream Rotation Announced',
  UpstreamRotationDeadlineApproaching: 'Upstream Rotation Deadline Approaching',
  UpstreamCertificateChanged: 'Upstream Certificate Changed',
  UpstreamAnnouncementNeedsReview: 'Upstream Announcement Needs Review',
  ConsumersNotReady: 'Consumers Not Ready',
  NotificationDeliveryFailed: 'Notification Delivery Failed',
  ScanMissed: 'Scan Missed',
} as const;

export type DetailTypeName = (typeof DetailType)[keyof typeof DetailType];

/** Every detail type, in catalogue order (for EventBridge rule patterns and documentation). */
export const DETAIL_TYPES: readonly DetailTypeName[] = Object.values(DetailType);

export function isDetailType(value: unknown): value is DetailTypeName {
  return typeof value === 'string' && (DETAIL_TYPES as readonly string[]).includes(value);
}

/** The current schema version of every detail type; bumped per type when its detail changes incompatibly. */
export const SCHEMA_VERSION = 1 as const;

// ---------------------------------------------------------------------------------------------
// Key material guard
// ---------------------------------------------------------------------------------------------

const KEY_MATERIAL = /PRIVATE KEY|-----BEGIN|[A-Za-z0-9+/=]{200}/;

/** True when `text` looks like it carries a PEM block, a private key or a long base64 (DER) blob. */
export function looksLikeKeyMaterial(text: string): boolean {
  return KEY_MATERIAL.test(text);
}

const KEY_MATERIAL_MESSAGE = 'must not contain key material, PEM blocks or long base64 data';

/** A string that can never carry key material; also expressed as a JSON Schema `pattern`. */
function text(description: string, max = 2000) {
  return z
    .string()
    .min(1)
    .max(max)
    .regex(/^(?![\s\S]*(?:PRIVATE KEY|-----BEGIN|[A-Za-z0-9+/=]{200}))[\s\S]*$/, KEY_MATERIAL_MESSAGE)
    .meta({ description });
}

/** Every string anywhere in `value`, with its path, so the final guard can name where key material sits. */
function* strings(value: unknown, path: (string | number)[] = []): Generator<[string, (string | number)[]]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* strings(item, [...path, i]);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) {
      yield [key, path];
      yield* strings(item, [...path, key]);
    }
}

function guardKeyMaterial(detail: unknown, ctx: z.RefinementCtx): void {
  for (const [value, path] of strings(detail)) {
    if (looksLikeKeyMaterial(value)) ctx.addIssue({ code: 'custom', message: KEY_MATERIAL_MESSAGE, path });
  }
}

// ---------------------------------------------------------------------------------------------
// Shared field schemas
// ---------------------------------------------------------------------------------------------

const isoTime = (description: string) => z.iso.datetime({ offset: false }).meta({ description });
const fingerprint = (description: string) =>
  z
    .string()
    .regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'must be an uppercase colon-separated SHA-256 fingerprint')
    .meta({ description });
const environmentName = text('Environment name from configuration.', 200);
const days = (description: string) => z.number().int().meta({ description });
const percent = (description: string) => z.number().min(0).max(100).meta({ description });
const list = <T extends z.ZodType>(item: T, description: string) =>
  z.array(item).max(1000).meta({ description });

/** Finding severities (info, warning, critical) plus `error` for failed workflows. */
export const EVENT_SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type EventSeverity = (typeof EVENT_SEVERITIES)[number];

/** A reference to a certificate by its public facts. Never the body, never a key. */
export const certificateRefSchema = z
  .strictObject({
    name: text('Managed certificate name, when certrotor manages it.', 200).optional(),
    fingerprintSha256: fingerprint('SHA-256 fingerprint, uppercase hex, colon separated.'),
    subject: text('Subject, one line (`CN=api.example.com, O=Example`).', 1000),
    issuer: text('Issuer, one line.', 1000).optional(),
    serialNumber: z
      .string()
      .regex(/^[0-9A-F]{1,64}$/, 'must be uppercase hex')
      .meta({ description: 'Serial number, uppercase hex.' })
      .optional(),
    notAfter: isoTime('Expiry, ISO 8601 UTC.').optional(),
    dnsNames: list(text('A DNS name.', 253), 'DNS subject alternative names.').optional(),
  })
  .meta({ description: 'A certificate by its public facts.' });
export type CertificateRef = z.infer<typeof certificateRefSchema>;

/** Where a certificate was seen: an endpoint, an ACM certificate, a file, a host. */
export const locationSchema = z.strictObject({
  environment: environmentName,
  location: text(
    'Human readable place: `api.example.com:443`, `acm:eu-west-1`, `/etc/nginx/tls/api.pem`.',
    500,
  ),
  source: text('Where it was observed: `probe`, `acm`, `secrets-manager`, `files`, `agent`.', 100).optional(),
  host: text('Host name or address.', 253).optional(),
  port: z.number().int().min(1).max(65535).meta({ description: 'TCP port.' }).optional(),
  servername: text('SNI name used.', 253).optional(),
  address: text('IP address connected to.', 64).optional(),
});
export type EventLocation = z.infer<typeof locationSchema>;

const endpointSchema = z.strictObject({
  environment: environmentName.optional(),
  host: text('Host name or address.', 253),
  port: z.number().int().min(1).max(65535).meta({ description: 'TCP port.' }),
  servername: text('SNI name used.', 253).optional(),
  address: text('IP address connected to.', 64).optional(),
});

const rotationSchema = z.strictObject({
  id: text('Rotation id: the certificate name and version, unique per rotation.', 300),
  name: text('Managed certificate name.', 200),
  version: text('Version being rolled out.', 100),
  trigger: z
    .enum(['schedule', 'manual', 'upstream', 'drift'])
    .meta({ description: 'What started the rotation.' })
    .optional(),
});

const failedHostSchema = z.strictObject({
  target: text('Host or resource that failed.', 500),
  environment: environmentName.optional(),
  destination: text('Destination name from configuration.', 200).optional(),
  reason: text('One line: what went wrong there.', 1000),
});

const hostRefSchema = z.strictObject({
  target: text('Host or resource.', 500),
  environment: environmentName.optional(),
  destination: text('Destination name from configuration.', 200).optional(),
});

const upstreamSchema = z.strictObject({
  name: text('Upstream name from configuration.', 200),
  endpoints: list(text('`host:port`.', 300), 'The upstream endpoints.').optional(),
});

const announcementSchema = z.strictObject({
  id: text('Announcement id, stable across runs.', 300),
  source: z
    .enum(['manual', 'statuspage-json', 'atom', 'rss', 'aws-health', 'observation'])
    .meta({ description: 'Where the announcement came from.' }),
  title: text('Title as announced.', 500).optional(),
  url: z.url().max(2000).meta({ description: 'Link to the announcement.' }).optional(),
  windowStart: isoTime('Overlap window start: old and new material both valid from here.').optional(),
  cutover: isoTime('Cutover: the old material stops working.'),
  deadline: isoTime('Cutover minus the configured safety margin: every consumer must be ready by then.'),
  newFingerprints: list(
    fingerprint('Fingerprint.'),
    'Fingerprints of the announced new material.',
  ).optional(),
  note: text('Free text from the announcement or the operator.').optional(),
});

const consumerSchema = z.strictObject({
  name: text('Host, fleet or destination name.', 300),
  kind: z.enum(['host', 'fleet', 'destination']).meta({ description: 'What the consumer is.' }).optional(),
  environment: environmentName.optional(),
  ready: z
    .boolean()
    .meta({ description: 'Holds the new material (and, where possible, proved it by a handshake).' }),
  reason: text('Why it is not ready, one line.', 1000).optional(),
});

// ---------------------------------------------------------------------------------------------
// Detail schemas
// ---------------------------------------------------------------------------------------------

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

function detail<T extends z.ZodRawShape>(shape: T) {
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
    lastRunAt: isoTime('When it last completed, if ever.').optional(),
    expectedBy: isoTime('When it should have completed.'),
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

// ---------------------------------------------------------------------------------------------
// Building and parsing
// ---------------------------------------------------------------------------------------------

/** An event detail does not match its catalogue schema; `problems` lists each with its path. */
export class EventSchemaError extends CertrotorError {
  constructor(
    readonly detailType: string,
    readonly problems: readonly string[],
  ) {
    super(`event "${detailType}" does not match the catalogue: ${problems.join('; ')}`);
  }
}

function problemsOf(error: z.ZodError): string[] {
  // Messages may quote the input; never echo anything that might be key material.
  return describeIssues(error.issues).map((p) => (looksLikeKeyMaterial(p) ? KEY_MATERIAL_MESSAGE : p));
}

/** Validates `detail` against the schema of `detailType`; returns the parsed detail or throws EventSchemaError. */
export function parseDetail<T extends DetailTypeName>(detailType: T, detail: unknown): EventDetail<T> {
  if (!isDetailType(detailType)) {
    throw new EventSchemaError(String(detailType), [
      `unknown detail type (known: ${DETAIL_TYPES.join(', ')})`,
    ]);
  }
  const schema = detailSchemas[detailType] as z.ZodType;
  const result = schema.safeParse(detail, { reportInput: true });
  if (!result.success) throw new EventSchemaError(detailType, problemsOf(result.error));
  return result.data as EventDetail<T>;
}

/**
 * Builds a publishable event: validates the detail (filling in `schemaVersion`), stamps source and
 * time. Throws EventSchemaError naming every invalid field, so a producer bug never publishes.
 */
export function buildEvent<T extends DetailTypeName>(
  detailType: T,
  detail: EventDetailInput<T>,
  time: Date,
  options: { resources?: readonly string[] } = {},
): OutgoingEvent {
  const parsed = parseDetail(detailType, { schemaVersion: SCHEMA_VERSION, ...detail });
  return {
    source: EVENT_SOURCE,
    detailType,
    time: time.toISOString(),
    detail: parsed as Record<string, unknown>,
    ...(options.resources && options.resources.length > 0 ? { resources: [...options.resources] } : {}),
  };
}

const envelopeSchema = z.object({
  id: z.string().optional(),
  source: z.string(),
  'detail-type': z.string().optional(),
  detailType: z.string().optional(),
  time: z.string(),
  resources: z.array(z.string()).optional(),
  detail: z.unknown(),
});

/**
 * Parses an event as received: the EventBridge envelope (`detail-type`, `source`, `detail`, `time`)
 * or certrotor's own OutgoingEvent shape (`detailType`), e.g. a line of the local JSONL sink.
 * Extra envelope fields (account, region, version) are allowed; the detail must match the catalogue.
 */
export function parseEvent(raw: unknown): CatalogueEvent {
  const envelope = envelopeSchema.safeParse(typeof raw === 'string' ? safeJson(raw) : raw, {
    reportInput: true,
  });
  if (!envelope.success) throw new EventSchemaError('(envelope)', problemsOf(envelope.error));
  const { source, time, resources, id, detail } = envelope.data;
  const detailType = envelope.data['detail-type'] ?? envelope.data.detailType;
  if (source !== EVENT_SOURCE) {
    throw new EventSchemaError(String(detailType), [`source: expected "${EVENT_SOURCE}", got "${source}"`]);
  }
  if (detailType === undefined) throw new EventSchemaError('(envelope)', ['detail-type: is required']);
  if (!isDetailType(detailType)) {
    throw new EventSchemaError(detailType, [`unknown detail type (known: ${DETAIL_TYPES.join(', ')})`]);
  }
  const version = (detail as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== undefined && version !== SCHEMA_VERSION) {
    throw new EventSchemaError(detailType, [
      `detail.schemaVersion: version ${String(version)} is not supported (supported: ${SCHEMA_VERSION})`,
    ]);
  }
  return {
    source: EVENT_SOURCE,
    detailType,
    time,
    detail: parseDetail(detailType, detail),
    resources: resources ?? [],
    ...(id === undefined ? {} : { id }),
  } as CatalogueEvent;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new EventSchemaError('(envelope)', [`not JSON: ${(error as Error).message}`]);
  }
}

/** `Certificate Expiring` → `certificate-expiring`: file names and anchors. */
export function slugOf(detailType: DetailTypeName): string {
  return detailType.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** JSON Schema (draft-07) of every detail type, keyed by detail type; for docs, editors and schema registries. */
export function eventJsonSchemas(): Record<DetailTypeName, Record<string, unknown>> {
  const out = {} as Record<DetailTypeName, Record<string, unknown>>;
  for (const type of DETAIL_TYPES) {
    const schema = z.toJSONSchema(detailSchemas[type], { target: 'draft-07', io: 'input' });
    out[type] = {
      ...schema,
      $id: `https://certrotor.dev/schemas/events/${slugOf(type)}.v${SCHEMA_VERSION}.json`,
      title: `${type} (certrotor event detail, version ${SCHEMA_VERSION})`,
      description: catalogue[type].emittedWhen,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Catalogue entries: when each type is emitted and an example, for the reference and the tests
// ---------------------------------------------------------------------------------------------

export interface CatalogueEntry<T extends DetailTypeName> {
  readonly detailType: T;
  /** When certrotor emits it (one or two sentences). */
  readonly emittedWhen: string;
  /** How its dedupe key is formed. */
  readonly dedupeKeyRule: string;
  readonly example: EventDetail<T>;
}

const FP_OLD =
  '3F:2A:9C:11:D4:7E:05:B8:6A:C2:19:E0:4D:77:8B:31:A5:0C:F6:92:1E:DB:48:63:7A:0F:C9:55:B2:84:6E:D1';
const FP_NEW =
  '8C:51:E7:0A:3B:96:D2:4F:18:C5:7A:E3:09:6D:B1:42:F8:2E:95:0B:D7:63:A4:1C:5F:E8:37:9A:C0:26:4B:7D';
const FP_OLD_HEX = FP_OLD.replace(/:/g, '');
const exampleCertificate = {
  name: 'api-public',
  fingerprintSha256: FP_OLD,
  subject: 'CN=api.example.com',
  issuer: 'CN=Example Issuing CA 1, O=Example',
  serialNumber: '5A1F09C3E2B7',
  notAfter: '2026-03-14T12:00:00.000Z',
  dnsNames: ['api.example.com', 'api.eu.example.com'],
};
const exampleNew = {
  ...exampleCertificate,
  fingerprintSha256: FP_NEW,
  serialNumber: '7C22D4A190FE',
  notAfter: '2026-06-12T12:00:00.000Z',
};
function upstreamCertificate({ name: _name, ...facts }: typeof exampleCertificate) {
  return { ...facts, subject: 'CN=api.pay.example.net', dnsNames: ['api.pay.example.net'] };
}
const common = {
  schemaVersion: SCHEMA_VERSION,
  occurredAt: '2026-02-26T09:00:00.000Z',
  owner: 'platform',
  runbookUrl: 'https://runbooks.example.com/certrotor/certificate-expiring',
};
const exampleRotation = {
  id: 'api-public/20260226T090000Z',
  name: 'api-public',
  version: '20260226T090000Z',
  trigger: 'schedule' as const,
};
const exampleUpstream = { name: 'payments-gateway', endpoints: ['api.pay.example.net:443'] };
const exampleAnnouncement = {
  id: 'payments-gateway/statuspage/k3v9x',
  source: 'statuspage-json' as const,
  title: 'Client certificate CA rotation',
  url: 'https://status.pay.example.net/incidents/k3v9x',
  windowStart: '2026-03-01T00:00:00.000Z',
  cutover: '2026-03-31T08:00:00.000Z',
  deadline: '2026-03-24T08:00:00.000Z',
};

/** Every detail type with when it is emitted and an example detail (valid against its schema; tested). */
export const catalogue: { readonly [T in DetailTypeName]: CatalogueEntry<T> } = {
  'Certificate Expiring': {
    detailType: 'Certificate Expiring',
    emittedWhen:
      'A certificate (managed or only observed) crosses an alert threshold (by default 30, 14, 7, 3 and 1 days before notAfter). Emitted once per certificate version and threshold; every place the certificate is seen is listed.',
    dedupeKeyRule: '`expiry:<fingerprint hex>:<threshold>d`, one per certificate version and threshold',
    example: {
      ...common,
      dedupeKey: `expiry:${FP_OLD_HEX}:14d`,
      severity: 'warning',
      environments: ['prod-eu', 'staging'],
      summary: 'api.example.com expires in 13 days (also in staging)',
      certificate: exampleCertificate,
      daysLeft: 13,
      threshold: 14,
      locations: [
        {
          environment: 'prod-eu',
          location: 'api.example.com:443',
          source: 'probe',
          host: 'api.example.com',
          port: 443,
          address: '203.0.113.10',
        },
        { environment: 'staging', location: 'acm:eu-west-1', source: 'acm' },
      ],
      managed: true,
    },
  },
  'Certificate Expired': {
    detailType: 'Certificate Expired',
    emittedWhen:
      'A certificate is past its notAfter and is still observed somewhere (an endpoint, a source, a host report).',
    dedupeKeyRule: '`expiry:<fingerprint hex>:expired`',
    example: {
      ...common,
      dedupeKey: `expiry:${FP_OLD_HEX}:expired`,
      severity: 'critical',
      environments: ['prod-eu'],
      certificate: exampleCertificate,
      expiredAt: '2026-03-14T12:00:00.000Z',
      daysLeft: -1,
      locations: [
        {
          environment: 'prod-eu',
          location: 'ingress-1:8443',
          source: 'probe',
          host: 'ingress-1',
          port: 8443,
        },
      ],
      managed: false,
    },
  },
  'Renewal Due': {
    detailType: 'Renewal Due',
    emittedWhen:
      'A managed certificate reached its renewal time (renewBefore, renewBeforePercentage or one third of its lifetime left); the planner starts a rotation for it.',
    dedupeKeyRule: '`renewal-due:<fingerprint hex>`',
    example: {
      ...common,
      dedupeKey: `renewal-due:${FP_OLD_HEX}`,
      severity: 'info',
      environments: ['prod-eu', 'staging'],
      certificate: exampleCertificate,
      name: 'api-public',
      renewAt: '2026-02-12T12:00:00.000Z',
      daysLeft: 16,
      reason: 'renewal-window',
    },
  },
  'Endpoint Drift Detected': {
    detailType: 'Endpoint Drift Detected',
    emittedWhen:
      'An endpoint or host serves or holds something other than the current version of its managed certificate (a stale file, a process never reloaded, a wrong certificate). The same certificate is checked in every other environment in the same run.',
    dedupeKeyRule: "`drift:<endpoint>:<served fingerprint hex>` (the first drift's finding key)",
    example: {
      ...common,
      dedupeKey: `drift:web-7:8443:${FP_OLD_HEX}`,
      severity: 'error',
      environments: ['prod-eu'],
      certificate: exampleNew,
      drifts: [
        {
          environment: 'prod-eu',
          endpoint: 'web-7:8443 (api.example.com)',
          address: '10.0.3.7',
          expectedFingerprint: FP_NEW,
          servedFingerprint: FP_OLD,
          reason: 'not-reloaded',
          source: 'probe',
        },
      ],
      checkedEnvironments: ['prod-eu', 'prod-us', 'staging'],
    },
  },
  'Endpoint Problem Detected': {
    detailType: 'Endpoint Problem Detected',
    emittedWhen:
      'A fresh handshake to an endpoint finds a problem other than expiry: hostname mismatch, incomplete chain, an expired certificate inside the chain, a not-yet-valid certificate, a weak key (RSA below 2048), an untrusted chain, no certificate, or the endpoint is unreachable.',
    dedupeKeyRule:
      'the finding key: `<problem>:<endpoint>:<fingerprint hex>` (e.g. `incomplete-chain:…`), or `probe-failed:<endpoint>`',
    example: {
      ...common,
      dedupeKey: `incomplete-chain:internal-api:8443:${FP_OLD_HEX}`,
      severity: 'error',
      environments: ['staging'],
      certificate: exampleCertificate,
      endpoint: {
        environment: 'staging',
        host: 'internal-api',
        port: 8443,
        servername: 'internal-api.example.com',
        address: '10.1.0.4',
      },
      problems: [
        {
          kind: 'incomplete-chain',
          message: 'served chain ends at CN=Example Issuing CA 1 without reaching a trusted root',
        },
      ],
    },
  },
  'Rotation Started': {
    detailType: 'Rotation Started',
    emittedWhen:
      'A rotation of a managed certificate begins (scheduled, manual, upstream-driven or to repair drift).',
    dedupeKeyRule: '`rotation-started:<rotation id>`',
    example: {
      ...common,
      dedupeKey: `rotation-started:${exampleRotation.id}`,
      severity: 'info',
      environments: ['prod-eu', 'staging'],
      rotation: exampleRotation,
      previous: exampleCertificate,
      destinations: ['web-fleet', 'api-secret'],
      targets: 12,
    },
  },
  'Rotation Succeeded': {
    detailType: 'Rotation Succeeded',
    emittedWhen:
      'Every target verified the new version and it was promoted; the previous version is kept for rollback.',
    dedupeKeyRule: '`rotation-succeeded:<rotation id>`',
    example: {
      ...common,
      dedupeKey: `rotation-succeeded:${exampleRotation.id}`,
      severity: 'info',
      environments: ['prod-eu', 'staging'],
      rotation: exampleRotation,
      certificate: exampleNew,
      previous: exampleCertificate,
      verifiedHosts: [
        { target: 'web-1', environment: 'prod-eu', destination: 'web-fleet' },
        { target: 'certrotor/api-public', environment: 'prod-eu', destination: 'api-secret' },
      ],
      convergencePercent: 100,
    },
  },
  'Rotation Failed': {
    detailType: 'Rotation Failed',
    emittedWhen:
      'A rotation stopped before promotion: issuing, staging, distribution or verification failed. The previous version stays current; failed hosts are named with their reasons.',
    dedupeKeyRule: '`rotation-failed:<rotation id>`',
    example: {
      ...common,
      dedupeKey: `rotation-failed:${exampleRotation.id}`,
      severity: 'error',
      environments: ['prod-eu'],
      rotation: exampleRotation,
      certificate: exampleNew,
      previous: exampleCertificate,
      stage: 'verify',
      error: '1 of 12 hosts did not serve the new certificate before the verification deadline',
      failedHosts: [
        {
          target: 'web-7',
          environment: 'prod-eu',
          destination: 'web-fleet',
          reason: 'still serves 3F2A9C11D47E after reload',
        },
      ],
      convergencePercent: 91.7,
      rolledBack: true,
    },
  },
  'Rotation Rolled Back': {
    detailType: 'Rotation Rolled Back',
    emittedWhen:
      'Targets already changed by a failed rotation were restored to the previous version, and the restoration verified.',
    dedupeKeyRule: '`rotation-rolled-back:<rotation id>`',
    example: {
      ...common,
      dedupeKey: `rotation-rolled-back:${exampleRotation.id}`,
      severity: 'warning',
      environments: ['prod-eu'],
      rotation: exampleRotation,
      certificate: exampleNew,
      previous: exampleCertificate,
      failedHosts: [
        {
          target: 'web-7',
          environment: 'prod-eu',
          destination: 'web-fleet',
          reason: 'health check failed: connection refused',
        },
      ],
      restoredHosts: [{ target: 'web-1', environment: 'prod-eu', destination: 'web-fleet' }],
      rollbackVerified: true,
      convergencePercent: 8.3,
    },
  },
  'Upstream Rotation Announced': {
    detailType: 'Upstream Rotation Announced',
    emittedWhen:
      'A new upstream rotation announcement is recorded (manual, status-page feed, AWS Health, or inferred from an observed change), with its window, deadline and every consumer.',
    dedupeKeyRule: '`upstream-rotation-announced:<announcement id>`',
    example: {
      ...common,
      dedupeKey: `upstream-rotation-announced:${exampleAnnouncement.id}`,
      severity: 'info',
      environments: ['prod-eu', 'prod-us'],
      upstream: exampleUpstream,
      announcement: exampleAnnouncement,
      consumers: [
        {
          name: 'checkout-1',
          kind: 'host',
          environment: 'prod-eu',
          ready: false,
          reason: 'holds only the old client certificate',
        },
        {
          name: 'billing-worker',
          kind: 'fleet',
          environment: 'prod-us',
          ready: false,
          reason: 'no report yet',
        },
      ],
    },
  },
  'Upstream Rotation Deadline Approaching': {
    detailType: 'Upstream Rotation Deadline Approaching',
    emittedWhen:
      'An upstream rotation deadline (cutover minus safety margin) crosses a configured threshold while it is not completed.',
    dedupeKeyRule: '`upstream-window:<announcement id>:<threshold>d` (or `:overdue`)',
    example: {
      ...common,
      dedupeKey: `upstream-window:${exampleAnnouncement.id}:7d`,
      severity: 'warning',
      environments: ['prod-us'],
      upstream: exampleUpstream,
      announcement: exampleAnnouncement,
      stage: 'deadline-approaching',
      daysLeft: 6,
      threshold: 7,
      consumersNotReady: [
        {
          name: 'billing-worker',
          kind: 'fleet',
          environment: 'prod-us',
          ready: false,
          reason: 'no report yet',
        },
      ],
      consumersReady: 3,
      consumersTotal: 4,
    },
  },
  'Upstream Certificate Changed': {
    detailType: 'Upstream Certificate Changed',
    emittedWhen:
      'An upstream endpoint starts serving a different leaf, issuer or root than last observed, announced or not. Consumers pinning or trusting only the old material are named.',
    dedupeKeyRule: '`upstream-certificate-changed:<upstream>:<new fingerprint hex>`',
    example: {
      ...common,
      dedupeKey: `upstream-certificate-changed:payments-gateway:${FP_NEW.replace(/:/g, '')}`,
      severity: 'error',
      environments: ['prod-eu'],
      upstream: exampleUpstream,
      endpoint: { host: 'api.pay.example.net', port: 443, address: '198.51.100.7' },
      certificate: upstreamCertificate(exampleNew),
      previous: upstreamCertificate(exampleCertificate),
      changes: ['leaf', 'issuer'],
      announced: false,
      consumersAffected: [
        {
          name: 'checkout-1',
          kind: 'host',
          environment: 'prod-eu',
          ready: false,
          reason: 'pins the previous fingerprint',
        },
      ],
    },
  },
  'Upstream Announcement Needs Review': {
    detailType: 'Upstream Announcement Needs Review',
    emittedWhen:
      'A feed item looks like a certificate rotation but its dates or scope are missing or ambiguous; a human decides instead of certrotor guessing.',
    dedupeKeyRule: '`upstream-announcement-needs-review:<upstream>:<item id or url>`',
    example: {
      ...common,
      dedupeKey:
        'upstream-announcement-needs-review:payments-gateway:https://status.pay.example.net/incidents/q1w2',
      severity: 'warning',
      environments: ['prod-eu', 'prod-us'],
      upstream: exampleUpstream,
      feed: { kind: 'atom', url: 'https://status.pay.example.net/history.atom' },
      title: 'Upcoming TLS certificate update',
      reason: 'no cutover date found in the item',
      excerpt: 'We will update our TLS certificates in the coming weeks.',
      itemUrl: 'https://status.pay.example.net/incidents/q1w2',
    },
  },
  'Consumers Not Ready': {
    detailType: 'Consumers Not Ready',
    emittedWhen:
      'At a configured threshold before an upstream rotation deadline, one or more consumers still lack the new material; each is named with the reason.',
    dedupeKeyRule: '`consumers-not-ready:<announcement id>:<threshold>d` (or `:overdue`)',
    example: {
      ...common,
      dedupeKey: `consumers-not-ready:${exampleAnnouncement.id}:3d`,
      severity: 'critical',
      environments: ['prod-us'],
      upstream: exampleUpstream,
      announcement: exampleAnnouncement,
      daysLeft: 2,
      hoursLeft: 50.5,
      consumersNotReady: [
        {
          name: 'billing-worker',
          kind: 'fleet',
          environment: 'prod-us',
          ready: false,
          reason: 'test handshake with the new client certificate failed',
        },
      ],
      consumersReady: 3,
      consumersTotal: 4,
      readyPercent: 75,
    },
  },
  'Notification Delivery Failed': {
    detailType: 'Notification Delivery Failed',
    emittedWhen:
      'A notification could not be delivered: a permanent failure (400/403/404/410) or retries exhausted. Routed to another channel so an operator can fix the webhook.',
    dedupeKeyRule: '`notification-delivery-failed:<channel>:<original dedupe key>`',
    example: {
      ...common,
      dedupeKey: `notification-delivery-failed:payments-alerts:expiry:${FP_OLD_HEX}:14d`,
      severity: 'error',
      environments: [],
      channel: 'payments-alerts',
      status: 404,
      permanent: true,
      attempts: 1,
      error: 'Slack answered 404 channel_not_found',
      originalDetailType: 'Certificate Expiring',
      originalDedupeKey: `expiry:${FP_OLD_HEX}:14d`,
    },
  },
  'Scan Missed': {
    detailType: 'Scan Missed',
    emittedWhen:
      "A scheduled job (inventory, probe, upstream watch, digest) did not complete on schedule: certrotor's own dead man's switch.",
    dedupeKeyRule: '`scan-missed:<schedule>:<expectedBy>`',
    example: {
      ...common,
      dedupeKey: 'scan-missed:probe:2026-02-26T09:00:00.000Z',
      severity: 'error',
      environments: [],
      schedule: 'probe',
      lastRunAt: '2026-02-26T06:00:12.000Z',
      expectedBy: '2026-02-26T09:00:00.000Z',
    },
  },
};
