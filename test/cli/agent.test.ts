import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileInstaller } from '../../lambda/adapters/local/agent-host';
import { FileBundleStore } from '../../lambda/adapters/local/file-bundle-store';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { DESIRED_COLLECTION, type DesiredRecord, hostRecordId } from '../../lambda/domain/host-agent';
import { updateCertificateState } from '../../lambda/use-cases/certificate-state';
import { buildBundleVersions } from '../builders/bundles';
import { buildCa } from '../builders/certificates';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();

async function certrotor(cwd: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: {},
    cwd,
    clock: () => new Date(),
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A group the files can be given: a system group as root, otherwise the test's own. */
const SERVER_GROUP = process.getuid?.() === 0 ? '33' : String(process.getgid!());

async function setup(install: Record<string, unknown> = {}) {
  const dir = await temp.make('agent-cli');
  const stateDirectory = join(dir, 'state');
  const tls = join(dir, 'tls');
  const config = buildConfig((c) => {
    c.local = { stateDirectory };
    c.hosts.push({ name: 'app-1', environment: 'prod', agent: { pollInterval: '1m', jitter: '10s' } });
    c.hosts.push({ name: 'app-2', environment: 'staging', agent: {} });
    c.destinations.push({
      name: 'app-agents',
      kind: 'agent',
      directory: tls,
      hosts: ['app-1', 'app-2'],
      healthCheck: { handshake: false },
      ...install,
    });
    c.certificates[0].destinations.push('app-agents');
  });
  await writeFile(join(dir, 'certrotor.yaml'), JSON.stringify(config));
  const [v1] = await buildBundleVersions(1, { issuer: await buildCa(), name: 'api' });
  const state = new FileStateStore({ directory: join(stateDirectory, 'state') });
  const bundles = new FileBundleStore({ directory: join(stateDirectory, 'bundles') });
  const ref = await bundles.put(v1!);
  const now = new Date();
  const record: DesiredRecord = {
    host: 'app-1',
    certificate: 'api',
    version: v1!.version,
    fingerprintSha256: v1!.facts.fingerprintSha256,
    bundle: ref,
    requestedAt: now.toISOString(),
  };
  await state.put(DESIRED_COLLECTION, hostRecordId('app-1', 'api'), record, now);
  await updateCertificateState(state, 'api', now, () => ({
    name: 'api',
    current: {
      version: 'v1',
      fingerprintSha256: v1!.facts.fingerprintSha256,
      notAfter: v1!.facts.notAfter,
      notBefore: v1!.facts.notBefore,
      bundle: ref,
    },
    failedAttempts: 0,
  }));
  return { dir, tls, v1: v1! };
}

describe('certrotor agent and certrotor hosts', () => {
  it('installs the desired version with --once and shows the host ok, and the silent host as missing', async () => {
    // Prepare
    const { dir, tls, v1 } = await setup();

    // Act
    const agent = await certrotor(dir, 'agent', '--host', 'app-1', '--once');
    const hosts = await certrotor(dir, 'hosts', '--json');
    const table = await certrotor(dir, 'hosts');

    // Assess
    expect(agent.code).toBe(0);
    expect(agent.out).toMatch(/^app-1 {2}api {2}installed {2}installed /);
    expect(await new FileInstaller({ certificate: 'api', directory: tls }).installedFingerprint()).toBe(
      v1.facts.fingerprintSha256,
    );
    const view = JSON.parse(hosts.out);
    expect(view.hosts).toEqual([
      expect.objectContaining({ host: 'app-1', environment: 'prod', certificate: 'api', state: 'ok' }),
      expect.objectContaining({
        host: 'app-2',
        environment: 'staging',
        state: 'no report',
        reason: 'missing',
      }),
    ]);
    expect(view.findings).toHaveLength(1);
    expect(hosts.code).toBe(1);
    expect(table.out).toMatch(
      /HOST +ENVIRONMENT +CERTIFICATE +CURRENT +INSTALLED +SERVED +LAST REPORT +STATE/,
    );
    expect(table.out).toMatch(/app-2 .* no report \(missing\)/);
    expect(`${agent.out}${agent.err}`).not.toMatch(/PRIVATE KEY/);
  });

  it('installs under the configured file names with the configured key mode and group', async () => {
    // Prepare
    const fileNames = { certificate: 'tls.crt', chain: 'ca.crt', fullchain: 'bundle.pem', key: 'tls.key' };
    const { dir, tls, v1 } = await setup({ fileNames, keyMode: '0640', group: SERVER_GROUP });

    // Act
    const agent = await certrotor(dir, 'agent', '--host', 'app-1', '--once');
    const hosts = await certrotor(dir, 'hosts', '--json');

    // Assess
    expect(agent.code).toBe(0);
    expect((await readdir(tls)).sort()).toEqual(['.certrotor', 'bundle.pem', 'ca.crt', 'tls.crt', 'tls.key']);
    const key = await stat(join(tls, 'tls.key'));
    expect([key.mode & 0o777, String(key.gid)]).toEqual([0o640, SERVER_GROUP]);
    expect(await readFile(join(tls, 'tls.crt'), 'utf8')).toBe(v1.certificatePem);
    expect(JSON.parse(hosts.out).hosts[0]).toMatchObject({
      host: 'app-1',
      installedFingerprint: v1.facts.fingerprintSha256,
      state: 'ok',
    });
  });

  it('refuses a key mode other users could read, naming the destination setting', async () => {
    // Prepare
    const { dir, tls } = await setup({ keyMode: '0644' });

    // Act
    const run = await certrotor(dir, 'agent', '--host', 'app-1', '--once');

    // Assess
    expect(run.code).not.toBe(0);
    expect(run.err).toMatch(
      /keyMode: '0644' lets other users read the private key \(destination app-agents\); use '0600', or '0640' with a group/,
    );
    await expect(readdir(tls)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a host that is not in the configuration, naming the hosts it knows', async () => {
    // Prepare
    const { dir } = await setup();

    // Act
    const run = await certrotor(dir, 'agent', '--host', 'nope', '--once');

    // Assess
    expect(run.code).not.toBe(0);
    expect(run.err).toMatch(
      /certrotor: --host nope: no such host in the configuration \(hosts: web-1, app-1, app-2\)/,
    );
  });

  it('refuses a host that no agent destination covers', async () => {
    // Prepare
    const { dir } = await setup();

    // Act
    const run = await certrotor(dir, 'agent', '--host', 'web-1', '--once');

    // Assess
    expect(run.err).toMatch(
      /--host web-1: no certificate is delivered to this host through an `agent` destination/,
    );
  });
});
