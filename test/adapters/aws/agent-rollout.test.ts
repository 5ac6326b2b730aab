/**
 * Agent hosts in the deployed rotation: the AWS composition builds a non-blocking `agent` destination
 * on the state table and the Secrets Manager bundle store, and an agent with the AWS backend installs
 * the version the workflow desires for it (staged, not yet promoted) before falling back to AWSCURRENT.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsClientPool, createAwsClient } from '../../../lambda/adapters/aws/clients';
import { buildRotationAdapters } from '../../../lambda/wiring/aws';
import { SecretsManagerBundleStore } from '../../../lambda/adapters/aws/secrets-manager';
import { SecretsManagerDestination } from '../../../lambda/adapters/aws/secrets-manager-destination';
import { SecretsManagerDesiredSource } from '../../../lambda/adapters/aws/secrets-manager-desired-source';
import { AgentDestination } from '../../../lambda/adapters/local/agent-destination';
import { AgentStateJsonFile, FileInstaller } from '../../../lambda/adapters/local/agent-host';
import { validateConfig } from '../../../lambda/config/configuration';
import { type CertificateBundle, isAsynchronous } from '../../../lambda/domain/ports';
import { type AgentDeps } from '../../../lambda/use-cases/agent/model';
import { FirstDesiredSource, StateStoreDesiredSource } from '../../../lambda/use-cases/agent/desired-source';
import { runAgentCycle } from '../../../lambda/use-cases/agent/cycle';
import { updateCertificateState } from '../../../lambda/use-cases/certificate-state';
import { buildBundleVersions } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { buildConfig } from '../../builders/config';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/temp-dir';

const moto = useMoto();
const temp = useTempDirs();
const client = (): SecretsManagerClient => createAwsClient(SecretsManagerClient, moto.clientConfig());

function agentConfig(tableName?: string) {
  return validateConfig(
    buildConfig((c) => {
      c.backend = 'aws';
      if (tableName) c.aws = { tableName };
      c.hosts.push(
        { name: 'web-2', environment: 'staging', tags: { role: 'web' } },
        { name: 'web-3', environment: 'staging', tags: { role: 'web' } },
      );
      c.fleets.push({ name: 'web-agents', environment: 'staging', selector: { tags: { role: 'web' } } });
      c.destinations.push({
        name: 'web-agent',
        kind: 'agent',
        environment: 'staging',
        directory: '/etc/tls/api',
        hosts: ['web-1'],
        fleet: 'web-agents',
      });
      c.certificates[0].destinations = ['web-agent'];
    }),
    'test config',
  );
}

describe('agent destinations in the AWS rotation adapters', () => {
  const pool = () => new AwsClientPool({ ...moto.clientConfig(), maxAttempts: 1 });

  it('builds a non-blocking agent destination for the workflow over the hosts and fleet members it names', async () => {
    // Prepare
    const config = agentConfig();

    // Act
    const { destinations } = buildRotationAdapters(config, pool(), {
      clock: () => new Date(),
      state: new MemoryStateStore(),
      waitForAgents: false,
    });
    const destination = destinations.get('web-agent');

    // Assess
    expect(destination).toBeInstanceOf(AgentDestination);
    expect(isAsynchronous(destination!)).toBe(true);
    expect((await destination!.targets()).sort()).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('builds a waiting agent destination for the CLI, whose engine verifies right after delivering', () => {
    // Act
    const { destinations } = buildRotationAdapters(agentConfig(), pool(), {
      clock: () => new Date(),
      state: new MemoryStateStore(),
    });

    // Assess
    expect(isAsynchronous(destinations.get('web-agent')!)).toBe(false);
  });

  it.each([
    ['builds it on the configured state table when no store is passed', 'certrotor-state', true],
    ['leaves it out without a state table or store', undefined, false],
  ])('%s', (_name, tableName, built) => {
    // Prepare
    const config = agentConfig(tableName);

    // Act
    const { destinations } = buildRotationAdapters(config, pool(), { clock: () => new Date() });

    // Assess
    expect(destinations.has('web-agent')).toBe(built);
  });
});

describe('agent with the AWS backend during a rollout', () => {
  let versions: CertificateBundle[];
  const name = `rollout-${randomUUID().slice(0, 8)}`;
  const secretId = `certrotor/${name}`;

  beforeAll(async () => {
    versions = await buildBundleVersions(2, { issuer: await buildCa(), name });
  });

  it('installs the version the workflow desires before promotion, and AWSCURRENT when none is desired', async () => {
    // Prepare
    const state = new MemoryStateStore();
    const bundles = new SecretsManagerBundleStore({ client: client() });
    const dir = join(await temp.make('agent-rollout'), 'tls');
    const installed = () => new FileInstaller({ certificate: name, directory: dir }).installedFingerprint();
    const agent: AgentDeps = {
      host: 'web-1',
      certificates: [{ name, installer: new FileInstaller({ certificate: name, directory: dir }) }],
      desired: new FirstDesiredSource([
        new StateStoreDesiredSource(state),
        new SecretsManagerDesiredSource({ client: client() }),
      ]),
      bundles,
      state,
      local: new AgentStateJsonFile(join(dir, '..', 'agent.json')),
      clock: () => new Date(),
    };
    const secrets = new SecretsManagerDestination({ client: client(), secretIds: [secretId] });
    const destination = () =>
      new AgentDestination({
        name: 'web-agent',
        hosts: ['web-1'],
        state,
        bundles,
        clock: () => new Date(),
        sleep: async () => undefined,
        waitForReport: false,
      });
    const current = await bundles.put(versions[0]!);
    await secrets.promote(secretId, current);
    // As after an earlier rotation: the rollback target.
    await updateCertificateState(state, name, new Date(), (s) => ({
      ...s,
      current: {
        version: versions[0]!.version,
        fingerprintSha256: versions[0]!.facts.fingerprintSha256,
        notAfter: versions[0]!.facts.notAfter,
        notBefore: versions[0]!.facts.notBefore,
        bundle: current,
      },
    }));
    const [promoted] = await runAgentCycle(agent);

    // Act
    const delivered = await destination().deliver('web-1', versions[1]!);
    const servedBeforePoll = await destination().currentFingerprint('web-1');
    const [rollout] = await runAgentCycle(agent);
    const servedAfterPoll = await destination().currentFingerprint('web-1');
    const rolledBack = await destination().rollback('web-1');
    const [restored] = await runAgentCycle(agent);

    // Assess
    expect(promoted?.outcome).toBe('installed');
    expect(delivered.ok).toBe(true);
    expect(servedBeforePoll).toBe(versions[0]!.facts.fingerprintSha256);
    expect(rollout?.outcome).toBe('installed');
    expect(servedAfterPoll).toBe(versions[1]!.facts.fingerprintSha256);
    expect(rolledBack.ok).toBe(true);
    expect(restored?.outcome).toBe('installed');
    expect(await installed()).toBe(versions[0]!.facts.fingerprintSha256);
  });
});
