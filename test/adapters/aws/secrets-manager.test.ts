import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import {
  CERTIFICATE_TAG,
  MANAGED_TAG,
  SecretsManagerBundleStore,
  requestTokenFor,
} from '../../../lambda/adapters/aws/secrets-manager';
import { SecretsManagerDestination } from '../../../lambda/adapters/aws/secrets-manager-destination';
import { SecretsManagerSource } from '../../../lambda/adapters/aws/secrets-manager-source';
import { RotationRefusedError } from '../../../lambda/domain/errors';
import type { BundleRef, CertificateBundle, Destination } from '../../../lambda/domain/ports';
import { SecretKey, containsPrivateKey } from '../../../lambda/domain/secret';
import { buildBundle, buildBundleVersions } from '../../builders/bundles';
import { buildCa, buildCertificate, type BuiltCertificate } from '../../builders/certificates';
import { describeBundleStoreContract } from '../../contracts/bundle-store-contract';
import { describeDestinationContract } from '../../contracts/destination-contract';
import { useMoto } from '../../support/moto';

const moto = useMoto();
const client = (): SecretsManagerClient => createAwsClient(SecretsManagerClient, moto.clientConfig());
const unique = (base: string): string => `${base}-${randomUUID().slice(0, 8)}`;
const refOf = (bundle: CertificateBundle): BundleRef => ({
  name: bundle.name,
  version: bundle.version,
  location: '',
});

async function stagesOf(secretId: string): Promise<Record<string, string[]>> {
  const out = await client().send(new DescribeSecretCommand({ SecretId: secretId }));
  return Object.fromEntries(
    Object.entries(out.VersionIdsToStages ?? {}).filter(([, stages]) => stages.length > 0),
  );
}

/** Labels by rotation version instead of opaque version ids, for readable assertions. */
async function labelsByRotation(
  secretId: string,
  bundles: readonly CertificateBundle[],
): Promise<Record<string, string[]>> {
  const stages = await stagesOf(secretId);
  const byToken = new Map(bundles.map((b) => [requestTokenFor(b.name, b.version), b.version]));
  return Object.fromEntries(
    Object.entries(stages).map(([versionId, labels]) => [
      byToken.get(versionId) ?? versionId,
      [...labels].sort(),
    ]),
  );
}

describeBundleStoreContract('Secrets Manager bundle store', async () => ({
  store: new SecretsManagerBundleStore({ client: client() }),
}));

/**
 * The contract's `deliver` means "the target now holds it". For Secrets Manager that is stage and
 * promote (consumers read AWSCURRENT), so the contract runs against delivery followed by promotion;
 * staging alone is covered by the cases below.
 */
function deliverAndPromote(destination: SecretsManagerDestination): Destination {
  return {
    name: destination.name,
    kind: destination.kind,
    targets: () => destination.targets(),
    deliver: async (target, bundle) => {
      const staged = await destination.deliver(target, bundle);
      return staged.ok ? destination.promote(target, refOf(bundle)) : staged;
    },
    rollback: (target) => destination.rollback(target),
    currentFingerprint: (target: string) => destination.currentFingerprint(target),
  } as Destination;
}

describeDestinationContract('Secrets Manager destination (deliver, then promote)', async () => {
  const target = unique('certrotor/contract');
  return {
    destination: deliverAndPromote(new SecretsManagerDestination({ client: client(), secretIds: [target] })),
    target,
  };
});

describe('Secrets Manager adapters against the emulator', () => {
  let ca: BuiltCertificate;

  beforeAll(async () => {
    ca = await buildCa();
  });

  describe('bundle store', () => {
    it('creates the secret with certrotor tags and stages the first bundle as AWSPENDING', async () => {
      const store = new SecretsManagerBundleStore({ client: client() });
      const bundle = await buildBundle({ name: unique('api'), issuer: ca });

      const ref = await store.put(bundle);

      const [arn, versionId] = ref.location.split('#');
      const described = await client().send(new DescribeSecretCommand({ SecretId: arn }));
      expect(described.Name).toBe(`certrotor/${bundle.name}`);
      expect(described.Tags).toEqual(
        expect.arrayContaining([
          { Key: MANAGED_TAG, Value: 'true' },
          { Key: CERTIFICATE_TAG, Value: bundle.name },
        ]),
      );
      expect(versionId).toBe(requestTokenFor(bundle.name, bundle.version));
      // Secrets Manager makes a secret's first version AWSCURRENT as well.
      expect(described.VersionIdsToStages?.[versionId!]?.sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    });

    it('treats a same-token retry as a no-op: one version, labels unchanged', async () => {
      const store = new SecretsManagerBundleStore({ client: client() });
      const [v1, v2] = await buildBundleVersions(2, { name: unique('api'), issuer: ca });
      await store.put(v1!);
      const first = await store.put(v2!);
      const stagesBefore = await stagesOf(`certrotor/${v2!.name}`);

      const retried = await store.put(v2!);

      const versions = await client().send(
        new ListSecretVersionIdsCommand({ SecretId: `certrotor/${v2!.name}`, IncludeDeprecated: true }),
      );
      expect(retried).toEqual(first);
      expect(versions.Versions).toHaveLength(2);
      expect(await stagesOf(`certrotor/${v2!.name}`)).toEqual(stagesBefore);
    });

    it('refuses a retry that carries a different key for the same rotation version, without echoing the key', async () => {
      const store = new SecretsManagerBundleStore({ client: client() });
      const bundle = await buildBundle({ name: unique('api'), issuer: ca });
      await store.put(bundle);
      const reissued = await buildBundle({ name: bundle.name, version: bundle.version, issuer: ca });

      const retry = store.put(reissued);

      await expect(retry).rejects.toThrow(RotationRefusedError);
      await expect(retry).rejects.toThrow(/already holds different material/);
      const message = await retry.catch((error: Error) => error.message);
      expect(containsPrivateKey(String(message))).toBe(false);
    });

    it('finds the pending version a previous try stored, so a retried step reuses its key', async () => {
      const store = new SecretsManagerBundleStore({ client: client() });
      const bundle = await buildBundle({ name: unique('api'), issuer: ca });
      const stored = await store.put(bundle);

      const found = await store.find(bundle.name, bundle.version);
      const reread = await store.get(found!);

      expect(found).toEqual(stored);
      expect(reread.privateKey.reveal()).toBe(bundle.privateKey.reveal());
    });
  });

  describe('destination', () => {
    let secretId: string;
    let destination: SecretsManagerDestination;
    let bundles: CertificateBundle[];

    beforeEach(async () => {
      secretId = unique('certrotor/payments');
      destination = new SecretsManagerDestination({ client: client(), secretIds: [secretId] });
      bundles = await buildBundleVersions(3, { name: 'payments', issuer: ca });
    });

    async function rotateTo(bundle: CertificateBundle): Promise<void> {
      expect((await destination.deliver(secretId, bundle)).ok).toBe(true);
      expect((await destination.promote(secretId, refOf(bundle))).ok).toBe(true);
    }

    it('stages a delivery as AWSPENDING and leaves AWSCURRENT with consumers until promotion', async () => {
      await rotateTo(bundles[0]!);

      const outcome = await destination.deliver(secretId, bundles[1]!);

      expect(outcome).toMatchObject({ ok: true, fingerprintSha256: bundles[1]!.facts.fingerprintSha256 });
      expect(await labelsByRotation(secretId, bundles)).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'] });
      expect(await destination.currentFingerprint(secretId)).toBe(bundles[0]!.facts.fingerprintSha256);
    });

    it('reports the staged AWSPENDING certificate for verification before promotion, and the current one after', async () => {
      await rotateTo(bundles[0]!);
      await destination.deliver(secretId, bundles[1]!);

      const staged = await destination.stagedFingerprint(secretId);
      await destination.promote(secretId, refOf(bundles[1]!));
      const afterPromotion = await destination.stagedFingerprint(secretId);

      expect(staged).toBe(bundles[1]!.facts.fingerprintSha256);
      expect(afterPromotion).toBe(bundles[1]!.facts.fingerprintSha256);
      expect(await destination.stagedFingerprint(unique('certrotor/missing'))).toBeUndefined();
    });

    it('promotes by moving AWSCURRENT, the old version becoming AWSPREVIOUS', async () => {
      await rotateTo(bundles[0]!);
      await destination.deliver(secretId, bundles[1]!);

      const outcome = await destination.promote(secretId, refOf(bundles[1]!));

      expect(outcome).toMatchObject({ ok: true, fingerprintSha256: bundles[1]!.facts.fingerprintSha256 });
      expect(await labelsByRotation(secretId, bundles)).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] });
    });

    it('treats promoting twice as one promotion', async () => {
      await rotateTo(bundles[0]!);
      await destination.deliver(secretId, bundles[1]!);
      await destination.promote(secretId, refOf(bundles[1]!));

      const again = await destination.promote(secretId, refOf(bundles[1]!));

      expect(again.ok).toBe(true);
      expect(await labelsByRotation(secretId, bundles)).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] });
    });

    it('rolls back an unpromoted delivery by dropping AWSPENDING; AWSCURRENT never moved', async () => {
      await rotateTo(bundles[0]!);
      await destination.deliver(secretId, bundles[1]!);

      const outcome = await destination.rollback(secretId);

      expect(outcome).toMatchObject({ ok: true, fingerprintSha256: bundles[0]!.facts.fingerprintSha256 });
      expect(await labelsByRotation(secretId, bundles)).toEqual({ v1: ['AWSCURRENT'] });
    });

    it('rolls back a promoted version by moving AWSCURRENT back, and a second rollback changes nothing', async () => {
      await rotateTo(bundles[0]!);
      await rotateTo(bundles[1]!);

      const first = await destination.rollback(secretId);
      const labelsAfterFirst = await labelsByRotation(secretId, bundles);
      const second = await destination.rollback(secretId);

      expect(first).toMatchObject({ ok: true, fingerprintSha256: bundles[0]!.facts.fingerprintSha256 });
      expect(labelsAfterFirst).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPREVIOUS', 'CERTROTOR_ROLLEDBACK'] });
      expect(second).toMatchObject({ ok: true, fingerprintSha256: bundles[0]!.facts.fingerprintSha256 });
      expect(await labelsByRotation(secretId, bundles)).toEqual(labelsAfterFirst);
    });

    it('refuses a delivery while another rotation left AWSPENDING, naming the secret, the version and the repair command', async () => {
      await rotateTo(bundles[0]!);
      await destination.deliver(secretId, bundles[1]!);

      const refused = await destination.deliver(secretId, bundles[2]!);

      const stale = requestTokenFor('payments', 'v2');
      expect(refused).toMatchObject({ ok: false, detail: 'refused: stale AWSPENDING' });
      expect(refused.error).toBe(
        `secret ${secretId} has a pending version ${stale} from an unfinished rotation; run \`certrotor repair ${secretId}\``,
      );
      expect(await labelsByRotation(secretId, bundles)).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'] });
    });

    it('delivers again once repair cleared the stale AWSPENDING', async () => {
      await rotateTo(bundles[0]!);
      await destination.deliver(secretId, bundles[1]!);

      const cleared = await destination.clearPending(secretId);
      const outcome = await destination.deliver(secretId, bundles[2]!);

      expect(cleared).toEqual({
        secret: secretId,
        clearedVersionId: requestTokenFor('payments', 'v2'),
        clearedRotationVersion: 'v2',
      });
      expect(outcome.ok).toBe(true);
      expect(await labelsByRotation(secretId, bundles)).toEqual({ v1: ['AWSCURRENT'], v3: ['AWSPENDING'] });
    });

    it('reports nothing to clear when no rotation is pending', async () => {
      await rotateTo(bundles[0]!);

      const cleared = await destination.clearPending(secretId);

      expect(cleared).toEqual({ secret: secretId });
    });

    it('accepts the same bundle the key store already staged on the same secret, as a no-op', async () => {
      const name = unique('shared');
      const store = new SecretsManagerBundleStore({ client: client() });
      const shared = new SecretsManagerDestination({ client: client(), secretIds: [`certrotor/${name}`] });
      const [v1, v2] = await buildBundleVersions(2, { name, issuer: ca });
      await store.put(v1!);
      await shared.promote(`certrotor/${name}`, refOf(v1!));
      await store.put(v2!);

      const outcome = await shared.deliver(`certrotor/${name}`, v2!);
      const promoted = await shared.promote(`certrotor/${name}`, refOf(v2!));

      expect(outcome.ok).toBe(true);
      expect(promoted.ok).toBe(true);
      expect(await labelsByRotation(`certrotor/${name}`, [v1!, v2!])).toEqual({
        v1: ['AWSPREVIOUS'],
        v2: ['AWSCURRENT'],
      });
    });

    it('refuses to promote a version that was never delivered', async () => {
      await rotateTo(bundles[0]!);

      const outcome = await destination.promote(secretId, refOf(bundles[2]!));

      expect(outcome.ok).toBe(false);
      expect(outcome.error).toContain(`secret ${secretId} has no staged version`);
    });
  });

  describe('source', () => {
    it('discovers secrets tagged as certificates and reads their current certificate', async () => {
      const environment = unique('env');
      const sm = client();
      const store = new SecretsManagerBundleStore({
        client: sm,
        secretNameFor: (name) => `${environment}/${name}`,
      });
      const bundle = await buildBundle({ name: 'billing', issuer: ca, dnsNames: ['billing.internal'] });
      await store.put(bundle);
      const plain = await buildCertificate({ dnsNames: ['legacy.internal'], issuer: ca });
      await sm.send(
        new CreateSecretCommand({
          Name: `${environment}/legacy-pem`,
          SecretString: plain.certificatePem,
          Tags: [{ Key: CERTIFICATE_TAG, Value: 'legacy' }],
        }),
      );
      await sm.send(
        new CreateSecretCommand({ Name: `${environment}/database-password`, SecretString: 'hunter2' }),
      );
      const skipped: string[] = [];
      const source = new SecretsManagerSource({
        client: sm,
        environment,
        onSkip: (s, reason) => skipped.push(`${s}: ${reason}`),
      });

      const items = (await source.discover()).filter((i) => i.location.includes(environment));

      expect(items.map((i) => [i.managedName, i.facts.subjectAltNames[0]?.value]).sort()).toEqual([
        ['billing', 'billing.internal'],
        ['legacy', 'legacy.internal'],
      ]);
      expect(items[0]).toMatchObject({ source: 'secrets-manager', environment, status: 'AWSCURRENT' });
      expect(items.every((i) => i.id.startsWith('arn:aws:secretsmanager:us-east-1:'))).toBe(true);
      expect(skipped).toEqual([]);
    });

    it('skips a tagged secret that holds no certificate, saying why without quoting it', async () => {
      const environment = unique('env');
      const sm = client();
      const canary = (await buildCertificate()).privateKey.reveal();
      await sm.send(
        new CreateSecretCommand({
          Name: `${environment}/broken`,
          SecretString: `{"certificatePem": "nope", "privateKeyPem": ${JSON.stringify(canary)}`,
          Tags: [{ Key: CERTIFICATE_TAG, Value: 'broken' }],
        }),
      );
      const skipped: string[] = [];
      const source = new SecretsManagerSource({
        client: sm,
        environment,
        onSkip: (s, reason) => skipped.push(`${s}: ${reason}`),
      });

      const items = (await source.discover()).filter((i) => i.location.includes(environment));

      expect(items).toEqual([]);
      expect(skipped.filter((s) => s.startsWith(environment))).toHaveLength(1);
      expect(skipped.some(containsPrivateKey)).toBe(false);
    });
  });

  describe('errors and key material', () => {
    it('refuses to read a current value that is not a certrotor document, naming the secret, without quoting it', async () => {
      const sm = client();
      const secretId = unique('certrotor/foreign');
      const canary = (await buildCertificate()).privateKey.reveal();
      await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: `not json ${canary}` }));
      const destination = new SecretsManagerDestination({ client: sm, secretIds: [secretId] });

      const inspect = destination.currentFingerprint(secretId);

      await expect(inspect).rejects.toThrow(
        `${secretId} AWSCURRENT: is not a certrotor certificate secret (not JSON)`,
      );
      const message = await inspect.catch((error: Error) => error.message);
      expect(containsPrivateKey(String(message))).toBe(false);
    });

    it('answers a secret name that is not one of its targets with a failed outcome', async () => {
      const destination = new SecretsManagerDestination({ client: client(), secretIds: ['certrotor/a'] });
      const bundle = await buildBundle({ issuer: ca });

      const outcome = await destination.deliver('certrotor/b', bundle);

      expect(outcome).toEqual({
        target: 'certrotor/b',
        ok: false,
        error: 'secret certrotor/b is not a target of destination secrets-manager',
      });
    });

    it('stores the key only inside the secret value: refs, outcomes and secret metadata never carry it', async () => {
      const sm = client();
      const store = new SecretsManagerBundleStore({ client: sm });
      const bundle = await buildBundle({ name: unique('canary'), issuer: ca });
      const canaryLine = bundle.privateKey.reveal().split('\n')[1]!;

      const ref = await store.put(bundle);
      const described = await sm.send(new DescribeSecretCommand({ SecretId: ref.location.split('#')[0] }));
      const value = await sm.send(new GetSecretValueCommand({ SecretId: ref.location.split('#')[0] }));

      expect(JSON.stringify(ref)).not.toContain(canaryLine);
      expect(JSON.stringify(described)).not.toContain(canaryLine);
      expect(value.SecretString).toContain(canaryLine);
      expect(String(new SecretKey('x'))).toBe('[REDACTED]');
    });

    it('does not write over an existing version that another writer created with a different value', async () => {
      const sm = client();
      const store = new SecretsManagerBundleStore({ client: sm });
      const bundle = await buildBundle({ name: unique('clash'), issuer: ca });
      const secretId = `certrotor/${bundle.name}`;
      await sm.send(new CreateSecretCommand({ Name: secretId }));
      await sm.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: requestTokenFor(bundle.name, bundle.version),
          SecretString: '{"written":"by someone else"}',
        }),
      );

      const put = store.put(bundle);

      await expect(put).rejects.toThrow(
        `secret ${secretId} version ${requestTokenFor(bundle.name, bundle.version)}`,
      );
    });
  });
});
