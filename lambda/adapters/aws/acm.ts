/**
 * AWS Certificate Manager as an inventory source and as a destination.
 *
 * Source, primary course: page through `ListCertificates` (every key type, every status), decide per
 * certificate from the summary alone whether its body changed since the last run, and call
 * `GetCertificate` only for new or changed certificates. An unchanged certificate costs no call beyond
 * its share of a list page; `DescribeCertificate` is never needed.
 *
 * Destination, primary course: re-import the new bundle into the SAME ARN (load balancers and
 * distributions attached to it keep it), after an offline pre-check, because ACM has no rollback of a
 * re-import; keep the certificate's tags.
 */
import { X509Certificate } from 'node:crypto';
import {
  type ACMClient,
  AddTagsToCertificateCommand,
  CertificateStatus,
  type CertificateSummary,
  CertificateType,
  GetCertificateCommand,
  ImportCertificateCommand,
  KeyAlgorithm,
  ListTagsForCertificateCommand,
  type Tag,
  paginateListCertificates,
} from '@aws-sdk/client-acm';
import { type CertificateFacts, shortFingerprint } from '../../domain/certificate';
import { describeError } from '../../domain/errors';
import type {
  CertificateBundle,
  CertificateSource,
  Clock,
  Destination,
  InspectableDestination,
  InventoryItem,
  TargetOutcome,
} from '../../domain/ports';
import { parseCertificates } from '../../domain/x509';
import { validateBundle } from '../../domain/bundle-check';
import { describeAwsError, isAwsError } from './clients';

// ---------------------------------------------------------------------------------------------
// Source
// ---------------------------------------------------------------------------------------------

/**
 * `ListCertificates` returns only RSA_2048 certificates unless key types are named, and only some
 * statuses unless statuses are named: ask for all of both.
 */
export const ALL_KEY_TYPES: readonly KeyAlgorithm[] = Object.values(KeyAlgorithm);
export const ALL_CERTIFICATE_STATUSES: readonly CertificateStatus[] = Object.values(CertificateStatus);

/** What the source remembers about one certificate body between runs. */
export interface AcmBodyCacheEntry {
  /** Derived from the summary; when it differs from the current summary's, the body is fetched again. */
  readonly marker: string;
  readonly facts: CertificateFacts;
  /** Value of the managed-name tag when one was configured and present. */
  readonly managedName?: string;
}

/**
 * Where body-derived facts are kept between `discover()` runs. The default keeps them in memory,
 * which in Lambda lasts as long as the warm execution environment; a cold start costs one
 * `GetCertificate` per certificate once.
 */
export interface AcmBodyCache {
  get(arn: string): AcmBodyCacheEntry | undefined;
  set(arn: string, entry: AcmBodyCacheEntry): void;
  /** Forgets every ARN not in `arns` (certificates deleted since). */
  retainOnly(arns: ReadonlySet<string>): void;
}

export class MemoryAcmBodyCache implements AcmBodyCache {
  private readonly entries = new Map<string, AcmBodyCacheEntry>();
  get size(): number {
    return this.entries.size;
  }
  get(arn: string): AcmBodyCacheEntry | undefined {
    return this.entries.get(arn);
  }
  set(arn: string, entry: AcmBodyCacheEntry): void {
    this.entries.set(arn, entry);
  }
  retainOnly(arns: ReadonlySet<string>): void {
    for (const arn of this.entries.keys()) if (!arns.has(arn)) this.entries.delete(arn);
  }
}

/** Counts of the last `discover()`: what it cost and why. */
export interface AcmDiscoveryStats {
  readonly listCalls: number;
  readonly getCertificateCalls: number;
  readonly listTagsCalls: number;
  readonly certificates: number;
  /** Certificates whose facts came from the cache (summary unchanged). */
  readonly cacheHits: number;
  /** Listed certificates without a body yet (pending validation, failed): not inventory items. */
  readonly withoutBody: number;
}

export interface AcmSourceOptions {
  readonly client: ACMClient;
  /** Environment name given to every item, e.g. `prod/us-east-1`. */
  readonly environment: string;
  /** Region of `client`; used in item locations (`acm:<region>`). */
  readonly region: string;
  /** @default 'acm' */
  readonly name?: string;
  /** @default a fresh MemoryAcmBodyCache */
  readonly cache?: AcmBodyCache;
  /**
   * Tag whose value names the managed certificate. When set, `ListTagsForCertificate` is called
   * together with `GetCertificate` (new or changed certificates only). @default undefined (no tag calls)
   */
  readonly managedNameTag?: string;
  /** Parallel `GetCertificate` calls for new or changed certificates. @default 8 */
  readonly bodyConcurrency?: number;
  /** Page size asked of `ListCertificates` (ACM's maximum is 1000). @default 1000 */
  readonly pageSize?: number;
  /**
   * Whether imported certificates (`Type` IMPORTED) are inventory too; false leaves them to another
   * source (e.g. the Secrets Manager secret they were imported from). @default true
   */
  readonly includeImported?: boolean;
}

/**
 * The change marker of a certificate body, from summary fields alone. A re-import into the same ARN
 * moves `ImportedAt`; a renewal of an ACM-issued certificate moves `NotAfter` and `IssuedAt`; a key
 * change shows in `KeyAlgorithm`. Status (ISSUED → EXPIRED) and attachment (`InUse`) do not change the
 * body, so they are read fresh from every summary and not part of the marker.
 */
export function bodyMarker(summary: CertificateSummary): string {
  return [
    summary.NotBefore?.toISOString() ?? '',
    summary.NotAfter?.toISOString() ?? '',
    (summary.ImportedAt ?? summary.IssuedAt ?? summary.CreatedAt)?.toISOString() ?? '',
    summary.KeyAlgorithm ?? '',
  ].join('|');
}

export class AcmSource implements CertificateSource {
  readonly name: string;
  private readonly cache: AcmBodyCache;
  private stats: AcmDiscoveryStats = {
    listCalls: 0,
    getCertificateCalls: 0,
    listTagsCalls: 0,
    certificates: 0,
    cacheHits: 0,
    withoutBody: 0,
  };

  constructor(private readonly options: AcmSourceOptions) {
    this.name = options.name ?? 'acm';
    this.cache = options.cache ?? new MemoryAcmBodyCache();
  }

  /** What the last `discover()` cost. */
  get lastDiscovery(): AcmDiscoveryStats {
    return this.stats;
  }

  async discover(): Promise<InventoryItem[]> {
    const { client } = this.options;
    const summaries: CertificateSummary[] = [];
    const excludeImported = this.options.includeImported === false;
    let listCalls = 0;
    try {
      const pages = paginateListCertificates(
        { client, pageSize: this.options.pageSize ?? 1000 },
        {
          Includes: { keyTypes: [...ALL_KEY_TYPES] },
          CertificateStatuses: [...ALL_CERTIFICATE_STATUSES],
        },
      );
      for await (const page of pages) {
        listCalls += 1;
        // ListCertificates cannot filter on the type: excluded certificates are dropped here,
        // before any body is fetched.
        for (const summary of page.CertificateSummaryList ?? [])
          if (!excludeImported || summary.Type !== CertificateType.IMPORTED) summaries.push(summary);
      }
    } catch (error) {
      throw describeAwsError('acm:ListCertificates', `acm:${this.options.region}`, error);
    }

    const listed = new Set<string>();
    const stale: CertificateSummary[] = [];
    let withoutBody = 0;
    for (const summary of summaries) {
      const arn = summary.CertificateArn;
      if (arn === undefined) continue;
      listed.add(arn);
      // No NotAfter means ACM holds no certificate body yet (pending validation, failed request).
      if (summary.NotAfter === undefined) {
        withoutBody += 1;
        continue;
      }
      if (this.cache.get(arn)?.marker !== bodyMarker(summary)) stale.push(summary);
    }

    let getCertificateCalls = 0;
    let listTagsCalls = 0;
    await forEachLimited(stale, this.options.bodyConcurrency ?? 8, async (summary) => {
      const arn = summary.CertificateArn!;
      const body = await this.fetchBody(arn);
      getCertificateCalls += 1;
      let managedName: string | undefined;
      if (this.options.managedNameTag !== undefined) {
        const tags = await listTags(client, arn);
        listTagsCalls += 1;
        managedName = tags.find((t) => t.Key === this.options.managedNameTag)?.Value;
      }
      this.cache.set(arn, {
        marker: bodyMarker(summary),
        facts: parseCertificates(body, arn)[0]!.facts,
        ...(managedName !== undefined ? { managedName } : {}),
      });
    });
    this.cache.retainOnly(listed);

    const items: InventoryItem[] = [];
    for (const summary of summaries) {
      const cached = summary.CertificateArn ? this.cache.get(summary.CertificateArn) : undefined;
      if (cached === undefined) continue;
      items.push({
        id: summary.CertificateArn!,
        source: this.name,
        environment: this.options.environment,
        location: `acm:${this.options.region}`,
        facts: cached.facts,
        ...(cached.managedName !== undefined ? { managedName: cached.managedName } : {}),
        ...(summary.Status !== undefined ? { status: summary.Status } : {}),
        // The summary says only whether it is attached; the attachments themselves would cost a
        // DescribeCertificate per certificate, so they are left to callers that need them.
        ...(summary.InUse === false ? { inUseBy: [] } : {}),
      });
    }
    this.stats = {
      listCalls,
      getCertificateCalls,
      listTagsCalls,
      certificates: items.length,
      cacheHits: items.length - getCertificateCalls,
      withoutBody,
    };
    return items;
  }

  private async fetchBody(arn: string): Promise<string> {
    try {
      const response = await this.options.client.send(new GetCertificateCommand({ CertificateArn: arn }));
      if (!response.Certificate) throw new Error('the response holds no certificate body');
      return response.Certificate;
    } catch (error) {
      throw describeAwsError('acm:GetCertificate', arn, error);
    }
  }
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

async function listTags(client: ACMClient, arn: string): Promise<Tag[]> {
  try {
    const response = await client.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
    return response.Tags ?? [];
  } catch (error) {
    throw describeAwsError('acm:ListTagsForCertificate', arn, error);
  }
}

// ---------------------------------------------------------------------------------------------
// Offline pre-check of a re-import
// ---------------------------------------------------------------------------------------------

/**
 * Problems that forbid importing `bundle` over the certificate in the ARN now. ACM keeps no previous
 * version of a re-imported certificate, so anything a listener would choke on is refused here, before
 * the import. A misordered chain is not refused: the reordered chain is what gets imported.
 */
export function reimportCheck(
  bundle: CertificateBundle,
  currentPem: string | undefined,
  now: Date,
  expectedNames: readonly string[] = [],
): { problems: string[]; chainPem: string } {
  const current =
    currentPem !== undefined ? parseCertificates(currentPem, 'the certificate in ACM')[0]?.facts : undefined;
  // The new certificate must still cover every DNS name the current one serves.
  const names = new Set(expectedNames);
  for (const san of current?.subjectAltNames ?? []) if (san.type === 'DNS') names.add(san.value);
  const check = validateBundle({
    certificate: bundle.certificatePem,
    chain: bundle.chainPem,
    privateKey: bundle.privateKey,
    now,
    expectedNames: [...names],
    ...(current !== undefined ? { previousKey: current } : {}),
    inputNames: {
      certificate: `${bundle.name} ${bundle.version} certificate`,
      chain: `${bundle.name} ${bundle.version} chain`,
      privateKey: `${bundle.name} ${bundle.version} private key`,
    },
  });
  return {
    problems: check.problems.filter((p) => p.code !== 'chain-out-of-order').map((p) => p.message),
    chainPem: check.chain.map((c) => c.pem.trim() + '\n').join(''),
  };
}

// ---------------------------------------------------------------------------------------------
// Destination
// ---------------------------------------------------------------------------------------------

/**
 * The bundle a target held before the rotation, for a `rollback` in another process than the
 * `deliver` (the workflow runs them in different Lambda invocations). ACM never returns the private
 * key of an imported certificate, so it must come from certrotor's key store: the composition root
 * passes the BundleStore's bundle of the version the target held.
 */
export type PreviousBundleProvider = (target: string) => Promise<CertificateBundle | undefined>;

export interface AcmDestinationOptions {
  readonly client: ACMClient;
  /** Destination name from configuration. */
  readonly name: string;
  /** The certificate ARNs this destination re-imports into. */
  readonly certificateArns: readonly string[];
  /** @default none: rollback works only for deliveries made by this instance */
  readonly previousBundle?: PreviousBundleProvider;
  /** Names the new certificate must carry besides those of the certificate it replaces. @default [] */
  readonly expectedNames?: readonly string[];
  readonly clock: Clock;
}

/** One re-import by this instance: what it replaced and what it installed. */
interface Delivery {
  readonly replacedFingerprint: string;
  readonly bundle: CertificateBundle;
}

export class AcmDestination implements Destination, InspectableDestination {
  readonly kind = 'acm';
  readonly name: string;
  /** Per target, the deliveries made by this instance, oldest first; a rollback pops the last. */
  private readonly deliveries = new Map<string, Delivery[]>();

  constructor(private readonly options: AcmDestinationOptions) {
    this.name = options.name;
  }

  async targets(): Promise<string[]> {
    return [...this.options.certificateArns];
  }

  async deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    const unknown = this.refuseUnknown(target, 'deliver');
    if (unknown) return unknown;
    const outcome = await this.importChecked(target, bundle, 'deliver');
    if (
      outcome.outcome.ok &&
      outcome.replaced !== undefined &&
      outcome.replaced !== bundle.facts.fingerprintSha256
    ) {
      const list = this.deliveries.get(target) ?? [];
      list.push({ replacedFingerprint: outcome.replaced, bundle });
      this.deliveries.set(target, list);
    }
    return outcome.outcome;
  }

  /**
   * Restores what the target held before the last `deliver`. In the same process that is known
   * exactly (the replaced fingerprint, and the bundle when this instance delivered it too); otherwise
   * the injected provider supplies it from the key store.
   */
  async rollback(target: string): Promise<TargetOutcome> {
    const unknown = this.refuseUnknown(target, 'rollback');
    if (unknown) return unknown;
    const history = this.deliveries.get(target) ?? [];
    const last = history[history.length - 1];
    let previous: CertificateBundle | undefined;
    if (last !== undefined) {
      previous = [...history]
        .reverse()
        .map((d) => d.bundle)
        .find((b) => b.facts.fingerprintSha256 === last.replacedFingerprint);
    }
    if (previous === undefined && this.options.previousBundle !== undefined) {
      try {
        previous = await this.options.previousBundle(target);
      } catch (error) {
        return {
          target,
          ok: false,
          error: `rollback ${target}: reading the previous bundle failed: ${describeError(error)}`,
        };
      }
      if (
        previous !== undefined &&
        last !== undefined &&
        previous.facts.fingerprintSha256 !== last.replacedFingerprint
      ) {
        return {
          target,
          ok: false,
          error: `rollback ${target}: the key store's previous bundle (${previous.name} ${previous.version}, ${shortFingerprint(previous.facts.fingerprintSha256)}) is not the certificate the last delivery replaced (${shortFingerprint(last.replacedFingerprint)})`,
        };
      }
    }
    if (previous === undefined) {
      return {
        target,
        ok: false,
        error: `rollback ${target}: no previous bundle is known for this certificate`,
      };
    }
    const result = await this.importChecked(target, previous, 'rollback');
    if (result.outcome.ok) history.pop();
    return result.outcome;
  }

  async currentFingerprint(target: string): Promise<string | undefined> {
    const current = await this.current(target);
    return current !== undefined ? fingerprintOf(current) : undefined;
  }

  private refuseUnknown(target: string, step: string): TargetOutcome | undefined {
    if (this.options.certificateArns.includes(target)) return undefined;
    return {
      target,
      ok: false,
      error: `${step} ${target}: not a certificate of ACM destination ${this.name}`,
    };
  }

  private async importChecked(
    target: string,
    bundle: CertificateBundle,
    step: 'deliver' | 'rollback',
  ): Promise<{ outcome: TargetOutcome; replaced?: string }> {
    const fail = (error: string, fingerprintSha256?: string): { outcome: TargetOutcome } => ({
      outcome: {
        target,
        ok: false,
        error: `${step} ${target}: ${error}`,
        ...(fingerprintSha256 ? { fingerprintSha256 } : {}),
      },
    });
    try {
      const currentPem = await this.current(target);
      if (currentPem === undefined) return fail('the certificate does not exist in ACM');
      const replaced = fingerprintOf(currentPem);
      const wanted = bundle.facts.fingerprintSha256;
      // A retried step finds its work done; importing again would only move ImportedAt.
      if (replaced === wanted) {
        return { outcome: { target, ok: true, fingerprintSha256: wanted, detail: 'already installed' } };
      }
      const check = reimportCheck(
        bundle,
        currentPem,
        this.options.clock(),
        step === 'deliver' ? (this.options.expectedNames ?? []) : [],
      );
      if (check.problems.length > 0) {
        return fail(
          `pre-check refused the re-import, nothing was imported: ${check.problems.join('; ')}`,
          replaced,
        );
      }

      const tagsBefore = await listTags(this.options.client, target);
      try {
        await this.options.client.send(
          new ImportCertificateCommand({
            CertificateArn: target,
            Certificate: Buffer.from(bundle.certificatePem),
            PrivateKey: Buffer.from(bundle.privateKey.reveal()),
            ...(check.chainPem !== '' ? { CertificateChain: Buffer.from(check.chainPem) } : {}),
          }),
        );
      } catch (error) {
        throw describeAwsError('acm:ImportCertificate', target, error);
      }
      const restored = await this.restoreTags(target, tagsBefore);

      const afterPem = await this.current(target);
      const held = afterPem !== undefined ? fingerprintOf(afterPem) : undefined;
      if (held !== wanted)
        return fail(`after the import ACM holds ${held ?? 'nothing'}, not ${wanted}`, held);
      return {
        outcome: {
          target,
          ok: true,
          fingerprintSha256: wanted,
          detail: `re-imported ${bundle.name} ${bundle.version} in place${restored > 0 ? `; ${restored} tag(s) re-added` : ''}`,
        },
        replaced,
      };
    } catch (error) {
      return fail(describeError(error));
    }
  }

  /** Re-adds tags the import dropped (ACM refuses tags on a re-import itself). */
  private async restoreTags(target: string, before: readonly Tag[]): Promise<number> {
    if (before.length === 0) return 0;
    const after = await listTags(this.options.client, target);
    const lost = before.filter((tag) => !after.some((t) => t.Key === tag.Key && t.Value === tag.Value));
    if (lost.length === 0) return 0;
    try {
      await this.options.client.send(new AddTagsToCertificateCommand({ CertificateArn: target, Tags: lost }));
    } catch (error) {
      throw describeAwsError('acm:AddTagsToCertificate', target, error);
    }
    return lost.length;
  }

  private async current(target: string): Promise<string | undefined> {
    try {
      const response = await this.options.client.send(new GetCertificateCommand({ CertificateArn: target }));
      return response.Certificate;
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return undefined;
      throw describeAwsError('acm:GetCertificate', target, error);
    }
  }
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
