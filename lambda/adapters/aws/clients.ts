/**
 * The one place AWS SDK v3 clients are configured, so every adapter retries, names its region and
 * reaches the same endpoint (the emulator in tests and `--endpoint-url`) the same way.
 *
 * Retries: `standard` mode with 5 attempts by default. Standard retries throttling and transient
 * errors (5xx, timeouts, connection resets) with exponential backoff and full jitter, and stops
 * early when its retry quota is spent, so an outage does not turn into a retry storm. `adaptive`
 * adds client-side rate limiting on top; it helps a long listing that keeps getting throttled
 * (`retryMode: 'adaptive'`), but it slows every call of that client after one throttle, so it is
 * not the default.
 *
 * Timeouts: 5 s to connect, 30 s without a byte of the answer; either is retried like a 5xx.
 *
 * Proxies: when the environment names one (`HTTPS_PROXY`/`HTTP_PROXY`, `NO_PROXY`; see
 * `net/proxy.ts`), every client's connections go through a CONNECT tunnel, decided per host so a
 * `NO_PROXY` entry (a VPC endpoint, the emulator) is reached directly.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EnvProxyHttpAgent, EnvProxyHttpsAgent, hasProxyEnvironment } from '../net/proxy';
import { OperationError } from '../../domain/errors';
import { scrubPrivateKeys } from '../../domain/secret';

export type RetryMode = 'standard' | 'adaptive';

export interface AwsClientOptions {
  /** AWS region; when absent the SDK's chain decides (AWS_REGION, the profile). */
  readonly region?: string;
  /** Named profile from the shared config files (CLI `--profile`). */
  readonly profile?: string;
  /** Endpoint override: the emulator, or a VPC endpoint (CLI `--endpoint-url`). */
  readonly endpoint?: string;
  /** Explicit credentials; tests and the emulator use fake static ones. */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** @default 'standard' */
  readonly retryMode?: RetryMode;
  /** Attempts including the first. @default 5 */
  readonly maxAttempts?: number;
  /** Where the proxy variables are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How long a connection may take to open. @default 5000 */
  readonly connectionTimeoutMs?: number;
  /** How long a request may go without a byte before it is a (retried) timeout. @default 30000 */
  readonly idleTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_RETRY_MODE: RetryMode = 'standard';

/** The configuration every SDK v3 client constructor accepts. */
export interface AwsClientConfig {
  region?: string;
  profile?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  retryMode: RetryMode;
  maxAttempts: number;
  requestHandler?: NodeHttpHandler;
}

export function awsClientConfig(options: AwsClientOptions = {}): AwsClientConfig {
  const config: AwsClientConfig = {
    retryMode: options.retryMode ?? DEFAULT_RETRY_MODE,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  };
  if (options.region !== undefined) config.region = options.region;
  if (options.profile !== undefined) config.profile = options.profile;
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = { ...options.credentials };
  // The SDK waits forever by default: an endpoint that never answers (a VPC without a route to the
  // service) would hold a whole run. A timeout is a transient error the retry strategy retries.
  const env = options.env ?? process.env;
  config.requestHandler = new NodeHttpHandler({
    connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    socketTimeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    ...(hasProxyEnvironment(env)
      ? {
          httpAgent: new EnvProxyHttpAgent(env, { keepAlive: true }),
          httpsAgent: new EnvProxyHttpsAgent(env, { keepAlive: true }),
        }
      : {}),
  });
  return config;
}

/** Builds any SDK v3 client: `createAwsClient(SecretsManagerClient, options)`. */
export function createAwsClient<C>(
  Client: new (config: AwsClientConfig) => C,
  options: AwsClientOptions = {},
): C {
  return new Client(awsClientConfig(options));
}

interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string };
  readonly $fault?: unknown;
}

/** The service error code (`ResourceNotFoundException`, `ThrottlingException`…), if `error` is an SDK error. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as SdkErrorShape).name;
  return typeof name === 'string' ? name : undefined;
}

export function isAwsError(error: unknown, ...names: readonly string[]): boolean {
  const name = awsErrorName(error);
  return name !== undefined && names.includes(name);
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'LimitExceededException',
]);

export function isThrottlingError(error: unknown): boolean {
  const name = awsErrorName(error);
  return name !== undefined && THROTTLING.has(name);
}

/**
 * Wraps an SDK failure as an OperationError naming the operation and the resource, e.g.
 * `PutSecretValue certrotor/api: AccessDeniedException: User … is not authorized (HTTP 403)`.
 * Any private key block in the service's message is scrubbed, and the cause keeps the SDK's error
 * (scrubbed too when it carried key material) for logs that want its request id.
 */
export function describeAwsError(operation: string, resource: string, error: unknown): OperationError {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = awsErrorName(error);
  const rawMessage =
    typeof shape.message === 'string'
      ? shape.message
      : error instanceof Error
        ? error.message
        : String(error);
  const message = scrubPrivateKeys(rawMessage).split('\n')[0]?.trim() ?? '';
  const status = shape.$metadata?.httpStatusCode;
  const parts = [
    name !== undefined && name !== 'Error' && !message.startsWith(name) ? `${name}: ` : '',
    message,
  ];
  const detail = `${parts.join('') || 'unknown error'}${status !== undefined ? ` (HTTP ${status})` : ''}`;
  const cause = rawMessage === scrubPrivateKeys(rawMessage) ? error : scrubbedCopy(error, name, message);
  return new OperationError(operation, scrubPrivateKeys(resource), detail, { cause });
}

function scrubbedCopy(error: unknown, name: string | undefined, message: string): Error {
  const copy = new Error(message);
  if (name !== undefined) copy.name = name;
  const metadata = (error as SdkErrorShape).$metadata;
  if (metadata !== undefined) Object.assign(copy, { $metadata: metadata });
  return copy;
}

/** Hands out SDK clients by class and region; the Lambdas' traced pool and the CLI's pool both fit it. */
export interface AwsClientProvider {
  get<C extends object>(Client: new (config: never) => C, region?: string): C;
}

/**
 * SDK clients, one per service and region, all built from the same base options (endpoint, profile,
 * credentials, retries). The CLI's `--backend aws` uses it; a region given per resource overrides
 * the base one.
 */
export class AwsClientPool implements AwsClientProvider {
  private readonly cache = new Map<string, unknown>();

  /** @param onCreate sees every client once, when it is built (the Lambdas trace them). */
  constructor(
    private readonly base: AwsClientOptions = {},
    private readonly onCreate: (client: object) => void = () => undefined,
  ) {}

  get<C extends object>(Client: new (config: never) => C, region: string | undefined = this.base.region): C {
    const key = `${Client.name}:${region ?? ''}`;
    let client = this.cache.get(key) as C | undefined;
    if (!client) {
      client = createAwsClient(Client as unknown as new (config: AwsClientConfig) => C, {
        ...this.base,
        ...(region !== undefined ? { region } : {}),
      });
      this.onCreate(client);
      this.cache.set(key, client);
    }
    return client;
  }
}
