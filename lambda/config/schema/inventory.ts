/**
 * What certrotor looks after: environments, inventory sources, hosts, fleets and probed endpoints.
 */
import * as z from 'zod';
import { rolloutSchema } from './certificates';
import {
  accountId,
  arn,
  duration,
  environmentName,
  environmentRef,
  fingerprint,
  hostName,
  httpUrl,
  name,
  port,
  ref,
  region,
  tags,
  text,
} from './fields';

export const environmentSchema = z
  .strictObject({
    name: environmentName,
    description: text('What this environment is.').optional(),
    owner: text(
      'Owner (team) of whatever in this environment has no owner of its own (certificate, then endpoint, then environment).',
      200,
    ).optional(),
    runbookUrl: httpUrl.optional(),
    aws: z
      .strictObject({
        accountId: accountId.optional(),
        regions: z.array(region).min(1).optional().meta({ description: 'Regions certrotor covers here.' }),
        roleArn: arn('iam', 'Role to assume for inventory in this account.').optional(),
      })
      .optional()
      .meta({ description: 'Where this environment lives in AWS.' }),
  })
  .meta({ description: 'An environment: every endpoint, host, destination and source belongs to one.' });

const sourceCommon = {
  name: name('Source name.'),
  environment: environmentRef,
};

export const sourceSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      ...sourceCommon,
      kind: z.literal('acm'),
      region: region.optional(),
      includeImported: z
        .boolean()
        .default(true)
        .meta({ description: 'Include imported certificates. @default true' }),
    }),
    z.strictObject({
      ...sourceCommon,
      kind: z.literal('secrets-manager'),
      region: region.optional(),
      tagKey: z.string().min(1).default('certrotor:certificate').meta({
        description: 'Secrets carrying this tag are certificates. @default `certrotor:certificate`',
      }),
    }),
    z.strictObject({
      ...sourceCommon,
      kind: z.literal('files'),
      paths: z
        .array(z.string().min(1))
        .min(1)
        .meta({ description: 'Certificate files (PEM or DER) to watch.' }),
    }),
  ])
  .meta({ description: 'An inventory source: where certificates are discovered besides probed endpoints.' });

export const hostSchema = z
  .strictObject({
    name: name('Host name (unique).'),
    environment: environmentRef,
    address: hostName.optional().meta({ description: 'How to reach the host. @default `name`' }),
    endpoint: z
      .strictObject({
        host: hostName.optional().meta({ description: 'Host name or address. @default the host `address`' }),
        port,
        servername: hostName.optional().meta({ description: 'SNI name. @default host' }),
      })
      .optional()
      .meta({ description: 'The TLS endpoint this host serves: probed to verify each rotation per host.' }),
    agent: z
      .strictObject({
        pollInterval: duration('How often the agent pulls. @default 5m').prefault('5m'),
        jitter: duration('Random delay added to each poll. @default 1m').prefault('1m'),
      })
      .optional()
      .meta({ description: 'Present when `certrotor agent` runs on this host.' }),
    tags: tags.optional(),
  })
  .meta({ description: 'A machine that serves or consumes certificates.' });

export const fleetSchema = z
  .strictObject({
    name: name('Fleet name.'),
    environment: environmentRef.optional(),
    hosts: z
      .array(ref('Host name from `hosts`.'))
      .min(1)
      .optional()
      .meta({ description: 'Members by name.' }),
    selector: z
      .strictObject({
        environment: environmentRef.optional(),
        tags: tags.optional(),
      })
      .optional()
      .meta({ description: 'Members by environment and tags (all must match).' }),
    rollout: rolloutSchema.optional(),
  })
  .meta({ description: 'A named group of hosts (by name or selector) rolled out together.' });

export const endpointSchema = z
  .strictObject({
    name: name('Endpoint name.'),
    environment: environmentRef,
    host: hostName,
    port: port.default(443),
    servername: hostName.optional().meta({ description: 'SNI name. @default host' }),
    expect: z
      .strictObject({
        certificate: ref('Managed certificate (from `certificates`) this endpoint must serve.').optional(),
        fingerprints: z
          .array(fingerprint)
          .min(1)
          .optional()
          .meta({ description: 'Accepted leaf fingerprints.' }),
      })
      .optional()
      .meta({ description: 'What the endpoint should serve; anything else is drift.' }),
    caFile: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Trust anchors (PEM) instead of the system store.' }),
    owner: text('Owner (team).', 200).optional(),
    runbookUrl: httpUrl.optional(),
    tags: tags.optional(),
  })
  .meta({ description: 'A host:port (with SNI name) probed with a fresh handshake.' });
