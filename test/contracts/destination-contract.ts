/**
 * The Destination port contract. Every adapter (files on hosts, ACM re-import, Secrets Manager,
 * SSM Run Command) runs it:
 *
 *   describeDestinationContract('file destination', async () => ({ destination, target, cleanup }));
 *
 * The factory runs before each test and returns a destination with `target` among its targets, in
 * whatever starting state the adapter needs (an ACM target may already hold a certificate).
 * `makeBundle` lets an adapter that checks names or key type shape the bundles it is given.
 */
import { randomUUID } from 'node:crypto';
import {
  type CertificateBundle,
  type Destination,
  isInspectable,
  type TargetOutcome,
} from '../../lambda/domain/ports';
import { containsPrivateKey } from '../../lambda/domain/secret';
import { buildBundle } from '../builders/bundles';
import { buildCa, type BuiltCertificate } from '../builders/certificates';

export interface DestinationFixture {
  readonly destination: Destination;
  /** A target of `destination` that the tests may deliver to and roll back. */
  readonly target: string;
  /** A target name the destination does not cover. @default a random name */
  readonly unknownTarget?: string;
  /** Builds the n-th bundle delivered by a test (1, 2, 3…). @default an EC P-256 leaf for api.internal */
  readonly makeBundle?: (version: number) => Promise<CertificateBundle>;
  readonly cleanup?: () => Promise<void>;
}

export function describeDestinationContract(name: string, factory: () => Promise<DestinationFixture>): void {
  describe(`${name} (Destination contract)`, () => {
    let fixture: DestinationFixture;
    let destination: Destination;
    let target: string;
    let ca: BuiltCertificate;
    let output: string[];
    const restorers: (() => void)[] = [];

    const bundle = (version: number): Promise<CertificateBundle> =>
      fixture.makeBundle
        ? fixture.makeBundle(version)
        : buildBundle({
            name: 'contract-cert',
            version: `v${version}`,
            issuer: ca,
            dnsNames: ['api.internal'],
          });

    beforeAll(async () => {
      ca = await buildCa();
    });

    beforeEach(async () => {
      output = [];
      // Everything the adapter prints while under test is captured, to prove no key material leaks.
      for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
        const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          output.push(args.map(String).join(' '));
        });
        restorers.push(() => spy.mockRestore());
      }
      for (const stream of [process.stdout, process.stderr]) {
        const original = stream.write.bind(stream);
        stream.write = ((chunk: unknown, ...rest: unknown[]) => {
          output.push(String(chunk));
          return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof stream.write;
        restorers.push(() => (stream.write = original));
      }
      fixture = await factory();
      destination = fixture.destination;
      target = fixture.target;
    });

    afterEach(async () => {
      for (const restore of restorers.splice(0)) restore();
      expect(output.some(containsPrivateKey)).toBe(false);
      await fixture.cleanup?.();
    });

    function expectNoKeyMaterial(...outcomes: TargetOutcome[]): void {
      for (const outcome of outcomes) expect(containsPrivateKey(JSON.stringify(outcome))).toBe(false);
    }

    async function expectHolds(fingerprint: string): Promise<void> {
      if (isInspectable(destination)) expect(await destination.currentFingerprint(target)).toBe(fingerprint);
    }

    it('names a kind and lists the target among its targets', async () => {
      const targets = await destination.targets();

      expect(destination.name.length).toBeGreaterThan(0);
      expect(destination.kind.length).toBeGreaterThan(0);
      expect(targets).toContain(target);
    });

    it('delivers a bundle and reports the fingerprint the target now holds', async () => {
      const first = await bundle(1);

      const outcome = await destination.deliver(target, first);

      expect(outcome).toMatchObject({ target, ok: true, fingerprintSha256: first.facts.fingerprintSha256 });
      expectNoKeyMaterial(outcome);
      await expectHolds(first.facts.fingerprintSha256);
    });

    it('rolls back to the previous version and reports its fingerprint', async () => {
      const [first, second] = [await bundle(1), await bundle(2)];
      await destination.deliver(target, first);
      const delivered = await destination.deliver(target, second);
      await expectHolds(second.facts.fingerprintSha256);

      const rolledBack = await destination.rollback(target);

      expect(delivered.ok).toBe(true);
      expect(rolledBack).toMatchObject({
        target,
        ok: true,
        fingerprintSha256: first.facts.fingerprintSha256,
      });
      expectNoKeyMaterial(delivered, rolledBack);
      await expectHolds(first.facts.fingerprintSha256);
    });

    it('after two deliveries, rolls back to the one delivered just before the last', async () => {
      const [first, second, third] = [await bundle(1), await bundle(2), await bundle(3)];
      await destination.deliver(target, first);
      await destination.deliver(target, second);
      await destination.deliver(target, third);

      const rolledBack = await destination.rollback(target);

      expect(rolledBack).toMatchObject({ ok: true, fingerprintSha256: second.facts.fingerprintSha256 });
      await expectHolds(second.facts.fingerprintSha256);
    });

    it('delivers again after a rollback', async () => {
      const [first, second, third] = [await bundle(1), await bundle(2), await bundle(3)];
      await destination.deliver(target, first);
      await destination.deliver(target, second);
      await destination.rollback(target);

      const outcome = await destination.deliver(target, third);

      expect(outcome).toMatchObject({ ok: true, fingerprintSha256: third.facts.fingerprintSha256 });
      await expectHolds(third.facts.fingerprintSha256);
    });

    it('answers a target it does not cover with a failed outcome, not an exception', async () => {
      const unknown = fixture.unknownTarget ?? `no-such-target-${randomUUID().slice(0, 8)}`;
      const first = await bundle(1);

      const delivered = await destination.deliver(unknown, first);
      const rolledBack = await destination.rollback(unknown);

      expect(await destination.targets()).not.toContain(unknown);
      expect(delivered).toMatchObject({ target: unknown, ok: false });
      expect(delivered.error).toEqual(expect.stringContaining(unknown));
      expect(rolledBack).toMatchObject({ target: unknown, ok: false });
      expectNoKeyMaterial(delivered, rolledBack);
    });

    it('never carries key material in an outcome, a message or printed output', async () => {
      const [first, second] = [await bundle(1), await bundle(2)];

      const outcomes = [
        await destination.deliver(target, first),
        await destination.deliver(target, second),
        await destination.rollback(target),
      ];

      expectNoKeyMaterial(...outcomes);
      for (const outcome of outcomes) {
        expect(outcome.error ?? '').not.toContain(first.privateKey.reveal().split('\n')[1]!);
        expect(outcome.detail ?? '').not.toContain(second.privateKey.reveal().split('\n')[1]!);
      }
    });
  });
}
