import {
  ListSecretsCommand,
  CreateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { assertLoopbackEndpoint, awsClientConfig, useMoto } from './moto';

describe('the AWS emulator harness', () => {
  const moto = useMoto();

  it.each([
    ['127.0.0.1 with a port', 'http://127.0.0.1:5000'],
    ['another 127/8 address', 'http://127.9.8.7:5000'],
    ['localhost', 'http://localhost:5000'],
    ['IPv6 loopback', 'http://[::1]:5000'],
  ])('accepts an endpoint on %s', (_case, endpoint) => {
    expect(() => assertLoopbackEndpoint(endpoint)).not.toThrow();
  });

  it.each([
    ['a real AWS endpoint', 'https://secretsmanager.us-east-1.amazonaws.com'],
    ['a private-range address', 'http://10.0.0.5:4566'],
    ['a host name that merely contains localhost', 'http://localhost.example.com:4566'],
    ['something that is not a URL', 'not a url'],
  ])('refuses an endpoint on %s', (_case, endpoint) => {
    expect(() => awsClientConfig(endpoint)).toThrow(/not on loopback|not a URL/);
  });

  it('gives clients a loopback endpoint, a fixed region and fake credentials', () => {
    const config = moto.clientConfig();

    expect(new URL(config.endpoint).hostname).toBe('127.0.0.1');
    expect(config.region).toBe('us-east-1');
    expect(config.credentials.accessKeyId).toMatch(/EXAMPLE$/);
  });

  it('keeps the test process away from real AWS credentials and instance metadata', () => {
    expect(process.env.AWS_EC2_METADATA_DISABLED).toBe('true');
    expect(process.env.AWS_PROFILE).toBeUndefined();
    expect(process.env.AWS_ACCESS_KEY_ID).toMatch(/EXAMPLE$/);
  });

  it('answers real SDK calls and forgets everything on reset', async () => {
    const client = new SecretsManagerClient(moto.clientConfig());
    await client.send(new CreateSecretCommand({ Name: 'harness-probe', SecretString: 'x' }));
    const before = await client.send(new ListSecretsCommand({}));

    await moto.reset();
    const after = await client.send(new ListSecretsCommand({}));

    expect(before.SecretList?.map((s) => s.Name)).toEqual(['harness-probe']);
    expect(after.SecretList ?? []).toEqual([]);
  });
});
