import { type AddressInfo, type Socket, createServer } from 'node:net';
import {
  ListSecretsCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  AwsClientPool,
  DEFAULT_MAX_ATTEMPTS,
  awsClientConfig,
  createAwsClient,
  describeAwsError,
  isThrottlingError,
} from '../../../lambda/adapters/aws/clients';
import { OperationError } from '../../../lambda/domain/errors';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { buildCertificate } from '../../builders/certificates';

function serviceError(name: string, message: string, status: number): SecretsManagerServiceException {
  return new SecretsManagerServiceException({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
  });
}

describe('AWS client configuration', () => {
  it('gives up on an endpoint that accepts the connection and never answers, with a timeout error', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = createAwsClient(SecretsManagerClient, {
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'fake' },
      maxAttempts: 2,
      idleTimeoutMs: 200,
    });
    try {
      await expect(client.send(new ListSecretsCommand({}))).rejects.toMatchObject({ name: 'TimeoutError' });
      // Retried once, as any transient failure: two connections reached the silent endpoint.
      expect(sockets).toHaveLength(2);
    } finally {
      client.destroy();
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('uses the standard retry mode with five attempts unless told otherwise', () => {
    expect(awsClientConfig({ region: 'eu-west-1' })).toEqual({
      region: 'eu-west-1',
      retryMode: 'standard',
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      requestHandler: expect.any(NodeHttpHandler),
    });
    expect(awsClientConfig({ retryMode: 'adaptive', maxAttempts: 8 })).toMatchObject({
      retryMode: 'adaptive',
      maxAttempts: 8,
    });
  });

  it('passes region, endpoint and the retry strategy through to the SDK client', async () => {
    const client = createAwsClient(SecretsManagerClient, {
      region: 'eu-central-1',
      endpoint: 'http://127.0.0.1:4566',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'fake' },
    });

    expect(await client.config.region()).toBe('eu-central-1');
    expect(await client.config.maxAttempts()).toBe(5);
    expect(((await client.config.retryStrategy()) as { mode?: string }).mode).toBe('standard');
  });

  it.each([
    ['ThrottlingException', true],
    ['TooManyRequestsException', true],
    ['ProvisionedThroughputExceededException', true],
    ['AccessDeniedException', false],
  ])('classifies %s as throttling: %s', (name, expected) => {
    expect(isThrottlingError(serviceError(name, 'x', 400))).toBe(expected);
  });
});

describe('AwsClientPool', () => {
  it("builds one client per service and region, each with the pool's profile and endpoint", async () => {
    const pool = new AwsClientPool({
      region: 'eu-west-1',
      profile: 'ops',
      endpoint: 'http://127.0.0.1:4566',
    });

    const client = pool.get(SecretsManagerClient);
    const elsewhere = pool.get(SecretsManagerClient, 'us-west-2');

    expect(pool.get(SecretsManagerClient)).toBe(client);
    expect(client.config.profile).toBe('ops');
    expect(await client.config.region()).toBe('eu-west-1');
    expect(await elsewhere.config.region()).toBe('us-west-2');
    expect(elsewhere.config.profile).toBe('ops');
    for (const c of [client, elsewhere]) {
      expect(await c.config.endpoint!()).toMatchObject({ hostname: '127.0.0.1', port: 4566 });
    }
  });
});

describe('describeAwsError', () => {
  it('names the operation, the resource, the service error and the HTTP status', () => {
    const error = serviceError(
      'AccessDeniedException',
      'User is not authorized to perform PutSecretValue',
      403,
    );

    const described = describeAwsError('PutSecretValue', 'certrotor/api', error);

    expect(described).toBeInstanceOf(OperationError);
    expect(described.message).toBe(
      'PutSecretValue certrotor/api: AccessDeniedException: User is not authorized to perform PutSecretValue (HTTP 403)',
    );
    expect(described.cause).toBe(error);
  });

  it('scrubs a private key that a service message echoed, in the message and in the cause', async () => {
    const canary = (await buildCertificate()).privateKey.reveal();
    const error = serviceError('ValidationException', `bad value ${canary}`, 400);

    const described = describeAwsError('PutSecretValue', 'certrotor/api', error);

    expect(containsPrivateKey(described.message)).toBe(false);
    expect(containsPrivateKey(String((described.cause as Error).message))).toBe(false);
    expect(described.message).toContain('[REDACTED KEY]');
  });

  it('describes a thrown value that is not an SDK error', () => {
    expect(describeAwsError('Query', 'table', 'socket hang up').message).toBe('Query table: socket hang up');
  });
});
