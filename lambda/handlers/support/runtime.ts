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
import { type CertificateSpec, certificateSpec, toCertificateSpec } from '../../config/views/certificates';
import { ConfigurationError } from '../../domain/errors';
import { issuerTrust } from '../../wiring/trust';

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

/**
 * The rotation spec of one configured certificate (config/views/certificates.ts: the same spec the
 * CLI's rotation gets from the same file).
 * @throws ConfigurationError when the configuration has no certificate of that name
 */
export function workflowSpec(config: CertrotorConfig, name: string): CertificateSpec {
  return certificateSpec(config, name, { trustFor: issuerTrust(config) });
}

/** One configured certificate's rotation spec; see workflowSpec. */
export function toWorkflowSpec(config: CertrotorConfig, c: ManagedCertificateConfig): CertificateSpec {
  return toCertificateSpec(config, c, { trustFor: issuerTrust(config) });
}
