/**
 * Upstreams: external services we connect to, whose certificates rotate on their schedule, and the feeds that announce it.
 */
import * as z from 'zod';
import {
  duration,
  environmentRef,
  feedUrl,
  fingerprint,
  hostName,
  httpUrl,
  name,
  port,
  ref,
  region,
  text,
} from './fields';

const upstreamEndpointSchema = z.strictObject({
  host: hostName,
  port: port.default(443),
  servername: hostName.optional().meta({ description: 'SNI name. @default host' }),
  environment: environmentRef.optional(),
});

const feedMatch = z
  .array(z.string().min(1))
  .min(1)
  .optional()
  .meta({ description: 'Words marking certificate-related items. @default certificate, TLS, SSL, CA' });

export const feedSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('statuspage-json'),
      url: feedUrl,
      components: z.array(z.string().min(1)).optional().meta({ description: 'Only these components.' }),
      match: feedMatch,
    }),
    z.strictObject({ kind: z.literal('atom'), url: feedUrl, match: feedMatch }),
    z.strictObject({ kind: z.literal('rss'), url: feedUrl, match: feedMatch }),
    z.strictObject({
      kind: z.literal('aws-health'),
      services: z.array(z.string().min(1)).optional().meta({ description: 'e.g. RDS. @default all' }),
      eventTypeCodes: z
        .array(z.string().min(1))
        .optional()
        .meta({ description: 'e.g. AWS_RDS_PLANNED_LIFECYCLE_EVENT.' }),
      region: region.optional(),
    }),
  ])
  .meta({ description: 'Where rotation announcements for this upstream are published.' });

export const upstreamSchema = z
  .strictObject({
    name: name('Upstream name.'),
    description: text('What the upstream is.').optional(),
    owner: text('Owner (team).', 200).optional(),
    runbookUrl: httpUrl.optional(),
    endpoints: z.array(upstreamEndpointSchema).min(1).meta({ description: 'Where we connect to it.' }),
    trust: z
      .strictObject({
        pinnedFingerprints: z
          .array(fingerprint)
          .min(1)
          .optional()
          .meta({ description: 'Pinned leaf or CA fingerprints.' }),
        caBundleFile: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'CA bundle (PEM) our consumers trust for it.' }),
      })
      .prefault({})
      .meta({ description: 'What we trust for it. @default the system trust store' }),
    clientCertificate: ref(
      'Managed certificate (issuer of kind external) our consumers present to it.',
    ).optional(),
    consumers: z
      .strictObject({
        hosts: z.array(ref('Host name.')).default([]),
        fleets: z.array(ref('Fleet name.')).default([]),
        destinations: z.array(ref('Destination name.')).default([]),
      })
      .prefault({})
      .meta({ description: 'Everything that talks to this upstream and must be ready before a cutover.' }),
    feeds: z.array(feedSchema).default([]),
    safetyMargin: duration('Deadline = cutover minus this. @default 1d').prefault('1d'),
    thresholds: z
      .array(z.number().positive('must be a positive number of days'))
      .min(1)
      .default([14, 7, 3, 1])
      .meta({
        description:
          'Days before the deadline at which to alert while consumers are not ready. @default [14, 7, 3, 1]',
      }),
    expiryWarning: duration(
      'An upstream certificate this close to expiry with no announcement means a rotation is imminent. @default 30d',
    ).prefault('30d'),
  })
  .meta({ description: 'An external service we connect to, whose certificates rotate on its schedule.' });
