import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLocalRuntime } from '../../lambda/cli/local-runtime';
import { validateConfig } from '../../lambda/config/configuration';
import { buildBundleVersions } from '../builders/bundles';
import { buildCa } from '../builders/certificates';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const clock = () => new Date('2030-01-01T00:00:00Z');
/** A group the files can be given: a system group as root, otherwise the test's own. */
const SERVER_GROUP = process.getuid?.() === 0 ? '33' : String(process.getgid!());

async function runtimeWithFiles(install: Record<string, unknown>) {
  const root = await temp.make('local-runtime');
  const tls = join(root, 'tls');
  const config = validateConfig(
    buildConfig((c) => {
      c.local = { stateDirectory: join(root, 'state') };
      Object.assign(c.destinations[0], { directory: tls }, install);
    }),
    'test',
  );
  return { runtime: buildLocalRuntime(config, { clock }), tls };
}

describe('local runtime files destinations', () => {
  it('write under the configured file names with the configured key mode and group, and roll back to them', async () => {
    // Prepare
    const [v1, v2] = await buildBundleVersions(2, { issuer: await buildCa() });
    const { runtime, tls } = await runtimeWithFiles({
      fileNames: { certificate: 'tls.crt', chain: 'ca.crt', fullchain: 'bundle.pem', key: 'tls.key' },
      keyMode: '0640',
      group: SERVER_GROUP,
    });
    const destination = runtime.destinations.get('web-files')!;

    // Act
    await destination.deliver('web-1', v1!);
    await destination.deliver('web-1', v2!);
    const rolledBack = await destination.rollback('web-1');

    // Assess
    expect(rolledBack).toMatchObject({ ok: true, fingerprintSha256: v1!.facts.fingerprintSha256 });
    expect((await readdir(tls)).sort()).toEqual([
      '.certrotor',
      'bundle.pem',
      'ca.crt',
      'previous',
      'tls.crt',
      'tls.key',
    ]);
    expect(await readFile(join(tls, 'tls.crt'), 'utf8')).toBe(v1!.certificatePem);
    const key = await stat(join(tls, 'tls.key'));
    expect([key.mode & 0o777, String(key.gid)]).toEqual([0o640, SERVER_GROUP]);
  });

  it('name the setting when the configured group does not exist on this machine', async () => {
    // Act
    const build = runtimeWithFiles({ group: 'no-such-group-certrotor' });

    // Assess
    await expect(build).rejects.toThrow(
      'destinations.web-files.group no-such-group-certrotor: not found in /etc/group',
    );
  });
});
