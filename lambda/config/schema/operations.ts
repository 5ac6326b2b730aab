/**
 * How the service runs: job schedules, TLS probing, local mode and AWS mode.
 */
import * as z from 'zod';
import { duration, region, schedule, timeZone } from './fields';

export const schedulesSchema = z
  .strictObject({
    timeZone: timeZone.default('UTC').meta({ description: '@default UTC' }),
    inventory: schedule('rate(1 day)', 'Inventory of every source.'),
    probe: schedule('rate(1 hour)', 'Fresh-handshake probe of every endpoint.'),
    upstream: schedule('rate(6 hours)', 'Upstream feeds, announcements and readiness.'),
    retry: z
      .strictObject({
        maximumAttempts: z.number().int().min(0).max(185).default(3).meta({ description: '@default 3' }),
        maximumEventAge: duration('@default 1h').prefault('1h'),
      })
      .prefault({})
      .meta({ description: 'Scheduler retry policy (then the dead-letter queue).' }),
  })
  .meta({
    description: 'When the deployed service runs each job (`certrotor run` locally runs them all once).',
  });

export const probeSchema = z
  .strictObject({
    timeout: duration('Connect + handshake timeout. @default 5s').prefault('5s'),
    connectTimeout: duration(
      'TCP connect timeout, within `timeout` (a host that does not answer fails fast). @default `timeout`',
    ).optional(),
    concurrency: z.number().int().min(1).max(10000).default(50).meta({ description: '@default 50' }),
    allAddresses: z
      .boolean()
      .default(true)
      .meta({ description: 'Probe every address behind a name. @default true' }),
    workers: z.number().int().min(0).max(32).optional().meta({
      description:
        'Worker threads for handshakes in large scans (0 or 1: all on one thread). @default the CLI: min(4, CPUs); the Lambdas: 0, since a function has a fraction of a CPU',
    }),
  })
  .meta({ description: 'TLS probing.' });

export const localSchema = z
  .strictObject({
    stateDirectory: z
      .string()
      .min(1)
      .default('.certrotor')
      .meta({ description: 'State, keys and local CA. @default .certrotor' }),
    events: z
      .strictObject({
        stdout: z.boolean().default(true).meta({ description: '@default true' }),
        jsonlFile: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'Append events here, one JSON per line.' }),
      })
      .prefault({}),
  })
  .meta({ description: 'Local mode (CLI without --backend aws). Relative paths are relative to this file.' });

export const awsSchema = z
  .strictObject({
    region: region.optional(),
    eventBusName: z.string().min(1).default('certrotor').meta({ description: '@default certrotor' }),
    tableName: z
      .string()
      .min(3)
      .optional()
      .meta({ description: 'State table. @default the stack creates one' }),
    secretPrefix: z
      .string()
      .min(1)
      .default('certrotor/')
      .meta({ description: 'Bundle secrets are named under this. @default certrotor/' }),
    observationTtl: duration('How long observations are kept. @default 30d').prefault('30d'),
    acmDaysBeforeExpiry: z
      .number()
      .int()
      .min(1)
      .max(45)
      .default(45)
      .meta({ description: 'ACM account setting for its own expiry events (1-45). @default 45' }),
  })
  .meta({ description: 'AWS mode (deployed service, or CLI with --backend aws).' });
