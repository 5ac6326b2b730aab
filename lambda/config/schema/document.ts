/**
 * The whole configuration file: one strict object of the sections, and the types every layer reads.
 */
import * as z from 'zod';
import { managedCertificateSchema, renewalSchema, rolloutSchema } from './certificates';
import { destinationSchema, healthCheckSchema } from './destinations';
import { KEY_SPECS, USAGES } from './fields';
import { endpointSchema, environmentSchema, fleetSchema, hostSchema, sourceSchema } from './inventory';
import { issuerSchema } from './issuers';
import { channelSchema, notificationsSchema, routeSchema, silenceSchema } from './notifications';
import { awsSchema, localSchema, probeSchema, schedulesSchema } from './operations';
import { feedSchema, upstreamSchema } from './upstreams';

export const CONFIG_VERSION = 1 as const;

export const configSchema = z
  .strictObject({
    version: z.literal(CONFIG_VERSION).meta({ description: 'Configuration format version: 1.' }),
    backend: z
      .enum(['local', 'aws'])
      .default('local')
      .meta({ description: 'CLI default backend. @default local' }),
    environments: z.array(environmentSchema).min(1),
    sources: z.array(sourceSchema).default([]),
    issuers: z.array(issuerSchema).default([]),
    destinations: z.array(destinationSchema).default([]),
    hosts: z.array(hostSchema).default([]),
    fleets: z.array(fleetSchema).default([]),
    endpoints: z.array(endpointSchema).default([]),
    certificates: z.array(managedCertificateSchema).default([]),
    upstreams: z.array(upstreamSchema).default([]),
    notifications: notificationsSchema.prefault({}),
    silences: z.array(silenceSchema).default([]),
    schedules: schedulesSchema.prefault({}),
    probe: probeSchema.prefault({}),
    local: localSchema.prefault({}),
    aws: awsSchema.prefault({}),
  })
  .meta({
    title: 'certrotor configuration',
    description: 'The certrotor configuration file (YAML or JSON).',
  });

export type CertrotorConfig = z.output<typeof configSchema>;
export type CertrotorConfigInput = z.input<typeof configSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type DestinationConfig = z.output<typeof destinationSchema>;
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type FleetConfig = z.output<typeof fleetSchema>;
export type EndpointConfig = z.output<typeof endpointSchema>;
export type RolloutConfig = z.output<typeof rolloutSchema>;
export type RenewalConfig = z.output<typeof renewalSchema>;
export type ManagedCertificateConfig = z.output<typeof managedCertificateSchema>;
export type FeedConfig = z.output<typeof feedSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type NotificationsConfig = z.output<typeof notificationsSchema>;
export type SilenceConfig = z.output<typeof silenceSchema>;
export type SchedulesConfig = z.output<typeof schedulesSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
export type LocalConfig = z.output<typeof localSchema>;
export type AwsConfig = z.output<typeof awsSchema>;

export type IssuerKind = IssuerConfig['kind'];
export type DestinationKind = DestinationConfig['kind'];
export type KeySpecName = (typeof KEY_SPECS)[number];
export type Usage = (typeof USAGES)[number];
