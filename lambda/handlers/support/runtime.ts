/**
 * What every Lambda handler shares: its environment (parsed once with zod), the configuration bundled
 * with the code, Powertools (logger, EMF metrics, tracer with response capture off) and the AWS
 * adapters built from configuration. SDK clients take their endpoint from the SDK's own settings
 * (AWS_ENDPOINT_URL points them at the emulator in tests).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import * as z from 'zod';
import { AwsClientPool } from '../../adapters/aws/clients';
import type { DynamoDbStateStore } from '../../adapters/aws/dynamodb-state-store';
import type { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher';
import { awsEventPublisher, awsStateStore } from '../../adapters/aws/state-and-events';
import {
  type CertrotorConfig,
  type ManagedCertificateConfig,
  validateConfig,
} from '../../config/configuration';
import { ConfigurationError } from '../../domain/errors';
import { DEFAULT_VERIFY, type VerifyEndpoint } from '../../use-cases/managed-certificate';
import type { WorkflowSpec } from '../../use-cases/rotation-workflow';

/** The configuration file name inside each bundle (lib/certrotor.ts copies it there). */
const BUNDLED_CONFIG_FILE = 'certrotor-config.json';

const environmentSchema = z.object({
  CERTROTOR_TABLE_NAME: z.string().min(1),
  CERTROTOR_EVENT_BUS_NAME: z.string().min(1),
  CERTROTOR_KMS_KEY_ID: z.string().min(1).optional(),
  CERTROTOR_STATE_MACHINE_ARN: z.string().min(1).optional(),
  /** The CDK construct's schedule overrides (JSON), for the Scan Missed check. */
  CERTROTOR_SCHEDULES: z.string().min(1).optional(),
  /** Overrides the bundled configuration (tests, local invocation). */
  CERTROTOR_CONFIG_FILE: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
});
export type HandlerEnvironment = z.output<typeof environmentSchema>;

export function parseEnvironment(env: NodeJS.ProcessEnv = process.env): HandlerEnvironment {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(
      'Lambda environment',
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  }
  return parsed.data;
}

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'certrotor' });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'certrotor',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'certrotor',
});
export const tracer = new Tracer({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'certrotor',
  captureHTTPsRequests: false,
});

const configs = new Map<string, Promise<CertrotorConfig>>();

/** The configuration: read and validated once per container (per file). */
export function loadConfiguration(env: HandlerEnvironment): Promise<CertrotorConfig> {
  const file = env.CERTROTOR_CONFIG_FILE ?? join(__dirname, BUNDLED_CONFIG_FILE);
  let loaded = configs.get(file);
  if (!loaded) {
    // The bundled document is JSON (written at synth time); YAML parsing stays out of the bundle.
    loaded = readFile(file, 'utf8').then((text) => validateConfig(JSON.parse(text) as unknown, file));
    loaded.catch(() => configs.delete(file));
    configs.set(file, loaded);
  }
  return loaded;
}

/** SDK clients, one per service and region, traced. Handlers import only the clients they use. */
export class AwsClients extends AwsClientPool {
  constructor(region: string | undefined) {
    super(region ? { region } : {}, (client: object) => tracer.captureAWSv3Client(client as never));
  }
}

export function stateStore(env: HandlerEnvironment, clients: AwsClients): DynamoDbStateStore {
  return awsStateStore(clients, env.CERTROTOR_TABLE_NAME);
}

export function eventPublisher(env: HandlerEnvironment, clients: AwsClients): EventBridgePublisher {
  return awsEventPublisher(clients, env.CERTROTOR_EVENT_BUS_NAME);
}

export function workflowSpec(config: CertrotorConfig, name: string): WorkflowSpec {
  const certificate = config.certificates.find((c) => c.name === name);
  if (!certificate)
    throw new ConfigurationError('configuration', [`certificates: no certificate named ${name}`]);
  return toWorkflowSpec(config, certificate);
}

export function toWorkflowSpec(config: CertrotorConfig, c: ManagedCertificateConfig): WorkflowSpec {
  const destinations = config.destinations.filter((d) => c.destinations.includes(d.name));
  const verify: VerifyEndpoint[] = config.endpoints
    .filter((e) => c.endpoints.includes(e.name))
    .map((e) => ({
      environment: e.environment,
      host: e.host,
      port: e.port,
      ...(e.servername ? { servername: e.servername } : {}),
    }));
  const environments = new Set<string>([
    ...destinations.flatMap((d) => (d.environment ? [d.environment] : [])),
    ...verify.map((e) => e.environment),
  ]);
  return {
    name: c.name,
    commonName: c.commonName ?? c.dnsNames[0] ?? c.name,
    dnsNames: c.dnsNames,
    ipAddresses: c.ipAddresses,
    keySpec: c.keySpec,
    usage: c.usage,
    validityDays: Math.max(1, Math.round(c.validity / 86_400_000)),
    issuer: c.issuer,
    destinations: c.destinations,
    verify,
    environments: [...environments],
    rollout: {
      canary: c.rollout.canary,
      batchSize: c.rollout.batchSize,
      failureTolerance: c.rollout.failureTolerance,
    },
    verifyPolicy: { ...DEFAULT_VERIFY, attempts: 1, timeoutMs: config.probe.timeout },
    verifyTimeoutMs: c.rollout.verifyTimeout,
    verifyIntervalMs: c.rollout.verifyInterval,
    destinationEnvironments: new Map(destinations.map((d) => [d.name, d.environment])),
    ...(c.owner ? { owner: c.owner } : {}),
    ...(c.runbookUrl ? { runbookUrl: c.runbookUrl } : {}),
  };
}
