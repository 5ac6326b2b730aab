/**
 * The BundleStore port contract (the key store). Every adapter (0700 directory, Secrets Manager)
 * runs it:
 *
 *   describeBundleStoreContract('file bundle store', async () => ({ store, cleanup }));
 *
 * The factory runs before each test, `cleanup` after it. Each test uses certificate names of its
 * own, so a shared store passes too.
 */
import { randomUUID } from 'node:crypto';
import type { BundleStore, CertificateBundle } from '../../lambda/domain/ports';
import { containsPrivateKey } from '../../lambda/domain/secret';
import { buildBundle, buildBundleVersions } from '../builders/bundles';
import { buildCa, type BuiltCertificate } from '../builders/certificates';

export interface BundleStoreFixture {
  readonly store: BundleStore;
  readonly cleanup?: () => Promise<void>;
}

export function describeBundleStoreContract(name: string, factory: () => Promise<BundleStoreFixture>): void {
  describe(`${name} (BundleStore contract)`, () => {
    let fixture: BundleStoreFixture;
    let store: BundleStore;
    let ca: BuiltCertificate;
    const uniqueName = (base = 'api-internal'): string => `${base}-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      ca = await buildCa();
    });

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    function expectSameBundle(actual: CertificateBundle, expected: CertificateBundle): void {
      expect(actual.name).toBe(expected.name);
      expect(actual.version).toBe(expected.version);
      expect(actual.certificatePem.trim()).toBe(expected.certificatePem.trim());
      expect(actual.chainPem.trim()).toBe(expected.chainPem.trim());
      expect(actual.privateKey.reveal().trim()).toBe(expected.privateKey.reveal().trim());
      expect(actual.facts.fingerprintSha256).toBe(expected.facts.fingerprintSha256);
      expect(actual.facts.notAfter).toBe(expected.facts.notAfter);
    }

    it('stores a bundle and gives it back whole from the returned reference', async () => {
      const bundle = await buildBundle({ name: uniqueName(), version: 'v1', issuer: ca });

      const ref = await store.put(bundle);
      const read = await store.get(ref);

      expect(ref).toMatchObject({ name: bundle.name, version: 'v1' });
      expect(ref.location.length).toBeGreaterThan(0);
      expectSameBundle(read, bundle);
    });

    it('finds a stored version by name and version, and nothing for a version never stored', async () => {
      const bundleName = uniqueName();
      const bundle = await buildBundle({ name: bundleName, version: 'v1', issuer: ca });
      expect(await store.find(bundleName, 'v1')).toBeUndefined();

      const ref = await store.put(bundle);
      const found = await store.find(bundleName, 'v1');
      const missing = await store.find(bundleName, 'v2');
      const otherName = await store.find(uniqueName(), 'v1');

      expect(found).toEqual(ref);
      expect(missing).toBeUndefined();
      expect(otherName).toBeUndefined();
      expectSameBundle(await store.get(found!), bundle);
    });

    it('keeps every version of one certificate readable after newer ones are stored', async () => {
      const bundleName = uniqueName();
      const [v1, v2, v3] = await buildBundleVersions(3, { name: bundleName, issuer: ca });

      const refs = [await store.put(v1!), await store.put(v2!), await store.put(v3!)];

      expectSameBundle(await store.get(refs[0]!), v1!);
      expectSameBundle(await store.get(refs[1]!), v2!);
      expectSameBundle(await store.get(refs[2]!), v3!);
      expect(new Set(refs.map((r) => r.location)).size).toBe(3);
    });

    it('treats storing the same bundle again as a retry: same reference, same material', async () => {
      const bundle = await buildBundle({ name: uniqueName(), version: 'v1', issuer: ca });

      const first = await store.put(bundle);
      const second = await store.put(bundle);

      expect(second).toEqual(first);
      expectSameBundle(await store.get(second), bundle);
    });

    it('keeps two certificates apart', async () => {
      const a = await buildBundle({ name: uniqueName('a'), version: 'v1', issuer: ca });
      const b = await buildBundle({
        name: uniqueName('b'),
        version: 'v1',
        issuer: ca,
        dnsNames: ['b.internal'],
      });

      const refA = await store.put(a);
      const refB = await store.put(b);

      expectSameBundle(await store.get(refA), a);
      expectSameBundle(await store.get(refB), b);
    });

    it('never puts key material in a reference, which travels in workflow state and events', async () => {
      const bundle = await buildBundle({ name: uniqueName(), version: 'v1', issuer: ca });

      const ref = await store.put(bundle);
      const found = await store.find(bundle.name, bundle.version);
      const read = await store.get(ref);

      expect(containsPrivateKey(JSON.stringify(ref))).toBe(false);
      expect(containsPrivateKey(JSON.stringify(found))).toBe(false);
      expect(containsPrivateKey(JSON.stringify(read))).toBe(false);
    });

    it('fails to get a reference it never stored, naming the certificate and version', async () => {
      const bundleName = uniqueName();

      const read = store.get({ name: bundleName, version: 'v9', location: `missing-${bundleName}` });

      await expect(read).rejects.toThrow(bundleName);
    });
  });
}
