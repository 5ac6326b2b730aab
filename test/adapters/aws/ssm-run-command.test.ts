import {
  CreateDocumentCommand,
  DescribeDocumentCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import {
  INSTALL_DOCUMENT_NAME,
  type SecretLocator,
  SsmRunCommandDestination,
  locateInBundleStore,
} from '../../../lambda/adapters/aws/ssm-run-command';
import type { CertificateBundle } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { buildBundle } from '../../builders/bundles';
import { buildCa, type BuiltCertificate } from '../../builders/certificates';
import { describeDestinationContract } from '../../contracts/destination-contract';
import { useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/temp-dir';

const DOCUMENT_PATH = join(__dirname, '../../../lambda/adapters/aws/ssm-install-certificate.json');
const documentText = readFileSync(DOCUMENT_PATH, 'utf8');
interface SsmDocument {
  schemaVersion: string;
  description: string;
  parameters: Record<
    string,
    {
      type: string;
      description: string;
      default?: string;
      allowedPattern?: string;
      interpolationType?: string;
    }
  >;
  mainSteps: { action: string; name: string; inputs: { runCommand: string[]; timeoutSeconds?: string } }[];
}
const document = JSON.parse(documentText) as SsmDocument;
const script = document.mainSteps[0]!.inputs.runCommand.join('\n') + '\n';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:certrotor/api-internal-AbCdEf';
/** Every bundle sits in the one certificate secret, one version per rotation version. */
const locate: SecretLocator = async (bundle) => ({
  secretArn: SECRET_ARN,
  versionId: `ver-${bundle.version}`,
});
const HOST = {
  certificatePath: '/etc/tls/api.pem',
  keyPath: '/etc/tls/api.key',
  reloadCommand: 'systemctl reload nginx',
};

const moto = useMoto();
let ssm: SSMClient;

beforeAll(async () => {
  ssm = createAwsClient(SSMClient, { ...moto.clientConfig(), maxAttempts: 1 });
  await ssm.send(
    new CreateDocumentCommand({
      Name: INSTALL_DOCUMENT_NAME,
      Content: documentText,
      DocumentType: 'Command',
      DocumentFormat: 'JSON',
    }),
  );
});

describeDestinationContract('SSM Run Command destination', async () => ({
  destination: new SsmRunCommandDestination({
    client: ssm,
    name: 'api-hosts',
    instances: { instanceIds: ['i-0123456789abcdef0', 'i-0123456789abcdef1'] },
    locate,
    host: HOST,
    pollIntervalMs: 10,
  }),
  target: 'i-0123456789abcdef0',
  unknownTarget: 'i-0fffffffffffffff0',
}));

describe('the install document', () => {
  it('is a well-formed SSM command document', () => {
    expect(document.schemaVersion).toBe('2.2');
    expect(document.description.length).toBeGreaterThan(0);
    expect(document.mainSteps).toEqual([
      expect.objectContaining({ action: 'aws:runShellScript', name: expect.stringMatching(/^[\w-]+$/) }),
    ]);
    for (const [name, parameter] of Object.entries(document.parameters)) {
      expect({ name, type: parameter.type, interpolation: parameter.interpolationType }).toEqual({
        name,
        type: 'String',
        interpolation: 'ENV_VAR',
      });
      expect(parameter.description.length).toBeGreaterThan(0);
      if (parameter.default !== undefined && parameter.allowedPattern !== undefined) {
        expect(parameter.default).toMatch(new RegExp(parameter.allowedPattern));
      }
    }
  });

  it('is accepted by the SSM API', async () => {
    const described = await ssm.send(new DescribeDocumentCommand({ Name: INSTALL_DOCUMENT_NAME }));

    expect(described.Document).toMatchObject({
      SchemaVersion: '2.2',
      DocumentType: 'Command',
      Status: 'Active',
    });
    expect(described.Document?.Parameters?.map((p) => p.Name).sort()).toEqual(
      Object.keys(document.parameters).sort(),
    );
  });

  it('reads every parameter from the environment and uses no parameter it does not declare', () => {
    const used = new Set([...script.matchAll(/\$\{?SSM_(\w+)/g)].map((m) => m[1]!));

    expect([...used].sort()).toEqual(Object.keys(document.parameters).sort());
    expect(script).not.toMatch(/\{\{/);
  });

  it('is valid bash', () => {
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
  });

  it.each([
    ['SecretArn', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x; rm -rf /'],
    ['CertificatePath', '/etc/tls/$(reboot).pem'],
    ['Owner', 'root;id'],
    ['SecretVersionId', 'v1 --query x'],
  ])('refuses a %s that could inject shell', (name, value) => {
    expect(value).not.toMatch(new RegExp(document.parameters[name]!.allowedPattern!));
  });
});

describe('SSM Run Command destination', () => {
  it('sends the secret ARN and version id, never the key', async () => {
    const bundle = await buildBundle({ version: '2026-05' });
    const destination = new SsmRunCommandDestination({
      client: ssm,
      name: 'api-hosts',
      instances: { instanceIds: ['i-0aaaaaaaaaaaaaaa1'] },
      locate,
      host: HOST,
      pollIntervalMs: 10,
    });

    const outcome = await destination.deliver('i-0aaaaaaaaaaaaaaa1', bundle);
    const commands = await ssm.send(new ListCommandsCommand({ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }));

    expect(outcome).toMatchObject({ ok: true, fingerprintSha256: bundle.facts.fingerprintSha256 });
    expect(commands.Commands?.[0]).toMatchObject({
      DocumentName: INSTALL_DOCUMENT_NAME,
      InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
      Parameters: expect.objectContaining({
        Action: ['install'],
        SecretArn: [SECRET_ARN],
        SecretVersionId: ['ver-2026-05'],
        ExpectedFingerprint: [bundle.facts.fingerprintSha256],
        CertificatePath: ['/etc/tls/api.pem'],
      }),
    });
    expect(containsPrivateKey(JSON.stringify(commands))).toBe(false);
  });

  it('rolls back with restore-previous when this process installed nothing before', async () => {
    const destination = new SsmRunCommandDestination({
      client: ssm,
      name: 'api-hosts',
      instances: { instanceIds: ['i-0bbbbbbbbbbbbbbb1'] },
      locate,
      host: HOST,
      pollIntervalMs: 10,
    });
    await destination.deliver('i-0bbbbbbbbbbbbbbb1', await buildBundle({ version: 'v9' }));

    const outcome = await destination.rollback('i-0bbbbbbbbbbbbbbb1');
    const commands = await ssm.send(new ListCommandsCommand({ InstanceId: 'i-0bbbbbbbbbbbbbbb1' }));

    expect(outcome.ok).toBe(true);
    expect(commands.Commands?.map((c) => c.Parameters?.Action?.[0]).sort()).toEqual([
      'install',
      'restore-previous',
    ]);
  });

  it('resolves the secret version through the bundle store reference', async () => {
    const bundle = await buildBundle({ name: 'api', version: 'v3' });
    const store = {
      find: async () => ({
        name: 'api',
        version: 'v3',
        location: `${SECRET_ARN}#0f0e0d0c-0000-4000-8000-000000000001`,
      }),
    };

    expect(await locateInBundleStore(store)(bundle)).toEqual({
      secretArn: SECRET_ARN,
      versionId: '0f0e0d0c-0000-4000-8000-000000000001',
    });
  });
});

// moto runs no commands: every invocation it reports succeeded. Per-instance failures and slow
// instances are therefore simulated with aws-sdk-client-mock, for these error paths only.
describe('SSM Run Command destination, per-instance results (client mock)', () => {
  let client: SSMClient;
  let mocked: AwsClientStub<SSMClient>;
  let ca: BuiltCertificate;
  let bundle: CertificateBundle;

  beforeAll(async () => {
    ca = await buildCa();
    bundle = await buildBundle({ issuer: ca, version: 'v2' });
  });
  // One mocked instance per test: mocking the SSMClient class would also stub the emulator suites' client.
  beforeEach(() => {
    client = new SSMClient({ region: 'us-east-1' });
    mocked = mockClient(client);
  });
  afterEach(() => mocked.restore());

  function destination(
    instanceIds: string[],
    options: { now?: () => number } = {},
  ): SsmRunCommandDestination {
    return new SsmRunCommandDestination({
      client,
      name: 'api-hosts',
      instances: { instanceIds },
      locate,
      host: HOST,
      pollIntervalMs: 1,
      sleep: async () => undefined,
      resultTimeoutMs: 60_000,
      ...options,
    });
  }

  it('reports a partial failure per instance', async () => {
    mocked.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    mocked
      .on(GetCommandInvocationCommand, { InstanceId: 'i-1' })
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'certrotor: installed AB:CD' })
      .on(GetCommandInvocationCommand, { InstanceId: 'i-2' })
      .resolves({
        Status: 'Failed',
        ResponseCode: 1,
        StandardErrorContent: 'certrotor: reload failed for AB:CD (previous files restored)\n',
      })
      .on(GetCommandInvocationCommand, { InstanceId: 'i-3' })
      .rejectsOnce(Object.assign(new Error('not yet'), { name: 'InvocationDoesNotExist' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', ResponseCode: 0 });

    const outcomes = await destination(['i-1', 'i-2', 'i-3']).deliverMany(['i-1', 'i-2', 'i-3'], bundle);

    expect(outcomes).toEqual([
      expect.objectContaining({ target: 'i-1', ok: true, fingerprintSha256: bundle.facts.fingerprintSha256 }),
      {
        target: 'i-2',
        ok: false,
        error:
          'deliver i-2: command cmd-1 Failed (exit 1): certrotor: reload failed for AB:CD (previous files restored)',
      },
      expect.objectContaining({ target: 'i-3', ok: true }),
    ]);
    expect(mocked.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it('gives up on an instance that never answers within the bound', async () => {
    let clock = 0;
    mocked.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-2' } });
    mocked.on(GetCommandInvocationCommand).callsFake(async () => {
      clock += 10_000;
      return { Status: 'InProgress' };
    });

    const outcome = await destination(['i-slow'], { now: () => clock }).deliver('i-slow', bundle);

    expect(outcome).toEqual({
      target: 'i-slow',
      ok: false,
      error: 'deliver i-slow: no result from command cmd-2 within 60 s (last status InProgress)',
    });
  });

  it('names the instances when the command cannot be sent', async () => {
    mocked
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error('Document does not exist'), { name: 'InvalidDocument' }));

    const [outcome] = await destination(['i-1']).deliverMany(['i-1'], bundle);

    expect(outcome).toMatchObject({
      target: 'i-1',
      ok: false,
      error: expect.stringMatching(/^deliver i-1: ssm:SendCommand i-1: InvalidDocument/),
    });
  });

  it('selects instances by tag, page after page', async () => {
    mocked
      .on(DescribeInstanceInformationCommand, { NextToken: undefined })
      .resolves({ InstanceInformationList: [{ InstanceId: 'i-a' }], NextToken: 'p2' })
      .on(DescribeInstanceInformationCommand, { NextToken: 'p2' })
      .resolves({ InstanceInformationList: [{ InstanceId: 'i-b' }] });
    const byTag = new SsmRunCommandDestination({
      client,
      name: 'api-hosts',
      instances: { tag: { key: 'certrotor:group', values: ['api'] } },
      locate,
      host: HOST,
    });

    const targets = await byTag.targets();

    expect(targets).toEqual(['i-a', 'i-b']);
    expect(mocked.commandCalls(DescribeInstanceInformationCommand)[0]!.args[0].input.Filters).toEqual([
      { Key: 'tag:certrotor:group', Values: ['api'] },
    ]);
  });
});

// The document's script, run here with a stand-in `aws` CLI that answers from a file: the install,
// the kept previous files, the key mode, and the restore on a failed health check are real.
describe('the install script on a host', () => {
  async function secretJson(bundle: CertificateBundle): Promise<string> {
    return JSON.stringify({
      certificatePem: bundle.certificatePem,
      chainPem: bundle.chainPem,
      privateKeyPem: bundle.privateKey.reveal(),
    });
  }

  function runScript(
    dir: string,
    env: Record<string, string>,
  ): { status: number | null; stdout: string; stderr: string } {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    // secretsmanager get-secret-value --region R --secret-id ARN --version-id V …: $8 is the version.
    writeFileSync(join(bin, 'aws'), `#!/bin/bash\ncat "${dir}/secret-$8.json"\n`);
    chmodSync(join(bin, 'aws'), 0o755);
    const result = spawnSync('bash', ['-c', script], {
      env: { PATH: `${bin}:${process.env.PATH}`, SSM_Owner: owner, SSM_Group: group, ...env },
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  const temp = useTempDirs();
  const owner = userInfo().username;
  const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();

  it('installs a version, keeps the previous files and restores them when the health check fails', async () => {
    const dir = await temp.make('ssm-host');
    {
      const ca = await buildCa();
      const [v1, v2] = [
        await buildBundle({ issuer: ca, version: 'v1' }),
        await buildBundle({ issuer: ca, version: 'v2' }),
      ];
      writeFileSync(join(dir, 'secret-v1.json'), await secretJson(v1));
      writeFileSync(join(dir, 'secret-v2.json'), await secretJson(v2));
      const base = {
        SSM_Action: 'install',
        SSM_SecretArn: SECRET_ARN,
        SSM_CertificatePath: join(dir, 'tls', 'api.pem'),
        SSM_KeyPath: join(dir, 'tls', 'api.key'),
        SSM_ReloadCommand: `touch ${dir}/reloaded`,
      };
      mkdirSync(join(dir, 'tls'));

      const first = runScript(dir, {
        ...base,
        SSM_SecretVersionId: 'v1',
        SSM_ExpectedFingerprint: v1.facts.fingerprintSha256,
      });
      const second = runScript(dir, {
        ...base,
        SSM_SecretVersionId: 'v2',
        SSM_ExpectedFingerprint: v2.facts.fingerprintSha256,
        SSM_HealthCheckCommand: 'false',
      });
      const installed = readFileSync(join(dir, 'tls', 'api.pem'), 'utf8');

      expect(first).toMatchObject({
        status: 0,
        stdout: `certrotor: installed ${v1.facts.fingerprintSha256}\n`,
      });
      expect(statSync(join(dir, 'tls', 'api.key')).mode & 0o777).toBe(0o600);
      expect(existsSync(join(dir, 'reloaded'))).toBe(true);
      expect(second.status).not.toBe(0);
      expect(second.stderr).toContain(
        `health check failed for ${v2.facts.fingerprintSha256} (previous files restored)`,
      );
      expect(installed).toBe(v1.certificatePem + v1.chainPem);
      expect(readFileSync(join(dir, 'tls', 'api.key'), 'utf8')).toBe(v1.privateKey.reveal());
      expect(containsPrivateKey(first.stdout + first.stderr + second.stdout + second.stderr)).toBe(false);
    }
  });

  it('writes the configured full chain file and key mode, and keeps that mode when restoring', async () => {
    const dir = await temp.make('ssm-host');
    {
      const ca = await buildCa();
      const [v1, v2] = [
        await buildBundle({ issuer: ca, version: 'v1' }),
        await buildBundle({ issuer: ca, version: 'v2' }),
      ];
      writeFileSync(join(dir, 'secret-v1.json'), await secretJson(v1));
      writeFileSync(join(dir, 'secret-v2.json'), await secretJson(v2));
      const base = {
        SSM_SecretArn: SECRET_ARN,
        SSM_CertificatePath: join(dir, 'tls.crt'),
        SSM_ChainPath: join(dir, 'ca.crt'),
        SSM_FullchainPath: join(dir, 'bundle.pem'),
        SSM_KeyPath: join(dir, 'tls.key'),
        SSM_KeyMode: '0640',
        SSM_Owner: owner,
        SSM_Group: group,
      };

      const first = runScript(dir, { ...base, SSM_SecretVersionId: 'v1' });
      const second = runScript(dir, { ...base, SSM_SecretVersionId: 'v2', SSM_HealthCheckCommand: 'false' });

      expect(first.status).toBe(0);
      expect(second.status).not.toBe(0);
      expect(readFileSync(join(dir, 'bundle.pem'), 'utf8')).toBe(v1.certificatePem + v1.chainPem);
      expect(readFileSync(join(dir, 'tls.crt'), 'utf8')).toBe(v1.certificatePem);
      expect(statSync(join(dir, 'tls.key')).mode & 0o777).toBe(0o640);
      expect(readFileSync(join(dir, 'tls.key'), 'utf8')).toBe(v1.privateKey.reveal());
    }
  });

  it('refuses a secret whose certificate is not the expected one and leaves the files alone', async () => {
    const dir = await temp.make('ssm-host');
    {
      const v1 = await buildBundle({ version: 'v1' });
      writeFileSync(join(dir, 'secret-v1.json'), await secretJson(v1));
      // Another fingerprint: its first byte changed (1 in 256 certificates already starts with AA).
      const other = v1.facts.fingerprintSha256.startsWith('AA:') ? 'BB:' : 'AA:';

      const result = runScript(dir, {
        SSM_SecretArn: SECRET_ARN,
        SSM_SecretVersionId: 'v1',
        SSM_ExpectedFingerprint: other + v1.facts.fingerprintSha256.slice(3),
        SSM_CertificatePath: join(dir, 'api.pem'),
        SSM_KeyPath: join(dir, 'api.key'),
      });

      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(`holds ${v1.facts.fingerprintSha256}, expected ${other}`);
      expect(existsSync(join(dir, 'api.pem'))).toBe(false);
    }
  });
});
