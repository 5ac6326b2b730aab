import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import { SecretsManagerBundleStore } from '../../../lambda/adapters/aws/secrets-manager';
import { SecretsManagerDestination } from '../../../lambda/adapters/aws/secrets-manager-destination';
import { SecretsManagerDesiredSource } from '../../../lambda/adapters/aws/secrets-manager-desired-source';
import { AgentStateJsonFile, FileInstaller } from '../../../lambda/adapters/local/agent-host';
import type { CertificateBundle } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { type AgentDeps } from '../../../lambda/use-cases/agent/model';
import { type HostReport } from '../../../lambda/domain/host-agent';
import { hostRecordId } from '../../../lambda/domain/host-agent';
import { runAgentCycle } from '../../../lambda/use-cases/agent/cycle';
import { COLLECTIONS } from '../../../lambda/use-cases/certificate-state';
import { buildBundleVersions } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/temp-dir';

const moto = useMoto();
const temp = useTempDirs();
const client = (): SecretsManagerClient => createAwsClient(SecretsManagerClient, moto.clientConfig());

describe('host agent pulling from the emulator Secrets Manager', () => {
  let versions: CertificateBundle[];
  const name = `agent-${randomUUID().slice(0, 8)}`;
  const secretId = `certrotor/${name}`;

  beforeAll(async () => {
    versions = await buildBundleVersions(2, { issuer: await buildCa(), name });
  });

  async function agent() {
    const dir = join(await temp.make('agent-sm'), 'tls');
    const state = new MemoryStateStore();
    const logs: string[] = [];
    const deps: AgentDeps = {
      host: 'web-1',
      certificates: [{ name, installer: new FileInstaller({ certificate: name, directory: dir }) }],
      desired: new SecretsManagerDesiredSource({ client: client() }),
      bundles: new SecretsManagerBundleStore({ client: client() }),
      state,
      local: new AgentStateJsonFile(join(dir, '..', 'agent.json')),
      clock: () => new Date(),
      log: (l) => logs.push(l),
    };
    const installed = () => new FileInstaller({ certificate: name, directory: dir }).installedFingerprint();
    const report = async () =>
      (await state.get<HostReport>(COLLECTIONS.hosts, hostRecordId('web-1', name), new Date()))?.value;
    return { deps, installed, report, logs };
  }

  async function promote(bundle: CertificateBundle): Promise<void> {
    const store = new SecretsManagerBundleStore({ client: client() });
    const destination = new SecretsManagerDestination({ client: client(), secretIds: [secretId] });
    const ref = await store.put(bundle);
    expect((await destination.deliver(secretId, bundle)).ok).toBe(true);
    expect((await destination.promote(secretId, ref)).ok).toBe(true);
  }

  it('installs nothing while the secret does not exist', async () => {
    // Prepare
    const a = await agent();

    // Act
    const [result] = await runAgentCycle(a.deps);

    // Assess
    expect(result?.outcome).toBe('nothing-desired');
    expect(await a.installed()).toBeUndefined();
  });

  it('installs the AWSCURRENT version and follows a promotion, never logging the key', async () => {
    // Prepare
    const a = await agent();
    await promote(versions[0]!);

    // Act
    const [first] = await runAgentCycle(a.deps);
    const afterFirst = await a.installed();
    const [idle] = await runAgentCycle(a.deps);
    await promote(versions[1]!);
    const [second] = await runAgentCycle(a.deps);

    // Assess
    expect(first?.outcome).toBe('installed');
    expect(afterFirst).toBe(versions[0]!.facts.fingerprintSha256);
    expect(idle?.outcome).toBe('unchanged');
    expect(second?.outcome).toBe('installed');
    expect(await a.installed()).toBe(versions[1]!.facts.fingerprintSha256);
    expect(await a.report()).toMatchObject({ installedVersion: 'v2', healthy: true });
    expect(containsPrivateKey([...a.logs, JSON.stringify(await a.report())].join('\n'))).toBe(false);
  });

  it('does not follow AWSPENDING until it is promoted', async () => {
    // Prepare
    const a = await agent();
    await runAgentCycle(a.deps);
    const before = await a.installed();
    const [third] = await buildBundleVersions(1, { issuer: await buildCa(), name });
    const pending = { ...third!, version: 'v3' };
    await new SecretsManagerDestination({ client: client(), secretIds: [secretId] }).deliver(
      secretId,
      pending,
    );

    // Act
    const [result] = await runAgentCycle(a.deps);

    // Assess
    expect(result?.outcome).toBe('unchanged');
    expect(await a.installed()).toBe(before);
  });

  it('keeps the installed files when Secrets Manager cannot be reached', async () => {
    // Prepare
    const a = await agent();
    await runAgentCycle(a.deps);
    const before = await a.installed();
    const unreachable = createAwsClient(SecretsManagerClient, {
      ...moto.clientConfig(),
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    const offline: AgentDeps = {
      ...a.deps,
      desired: new SecretsManagerDesiredSource({ client: unreachable }),
    };

    // Act
    const [result] = await runAgentCycle(offline);

    // Assess
    expect(result?.outcome).toBe('store-unavailable');
    expect(result?.error).toMatch(/GetSecretValue/);
    expect(await a.installed()).toBe(before);
  });
});
