/**
 * Managed certificates: what certrotor issues, distributes, verifies and renews, with their rollout and renewal settings.
 */
import * as z from 'zod';
import {
  dnsName,
  duration,
  httpUrl,
  ipAddress,
  KEY_SPECS,
  name,
  ref,
  tags,
  text,
  thresholds,
  USAGES,
} from './fields';

export const rolloutSchema = z
  .strictObject({
    canary: z
      .number()
      .int()
      .min(0)
      .default(1)
      .meta({ description: 'Targets updated and verified first. @default 1' }),
    batchSize: z
      .number()
      .int()
      .min(1)
      .default(5)
      .meta({ description: 'Targets updated at once after the canary. @default 5' }),
    failureTolerance: z.number().int().min(0).default(0).meta({
      description:
        'Failed targets tolerated before stopping and rolling back; never allows promotion. @default 0',
    }),
    verifyTimeout: duration('How long to wait for a target to serve the new version. @default 5m').prefault(
      '5m',
    ),
    verifyInterval: duration('Re-probe interval while verifying. @default 10s').prefault('10s'),
  })
  .meta({ description: 'How a new version is rolled out.' });

export const renewalSchema = z
  .strictObject({
    renewBefore: duration('Renew this long before expiry.').optional(),
    renewBeforePercentage: z
      .number()
      .gt(0, 'must be more than 0 and less than 100')
      .lt(100, 'must be more than 0 and less than 100')
      .optional()
      .meta({ description: 'Renew when this percentage of the lifetime remains.' }),
    jitterPercentage: z.number().min(0).max(100).default(0).meta({
      description: 'Renew up to this percentage of the renew-before period earlier, at random. @default 0',
    }),
  })
  .meta({ description: 'When to renew. @default when one third of the lifetime remains' });

export const managedCertificateSchema = z
  .strictObject({
    name: name('Certificate name (unique; used in references and version ids).'),
    description: text('What it is for.').optional(),
    commonName: text('Subject CN.', 64).optional(),
    dnsNames: z.array(dnsName).default([]).meta({ description: 'DNS subject alternative names.' }),
    ipAddresses: z.array(ipAddress).default([]).meta({ description: 'IP subject alternative names.' }),
    keySpec: z.enum(KEY_SPECS).default('EC_P256').meta({ description: 'Key type. @default EC_P256' }),
    usage: z.enum(USAGES).default('server').meta({ description: 'Extended key usage. @default server' }),
    issuer: ref('Issuer name from `issuers`.'),
    validity: duration('Requested lifetime. @default 90d').prefault('90d'),
    renewal: renewalSchema.prefault({}),
    destinations: z.array(ref('Destination name from `destinations`.')).default([]),
    endpoints: z
      .array(ref('Endpoint name from `endpoints`.'))
      .default([])
      .meta({ description: 'Endpoints verified to serve each new version.' }),
    rollout: rolloutSchema.prefault({}),
    thresholds: thresholds
      .optional()
      .meta({ description: 'Alert thresholds. @default notifications.thresholds' }),
    owner: text('Owner (team), used for routing and messages.', 200).optional(),
    runbookUrl: httpUrl.optional().meta({ description: 'Runbook for this certificate.' }),
    tags: tags.optional(),
  })
  .meta({ description: 'A certificate certrotor owns: issues, distributes, verifies and renews.' });
