import { chmod, chown, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FileDestination,
  type FileDestinationOptions,
  INSTALLED_FILES,
} from '../../../lambda/adapters/local/file-destination';
import type { CertificateBundle } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { buildBundle, buildBundleVersions } from '../../builders/bundles';
import { buildCa, type BuiltCertificate } from '../../builders/certificates';
import { describeDestinationContract } from '../../contracts/destination-contract';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();

describeDestinationContract('file destination', async () => ({
  destination: new FileDestination({
    name: 'web',
    hosts: ['web-1', 'web-2'],
    directory: await temp.make('hosts'),
    reload: 'true',
  }),
  target: 'web-1',
}));

describeDestinationContract('file destination without a reload command', async () => ({
  destination: new FileDestination({
    name: 'plain',
    hosts: { 'app-1': { dir: join(await temp.make('host'), 'tls') } },
  }),
  target: 'app-1',
}));

async function readInstalled(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of Object.values(INSTALLED_FILES)) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

function modeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.mode & 0o777);
}

describe('file destination on a host directory', () => {
  let ca: BuiltCertificate;
  let versions: CertificateBundle[];

  beforeAll(async () => {
    ca = await buildCa();
    versions = await buildBundleVersions(3, { issuer: ca });
  });

  async function destinationWith(reload?: string | string[], extra: { reloadTimeoutMs?: number } = {}) {
    const directory = await temp.make('hosts');
    const destination = new FileDestination({
      name: 'web',
      hosts: ['web-1'],
      directory,
      ...(reload ? { reload } : {}),
      ...extra,
    });
    return { destination, dir: join(directory, 'web-1'), directory };
  }

  it('writes certificate, chain, full chain and key, the key 0600', async () => {
    const { destination, dir } = await destinationWith();
    const bundle = versions[0]!;

    const outcome = await destination.deliver('web-1', bundle);

    expect(outcome.ok).toBe(true);
    expect(await readInstalled(dir)).toEqual({
      'cert.pem': bundle.certificatePem,
      'chain.pem': bundle.chainPem,
      'fullchain.pem': bundle.certificatePem + bundle.chainPem,
      'key.pem': bundle.privateKey.reveal(),
    });
    expect(await modeOf(join(dir, 'key.pem'))).toBe(0o600);
    expect(await modeOf(join(dir, 'cert.pem'))).toBe(0o644);
  });

  it('keeps the version it replaces as previous/, its key 0600, and leaves no temporary files', async () => {
    const { destination, dir } = await destinationWith();
    await destination.deliver('web-1', versions[0]!);
    const before = await readInstalled(dir);

    await destination.deliver('web-1', versions[1]!);

    expect(await readInstalled(join(dir, 'previous'))).toEqual(before);
    expect(await modeOf(join(dir, 'previous', 'key.pem'))).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual([
      '.certrotor',
      'cert.pem',
      'chain.pem',
      'fullchain.pem',
      'key.pem',
      'previous',
    ]);
    expect(await filesUnder(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
    expect(await readdir(join(dir, '.certrotor', 'versions'))).toHaveLength(2);
  });

  it('points every configured file into one version directory through one switch, with relative links', async () => {
    const { destination, dir } = await destinationWith();
    await destination.deliver('web-1', versions[0]!);
    await destination.deliver('web-1', versions[1]!);

    const links = await Promise.all(
      Object.values(INSTALLED_FILES).map(async (name) => [name, await readlink(join(dir, name))]),
    );
    const current = await readlink(join(dir, '.certrotor', 'current'));
    const previous = await readlink(join(dir, 'previous'));

    expect(Object.fromEntries(links)).toEqual({
      'cert.pem': '.certrotor/current/cert.pem',
      'chain.pem': '.certrotor/current/chain.pem',
      'fullchain.pem': '.certrotor/current/fullchain.pem',
      'key.pem': '.certrotor/current/key.pem',
    });
    const hex = (b: CertificateBundle) => b.facts.fingerprintSha256.replace(/:/g, '').toLowerCase();
    expect(current).toMatch(new RegExp(`^versions/${hex(versions[1]!)}-[0-9a-f]{12}$`));
    expect(previous).toMatch(new RegExp(`^\\.certrotor/versions/${hex(versions[0]!)}-[0-9a-f]{12}$`));
  });

  describe('on a host that holds plain files (delivered by hand or by an older certrotor)', () => {
    async function plainFiles(dir: string, certOf: CertificateBundle, keyOf: CertificateBundle = certOf) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'cert.pem'), certOf.certificatePem, { mode: 0o644 });
      await writeFile(join(dir, 'chain.pem'), certOf.chainPem, { mode: 0o644 });
      await writeFile(join(dir, 'fullchain.pem'), certOf.certificatePem + certOf.chainPem, { mode: 0o644 });
      await writeFile(join(dir, 'key.pem'), keyOf.privateKey.reveal(), { mode: 0o600 });
    }

    it('keeps them as the previous set on the first delivery and rolls back to them byte for byte', async () => {
      const { destination, dir } = await destinationWith();
      await plainFiles(dir, versions[0]!);
      const before = await readInstalled(dir);

      const delivered = await destination.deliver('web-1', versions[1]!);
      const kept = await readInstalled(join(dir, 'previous'));
      const rolledBack = await destination.rollback('web-1');

      expect(delivered.ok).toBe(true);
      expect(kept).toEqual(before);
      expect(rolledBack).toMatchObject({ ok: true, fingerprintSha256: versions[0]!.facts.fingerprintSha256 });
      expect(await readInstalled(dir)).toEqual(before);
      expect(await modeOf(join(dir, 'key.pem'))).toBe(0o600);
    });

    it('takes an older previous/ directory as the rollback target', async () => {
      const { destination, dir } = await destinationWith();
      await plainFiles(join(dir, 'previous'), versions[0]!);
      await plainFiles(dir, versions[1]!);

      const outcome = await destination.rollback('web-1');

      expect(outcome).toMatchObject({ ok: true, fingerprintSha256: versions[0]!.facts.fingerprintSha256 });
      expect((await readInstalled(dir))['key.pem']).toBe(versions[0]!.privateKey.reveal());
      expect(await readlink(join(dir, 'previous'))).toMatch(/^\.certrotor\/versions\//);
    });

    it('never takes a key and certificate that do not match as the rollback target', async () => {
      const { destination, dir } = await destinationWith();
      await plainFiles(dir, versions[0]!, versions[1]!);

      const delivered = await destination.deliver('web-1', versions[2]!);
      const rolledBack = await destination.rollback('web-1');

      expect(delivered.ok).toBe(true);
      expect(rolledBack).toMatchObject({ ok: false, error: expect.stringContaining('no previous version') });
      const installed = await readInstalled(dir);
      expect([installed['cert.pem'], installed['key.pem']]).toEqual([
        versions[2]!.certificatePem,
        versions[2]!.privateKey.reveal(),
      ]);
    });
  });

  it('restores the previous files byte for byte on rollback', async () => {
    const { destination, dir } = await destinationWith();
    await destination.deliver('web-1', versions[0]!);
    const before = await readInstalled(dir);
    await destination.deliver('web-1', versions[1]!);

    const outcome = await destination.rollback('web-1');

    expect(outcome).toMatchObject({ ok: true, fingerprintSha256: versions[0]!.facts.fingerprintSha256 });
    expect(await readInstalled(dir)).toEqual(before);
    expect(await modeOf(join(dir, 'key.pem'))).toBe(0o600);
  });

  it('keeps previous/ when the version already installed is delivered again, so a retry cannot lose it', async () => {
    const { destination, dir } = await destinationWith();
    await destination.deliver('web-1', versions[0]!);
    await destination.deliver('web-1', versions[1]!);

    const retried = await destination.deliver('web-1', versions[1]!);
    const rolledBack = await destination.rollback('web-1');

    expect(retried.ok).toBe(true);
    expect(rolledBack.fingerprintSha256).toBe(versions[0]!.facts.fingerprintSha256);
    expect(await readFile(join(dir, 'cert.pem'), 'utf8')).toBe(versions[0]!.certificatePem);
  });

  it('reports that there is nothing to roll back to on a host that never had a previous version', async () => {
    const { destination, dir } = await destinationWith();
    await destination.deliver('web-1', versions[0]!);

    const outcome = await destination.rollback('web-1');

    expect(outcome).toEqual({
      target: 'web-1',
      ok: false,
      error: `no previous version to restore in ${join(dir, 'previous')}`,
    });
    expect(await destination.currentFingerprint('web-1')).toBe(versions[0]!.facts.fingerprintSha256);
  });

  it('refuses a bundle whose key does not match its certificate before touching any file', async () => {
    const { destination, dir } = await destinationWith();
    await destination.deliver('web-1', versions[0]!);
    const other = await buildBundle({ issuer: ca });
    const mismatched: CertificateBundle = { ...versions[1]!, privateKey: other.privateKey };

    const outcome = await destination.deliver('web-1', mismatched);

    expect(outcome.ok).toBe(false);
    expect(outcome.error).toContain('private key does not match the certificate');
    expect(await readFile(join(dir, 'cert.pem'), 'utf8')).toBe(versions[0]!.certificatePem);
  });

  it('names the host and the hosts it has when asked for an unknown one', async () => {
    const { destination } = await destinationWith();

    const outcome = await destination.deliver('db-9', versions[0]!);

    expect(outcome).toEqual({
      target: 'db-9',
      ok: false,
      error: 'destination web has no host db-9 (hosts: web-1)',
    });
  });

  it('gives each host its own directory, named in options or under the destination directory', async () => {
    const directory = await temp.make('hosts');
    const custom = join(await temp.make('custom'), 'etc', 'nginx', 'tls');
    const destination = new FileDestination({
      name: 'web',
      directory,
      hosts: { 'web-1': {}, 'web-2': { dir: custom } },
    });

    await destination.deliver('web-1', versions[0]!);
    await destination.deliver('web-2', versions[1]!);

    expect(destination.directoryOf('web-2')).toBe(custom);
    expect(await readFile(join(directory, 'web-1', 'cert.pem'), 'utf8')).toBe(versions[0]!.certificatePem);
    expect(await readFile(join(custom, 'cert.pem'), 'utf8')).toBe(versions[1]!.certificatePem);
  });

  it('sets owner and group on the files when configured', async () => {
    const directory = await temp.make('hosts');
    const isRoot = process.getuid?.() === 0;
    const owner = isRoot ? { uid: 1, gid: 1 } : { uid: process.getuid!(), gid: process.getgid!() };
    const destination = new FileDestination({ name: 'web', directory, hosts: ['web-1'], owner });

    await destination.deliver('web-1', versions[0]!);
    await destination.deliver('web-1', versions[1]!);

    for (const file of ['key.pem', 'cert.pem', join('previous', 'key.pem')]) {
      const s = await stat(join(directory, 'web-1', file));
      expect([file, s.uid, s.gid]).toEqual([file, owner.uid, owner.gid]);
    }
  });

  describe('reload command', () => {
    it('runs after the files are in place, with the host and its directory in the environment', async () => {
      const { destination, dir, directory } = await destinationWith([
        process.execPath,
        '-e',
        `const fs = require('fs');
         fs.appendFileSync(${JSON.stringify(join('..', 'reloads.log'))},
           [process.env.CERTROTOR_HOST, process.env.CERTROTOR_DIR, fs.readFileSync('cert.pem', 'utf8').length].join(' ') + '\\n');`,
      ]);

      await destination.deliver('web-1', versions[0]!);
      await destination.rollback('web-1');

      const log = await readFile(join(directory, 'reloads.log'), 'utf8');
      expect(log).toBe(`web-1 ${dir} ${versions[0]!.certificatePem.length}\n`);
    });

    it('runs a shell string and again on rollback', async () => {
      const { destination, directory } = await destinationWith('echo "$CERTROTOR_HOST" >> ../reloads.log');

      await destination.deliver('web-1', versions[0]!);
      await destination.deliver('web-1', versions[1]!);
      await destination.rollback('web-1');

      expect(await readFile(join(directory, 'reloads.log'), 'utf8')).toBe('web-1\nweb-1\nweb-1\n');
    });

    it('reports a failing reload with its exit code and last stderr line, and puts the previous files back', async () => {
      const { destination, dir } = await destinationWith();
      await destination.deliver('web-1', versions[0]!);
      const before = await readInstalled(dir);
      const refusing = new FileDestination({
        name: 'web',
        hosts: { 'web-1': { dir } },
        reload: 'echo "checking config" >&2; echo "nginx: [emerg] cannot load certificate" >&2; exit 3',
      });

      const outcome = await refusing.deliver('web-1', versions[1]!);

      expect(outcome).toEqual({
        target: 'web-1',
        ok: false,
        error:
          'reload `echo "checking config" >&2; echo "nginx: [emerg] cannot load certificate" >&2; exit 3` exited 3: nginx: [emerg] cannot load certificate; previous files restored',
        fingerprintSha256: versions[0]!.facts.fingerprintSha256,
      });
      expect(await readInstalled(dir)).toEqual(before);
    });

    it('leaves the rollback target as it was when a delivery is switched back after its reload failed', async () => {
      const { destination, dir } = await destinationWith();
      await destination.deliver('web-1', versions[0]!);
      await destination.deliver('web-1', versions[1]!);
      const refusing = new FileDestination({ name: 'web', hosts: { 'web-1': { dir } }, reload: 'exit 1' });

      const refused = await refusing.deliver('web-1', versions[2]!);
      const kept = await readdir(join(dir, '.certrotor', 'versions'));
      const rolledBack = await destination.rollback('web-1');

      expect(refused).toMatchObject({ ok: false, fingerprintSha256: versions[1]!.facts.fingerprintSha256 });
      expect(rolledBack).toMatchObject({ ok: true, fingerprintSha256: versions[0]!.facts.fingerprintSha256 });
      expect((await readInstalled(dir))['key.pem']).toBe(versions[0]!.privateKey.reveal());
      // The refused version's set (and its key) is gone; the current and previous sets remain.
      expect(kept).toHaveLength(2);
    });

    it('reports a failing reload on rollback after restoring the files', async () => {
      const { destination, dir } = await destinationWith();
      await destination.deliver('web-1', versions[0]!);
      await destination.deliver('web-1', versions[1]!);
      const refusing = new FileDestination({ name: 'web', hosts: { 'web-1': { dir } }, reload: 'exit 1' });

      const outcome = await refusing.rollback('web-1');

      expect(outcome).toMatchObject({
        ok: false,
        error: 'previous files restored but reload `exit 1` exited 1',
        fingerprintSha256: versions[0]!.facts.fingerprintSha256,
      });
    });

    it('kills a reload that outlives its timeout, with everything it started', async () => {
      const { destination, dir } = await destinationWith(
        'sleep 30 & echo $! > sleeper.pid; echo "still waiting" >&2; wait',
        {
          reloadTimeoutMs: 300,
        },
      );

      const outcome = await destination.deliver('web-1', versions[0]!);

      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(/timed out after 300 ms and was killed: still waiting$/);
      const sleeper = Number(await readFile(join(dir, 'sleeper.pid'), 'utf8'));
      expect(await stopsRunning(sleeper)).toBe(true);
    });

    it('never lets key material from the command output into the outcome', async () => {
      const { destination } = await destinationWith('cat key.pem >&2; exit 1');
      const { destination: truncating } = await destinationWith('head -c 120 key.pem >&2; exit 1');
      const { destination: lastKeyLine } = await destinationWith('sed -n 2p key.pem >&2; exit 1');

      const outcomes = [
        await destination.deliver('web-1', versions[0]!),
        await truncating.deliver('web-1', versions[0]!),
        await lastKeyLine.deliver('web-1', versions[0]!),
      ];

      const keyLines = versions[0]!.privateKey
        .reveal()
        .split('\n')
        .filter((l) => l.length > 20);
      for (const outcome of outcomes) {
        const text = JSON.stringify(outcome);
        expect(outcome.ok).toBe(false);
        expect(containsPrivateKey(text)).toBe(false);
        for (const line of keyLines) expect(text).not.toContain(line);
      }
    });

    it('reports a command that cannot start', async () => {
      const { destination } = await destinationWith(['/nonexistent/reload-nginx']);

      const outcome = await destination.deliver('web-1', versions[0]!);

      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(/^reload `\/nonexistent\/reload-nginx` could not start: .*ENOENT/);
    });
  });

  it('serialises concurrent deliveries to one host so that previous/ is always a whole version', async () => {
    const { destination, dir } = await destinationWith();
    await destination.deliver('web-1', versions[0]!);

    await Promise.all([
      destination.deliver('web-1', versions[1]!),
      destination.deliver('web-1', versions[2]!),
    ]);

    const current = await readInstalled(dir);
    const previous = await readInstalled(join(dir, 'previous'));
    const fingerprints = versions.map((v) => v.certificatePem);
    expect(fingerprints).toContain(current['cert.pem']);
    expect(fingerprints).toContain(previous['cert.pem']);
    expect(current['cert.pem']).not.toBe(previous['cert.pem']);
    for (const set of [current, previous]) {
      const version = versions.find((v) => v.certificatePem === set['cert.pem'])!;
      expect(set['key.pem']).toBe(version.privateKey.reveal());
    }
  });
});

describe('file destination with configured file names and key mode', () => {
  const NGINX_NAMES = { certificate: 'tls.crt', chain: 'ca.crt', fullchain: 'bundle.pem', key: 'tls.key' };
  let versions: CertificateBundle[];

  beforeAll(async () => {
    versions = await buildBundleVersions(2, { issuer: await buildCa() });
  });

  /** A group the files can be given: a system group as root, otherwise the test's own. */
  function serverGroup(): number {
    return process.getuid?.() === 0 ? 33 : process.getgid!();
  }

  async function nginxStyle(extra: { reload?: string; keyMode?: number } = {}) {
    const directory = await temp.make('hosts');
    const gid = serverGroup();
    const destination = new FileDestination({
      name: 'web',
      hosts: ['web-1'],
      directory,
      fileNames: NGINX_NAMES,
      keyMode: extra.keyMode ?? 0o640,
      owner: { gid },
      ...(extra.reload ? { reload: extra.reload } : {}),
    });
    return { destination, dir: join(directory, 'web-1'), gid };
  }

  async function readNamed(dir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of Object.values(NGINX_NAMES)) out[name] = await readFile(join(dir, name), 'utf8');
    return out;
  }

  it('writes the files under the configured names, the key with its mode and group, and no default names', async () => {
    // Prepare
    const { destination, dir, gid } = await nginxStyle();
    const bundle = versions[0]!;

    // Act
    const outcome = await destination.deliver('web-1', bundle);

    // Assess
    expect(outcome.ok).toBe(true);
    expect(await readNamed(dir)).toEqual({
      'tls.crt': bundle.certificatePem,
      'ca.crt': bundle.chainPem,
      'bundle.pem': bundle.certificatePem + bundle.chainPem,
      'tls.key': bundle.privateKey.reveal(),
    });
    const key = await stat(join(dir, 'tls.key'));
    expect([key.mode & 0o777, key.gid]).toEqual([0o640, gid]);
    expect(await modeOf(join(dir, 'tls.crt'))).toBe(0o644);
    expect((await readdir(dir)).sort()).toEqual(['.certrotor', 'bundle.pem', 'ca.crt', 'tls.crt', 'tls.key']);
    expect(destination.pathOf('web-1', 'key')).toBe(join(dir, 'tls.key'));
    expect(await destination.currentFingerprint('web-1')).toBe(bundle.facts.fingerprintSha256);
  });

  it('keeps the replaced version under the same names in previous/ and restores them on rollback', async () => {
    // Prepare
    const { destination, dir, gid } = await nginxStyle();
    await destination.deliver('web-1', versions[0]!);
    const before = await readNamed(dir);
    await destination.deliver('web-1', versions[1]!);

    // Act
    const kept = await readNamed(join(dir, 'previous'));
    const outcome = await destination.rollback('web-1');

    // Assess
    expect(kept).toEqual(before);
    expect(await modeOf(join(dir, 'previous', 'tls.key'))).toBe(0o640);
    expect(outcome).toMatchObject({ ok: true, fingerprintSha256: versions[0]!.facts.fingerprintSha256 });
    expect(await readNamed(dir)).toEqual(before);
    const key = await stat(join(dir, 'tls.key'));
    expect([key.mode & 0o777, key.gid]).toEqual([0o640, gid]);
    expect((await readdir(dir)).filter((f) => !f.startsWith('.')).sort()).toEqual([
      'bundle.pem',
      'ca.crt',
      'previous',
      'tls.crt',
      'tls.key',
    ]);
  });

  it('puts the configured files back when the reload after a delivery fails', async () => {
    // Prepare
    const { destination, dir } = await nginxStyle({ reload: 'test ! -e refuse || exit 1' });
    await destination.deliver('web-1', versions[0]!);
    const before = await readNamed(dir);
    await writeFile(join(dir, 'refuse'), '');

    // Act
    const outcome = await destination.deliver('web-1', versions[1]!);

    // Assess
    expect(outcome).toMatchObject({ ok: false, fingerprintSha256: versions[0]!.facts.fingerprintSha256 });
    expect(await readNamed(dir)).toEqual(before);
    expect(await modeOf(join(dir, 'tls.key'))).toBe(0o640);
  });

  it('narrows the key of the installed version when delivered again with a narrower key mode', async () => {
    // Prepare
    const { destination, dir } = await nginxStyle();
    await destination.deliver('web-1', versions[0]!);
    const narrower = new FileDestination({
      name: 'web',
      hosts: { 'web-1': { dir } },
      fileNames: NGINX_NAMES,
    });

    // Act
    const outcome = await narrower.deliver('web-1', versions[0]!);

    // Assess
    expect(outcome.ok).toBe(true);
    expect(await modeOf(join(dir, 'tls.key'))).toBe(0o600);
    await expect(stat(join(dir, 'previous'))).rejects.toThrow(/ENOENT/);
  });

  it('leaves the mode of an existing host directory as its administrator set it', async () => {
    // Prepare
    const { destination, dir } = await nginxStyle();
    await mkdir(dir, { mode: 0o750 });
    await chmod(dir, 0o750);

    // Act
    await destination.deliver('web-1', versions[0]!);

    // Assess
    expect(await modeOf(dir)).toBe(0o750);
  });

  it("gives the directories it creates the host directory's mode and group, so they open to no one new", async () => {
    // Prepare
    const directory = await temp.make('hosts');
    const dir = join(directory, 'web-1');
    await mkdir(dir, { mode: 0o750 });
    await chmod(dir, 0o750);
    const group = serverGroup();
    await chown(dir, -1, group);
    const destination = new FileDestination({ name: 'web', hosts: ['web-1'], directory });

    // Act
    await destination.deliver('web-1', versions[0]!);

    // Assess
    const version = join(dir, '.certrotor', await readlink(join(dir, '.certrotor', 'current')));
    for (const created of [join(dir, '.certrotor'), join(dir, '.certrotor', 'versions'), version]) {
      const s = await stat(created);
      expect([created, s.mode & 0o777, s.gid]).toEqual([created, 0o750, group]);
    }
  });

  it.each<[string, Partial<FileDestinationOptions>, RegExp]>([
    [
      'A key mode readable by other users',
      { keyMode: 0o644 },
      /^destination web: keyMode '0644' lets other users read the private key; use 0600, or 0640 with a group$/,
    ],
    ['A key mode the group may write', { keyMode: 0o660 }, /keyMode '0660' lets the group modify/],
    [
      'A file name with a directory',
      { fileNames: { key: '../key.pem' } },
      /fileNames.key "..\/key.pem" must be a plain file name/,
    ],
    [
      'A hidden file name',
      { fileNames: { chain: '.chain' } },
      /fileNames.chain ".chain" must be a plain file name/,
    ],
    [
      'Giving two files one name',
      { fileNames: { certificate: 'tls.crt', fullchain: 'tls.crt' } },
      /fileNames must be four different names \(got key.pem, tls.crt, chain.pem, tls.crt\)/,
    ],
  ])('%s is refused before any file is written', async (_case, options, message) => {
    // Prepare
    const directory = await temp.make('hosts');

    // Act
    const build = () => new FileDestination({ name: 'web', hosts: ['web-1'], directory, ...options });

    // Assess
    expect(build).toThrow(message);
    expect(await readdir(directory)).toEqual([]);
  });
});

/** Every path under `dir`, relative, symlinks not followed. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String);
}

/** True once `pid` is gone or a zombie (killed, not yet reaped by whoever inherited it). */
async function stopsRunning(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
    if (status === undefined || /^State:\s+Z/m.test(status)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
