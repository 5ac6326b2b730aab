/**
 * The AWS composition root for the CLI (`--backend aws`): the same Runtime the local backend builds,
 * over the AWS adapters the Lambdas use (lambda/wiring/aws.ts) and the same configuration views. State in the DynamoDB table, keys and bundles in Secrets
 * Manager, ACM PCA issuers, Secrets Manager / ACM / SSM destinations, ACM and Secrets Manager
 * inventory and the PCA issuers' CA certificates, events to EventBridge (and, for people, to stdout), TLS probing from this machine.
 *
 * Every SDK client gets the same region, profile and endpoint (`--endpoint-url` reaches an emulator
 * or a VPC endpoint); credentials come from the SDK's own chain (environment, profile, SSO, role).
 */
import type { Writable } from 'node:stream';
import { AwsClientPool, type AwsClientProvider } from '../adapters/aws/clients';
import { awsEventPublisher, awsStateStore, resolveAwsRegion } from '../adapters/aws/state-and-events';
import { FanOutPublisher, StreamEventPublisher } from '../adapters/local/event-sinks';
import { configuredProber } from '../adapters/net/tls-prober';
import type { CertrotorConfig } from '../config/configuration';
import { certificateSpecs } from '../config/views/certificates';
import { InvalidInputError } from '../domain/errors';
import type { Clock, EventPublisher } from '../domain/ports';
import { awsInventorySources, buildRotationAdapters } from '../wiring/aws';
import { ownershipLookup } from '../config/views/ownership';
import { endpointsOf, humanEventLine, type Runtime } from './local-runtime';

/** What the command line says about AWS; each falls back to the configuration, then the environment. */
export interface AwsBackendFlags {
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
  readonly table?: string;
}

export interface AwsRuntimeOptions {
  readonly clock: Clock;
  readonly env: NodeJS.ProcessEnv;
  readonly flags: AwsBackendFlags;
  /** Where human-readable event lines go besides EventBridge; omitted with --json. */
  readonly eventStream?: Writable;
  /** Injected by tests; @default a pool built from the flags */
  readonly clients?: AwsClientProvider;
}

/** The environment variable naming the state table when neither --table nor aws.tableName does. */
export const TABLE_ENV = 'CERTROTOR_TABLE_NAME';
/** The KMS key (id, ARN or alias) the deployed service seals keys with; the Lambdas read the same variable. */
export const KMS_KEY_ENV = 'CERTROTOR_KMS_KEY_ID';

export async function buildAwsRuntime(config: CertrotorConfig, options: AwsRuntimeOptions): Promise<Runtime> {
  const { flags, env } = options;
  const endpoint = flags.endpointUrl === undefined ? undefined : parseEndpointUrl(flags.endpointUrl);
  const tableName = flags.table ?? config.aws.tableName ?? env[TABLE_ENV];
  if (tableName === undefined || tableName === '') {
    throw new InvalidInputError(
      `--backend aws: no state table: pass --table, set aws.tableName in the configuration, or set ${TABLE_ENV}`,
    );
  }
  const chosenRegion = flags.region ?? config.aws.region;
  const clients =
    options.clients ??
    new AwsClientPool({
      ...(chosenRegion !== undefined ? { region: chosenRegion } : {}),
      ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
    });
  // Otherwise the SDK's chain decides (AWS_REGION, the profile); asked once here so that a missing
  // region is one clear error instead of the same failure on every call.
  const region = chosenRegion ?? (await resolveAwsRegion(clients));
  if (region === undefined) {
    const profile = flags.profile ?? env.AWS_PROFILE;
    throw new InvalidInputError(
      `--backend aws: no AWS region${profile !== undefined ? ` (profile ${profile} names none, or does not exist)` : ''}: pass --region, set aws.region in the configuration, or set AWS_REGION`,
    );
  }
  const state = awsStateStore(clients, tableName);
  const kmsKeyId = env[KMS_KEY_ENV];
  const { issuers, destinations, bundles, trustFor } = buildRotationAdapters(config, clients, {
    clock: options.clock,
    state,
    // The deployed service's key: bundles and ACME order keys are then sealed in the table as the
    // rotation Lambda seals them; without it they go to Secrets Manager.
    ...(kmsKeyId ? { kmsKeyId } : {}),
  });
  const sinks: EventPublisher[] = [awsEventPublisher(clients, config.aws.eventBusName)];
  if (options.eventStream) {
    sinks.push(
      new StreamEventPublisher({ name: 'stdout', stream: options.eventStream, format: humanEventLine }),
    );
  }
  // The issuers' roots (an ACME trustFile) verify hosts and feed the renewal guard, as locally.
  const specs = certificateSpecs(config, { trustFor });
  return {
    config,
    state,
    bundles,
    issuers,
    destinations,
    prober: configuredProber(config.probe, { clock: options.clock }),
    publisher: new FanOutPublisher(sinks, 'events'),
    specs,
    ...endpointsOf(config, issuers),
    ownership: ownershipLookup(config),
    sources: awsInventorySources(config, clients, region),
  };
}

/**
 * `--endpoint-url` as the SDK wants it. Any http(s) URL is accepted (an emulator, a VPC endpoint);
 * anything else is refused before a single call is made.
 */
export function parseEndpointUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInputError(
      `--endpoint-url ${JSON.stringify(value)}: is not a URL (e.g. http://127.0.0.1:5000)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(`--endpoint-url ${JSON.stringify(value)}: must be an http or https URL`);
  }
  return value;
}
