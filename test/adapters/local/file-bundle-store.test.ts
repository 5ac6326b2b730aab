import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileBundleStore } from '../../../lambda/adapters/local/file-bundle-store';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { buildBundle } from '../../builders/bundles';
import { describeBundleStoreContract } from '../../contracts/bundle-store-contract';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();

describeBundleStoreContract('file bundle store', async () => ({
  store: new FileBundleStore({ directory: join(await temp.make('bundles'), 'keys') }),
}));

describe('file bundle store on disk', () => {
  it('keeps the key store 0700 and every file in it 0600', async () => {
    const directory = join(await temp.make('bundles'), 'keys');
    const store = new FileBundleStore({ directory });

    const ref = await store.put(await buildBundle({ name: 'api', version: 'v1' }));

    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    expect((await stat(join(directory, 'api'))).mode & 0o777).toBe(0o700);
    expect((await stat(ref.location)).mode & 0o777).toBe(0o700);
    for (const file of await readdir(ref.location))
      expect([file, (await stat(join(ref.location, file))).mode & 0o777]).toEqual([file, 0o600]);
  });

  it('writes the facts to a metadata file that holds no key material', async () => {
    const directory = await temp.make('bundles');
    const store = new FileBundleStore({ directory, clock: () => new Date('2026-03-01T00:00:00Z') });
    const bundle = await buildBundle({ name: 'api', version: 'v1' });

    const ref = await store.put(bundle);

    const metadata = await readFile(join(ref.location, 'metadata.json'), 'utf8');
    expect(JSON.parse(metadata)).toEqual({
      name: 'api',
      version: 'v1',
      facts: bundle.facts,
      storedAt: '2026-03-01T00:00:00.000Z',
    });
    expect(containsPrivateKey(metadata)).toBe(false);
    expect(await readFile(join(ref.location, 'key.pem'), 'utf8')).toBe(bundle.privateKey.reveal());
  });

  it('refuses to store a different certificate under a version already stored', async () => {
    const store = new FileBundleStore({ directory: await temp.make('bundles') });
    await store.put(await buildBundle({ name: 'api', version: 'v1' }));

    const second = store.put(await buildBundle({ name: 'api', version: 'v1' }));

    await expect(second).rejects.toThrow(/store bundle api@v1: version already stored with certificate/);
  });

  it('lets one of two concurrent writers of the same version win and the other get its reference', async () => {
    const store = new FileBundleStore({ directory: await temp.make('bundles') });
    const bundle = await buildBundle({ name: 'api', version: 'v1' });

    const [a, b] = await Promise.all([store.put(bundle), store.put(bundle)]);

    expect(a).toEqual(b);
    expect(await readdir(join(store.directory, 'api'))).toEqual(['v1']);
  });

  it('lists the stored versions of a certificate, ignoring unfinished ones', async () => {
    let tick = 0;
    const store = new FileBundleStore({
      directory: await temp.make('bundles'),
      clock: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)),
    });
    await store.put(await buildBundle({ name: 'api', version: 'v2' }));
    await store.put(await buildBundle({ name: 'api', version: 'v10' }));

    const versions = await store.versions('api');

    expect(versions.map((v) => v.version)).toEqual(['v2', 'v10']);
    expect(await store.versions('never')).toEqual([]);
  });
});
