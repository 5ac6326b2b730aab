/**
 * Field schemas shared by several detail types (certificate references, locations, hosts, upstreams).
 */
import * as z from 'zod';
import { text } from './key-material';

export const isoTime = (description: string) => z.iso.datetime({ offset: false }).meta({ description });
export const fingerprint = (description: string) =>
  z
    .string()
    .regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'must be an uppercase colon-separated SHA-256 fingerprint')
    .meta({ description });
export const environmentName = text('Environment name from configuration.', 200);
export const days = (description: string) => z.number().int().meta({ description });
export const percent = (description: string) => z.number().min(0).max(100).meta({ description });
export const list = <T extends z.ZodType>(item: T, description: string) =>
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
    notBefore: isoTime(
      'Start of validity, ISO 8601 UTC: with notAfter, the lifetime the alert thresholds scale with.',
    ).optional(),
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

export const endpointSchema = z.strictObject({
  environment: environmentName.optional(),
  host: text('Host name or address.', 253),
  port: z.number().int().min(1).max(65535).meta({ description: 'TCP port.' }),
  servername: text('SNI name used.', 253).optional(),
  address: text('IP address connected to.', 64).optional(),
});

export const rotationSchema = z.strictObject({
  id: text('Rotation id: the certificate name and version, unique per rotation.', 300),
  name: text('Managed certificate name.', 200),
  version: text('Version being rolled out.', 100),
  trigger: z
    .enum(['schedule', 'manual', 'upstream', 'drift'])
    .meta({ description: 'What started the rotation.' })
    .optional(),
});

export const failedHostSchema = z.strictObject({
  target: text('Host or resource that failed.', 500),
  environment: environmentName.optional(),
  destination: text('Destination name from configuration.', 200).optional(),
  reason: text('One line: what went wrong there.', 1000),
});

export const hostRefSchema = z.strictObject({
  target: text('Host or resource.', 500),
  environment: environmentName.optional(),
  destination: text('Destination name from configuration.', 200).optional(),
});

export const upstreamSchema = z.strictObject({
  name: text('Upstream name from configuration.', 200),
  endpoints: list(text('`host:port`.', 300), 'The upstream endpoints.').optional(),
});

export const announcementSchema = z.strictObject({
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

export const consumerSchema = z.strictObject({
  name: text('Host, fleet or destination name.', 300),
  kind: z.enum(['host', 'fleet', 'destination']).meta({ description: 'What the consumer is.' }).optional(),
  environment: environmentName.optional(),
  ready: z
    .boolean()
    .meta({ description: 'Holds the new material (and, where possible, proved it by a handshake).' }),
  reason: text('Why it is not ready, one line.', 1000).optional(),
});
