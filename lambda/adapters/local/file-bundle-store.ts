/**
 * BundleStore in a directory: the local key store.
 *
 *   <directory>/                      0700
 *     <name>/<version>/               0700, one per issued version
 *       certificate.pem  chain.pem    0600
 *       key.pem                       0600
 *       metadata.json                 0600, name, version, facts, storedAt (no key material)
 *
 * A version is written into a temporary sibling directory and renamed into place, so a version
 * directory is either complete or absent. Storing a version again is a retry: it returns the same
 * reference when the certificate is the same and refuses when it differs (a version never changes).
 */
import { X509Certificate } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type CertificateFacts, shortFingerprint } from '../../domain/certificate';
import { OperationError } from '../../domain/errors';
import type { BundleRef, BundleStore, CertificateBundle } from '../../domain/ports';
import { SecretKey } from '../../domain/secret';
import { isErrno, makeDirectory, readFileIfExists, syncDirectory, writeFileAtomic } from './atomic-file';
import { encodeName } from './file-state-store';

export interface FileBundleStoreOptions {
  /** Root directory; created 0700 on first write. */
  readonly directory: string;
  /** Injected clock for `storedAt`. @default () => new Date() */
  readonly clock?: () => Date;
}

/** What `metadata.json` holds: public facts only. */
export interface BundleMetadata {
  readonly name: string;
  readonly version: string;
  readonly facts: CertificateFacts;
  readonly storedAt: string;
}

const FILES = {
  certificate: 'certificate.pem',
  chain: 'chain.pem',
  key: 'key.pem',
  metadata: 'metadata.json',
};

export class FileBundleStore implements BundleStore {
  readonly directory: string;
  private readonly clock: () => Date;

  constructor(options: FileBundleStoreOptions) {
    this.directory = options.directory;
    this.clock = options.clock ?? (() => new Date());
  }

  async put(bundle: CertificateBundle): Promise<BundleRef> {
    const location = this.locationOf(bundle.name, bundle.version);
    const existing = await this.readMetadata(location);
    if (existing) return this.sameOrRefuse(existing, bundle, location);

    const nameDir = join(this.directory, encodeName(bundle.name));
    await makeDirectory(this.directory, 0o700);
    await makeDirectory(nameDir, 0o700);
    const staging = join(nameDir, `.${encodeName(bundle.version)}.${randomBytes(6).toString('hex')}.tmp`);
    await makeDirectory(staging, 0o700);
    const metadata: BundleMetadata = {
      name: bundle.name,
      version: bundle.version,
      facts: bundle.facts,
      storedAt: this.clock().toISOString(),
    };
    try {
      await writeFileAtomic(join(staging, FILES.key), bundle.privateKey.reveal(), { mode: 0o600 });
      await writeFileAtomic(join(staging, FILES.certificate), bundle.certificatePem, { mode: 0o600 });
      await writeFileAtomic(join(staging, FILES.chain), bundle.chainPem, { mode: 0o600 });
      // Metadata last: its presence marks a complete version.
      await writeFileAtomic(join(staging, FILES.metadata), JSON.stringify(metadata, null, 2) + '\n', {
        mode: 0o600,
      });
      await rename(staging, location);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (isErrno(error, 'ENOTEMPTY') || isErrno(error, 'EEXIST')) {
        // Another writer stored the same version first.
        const winner = await this.readMetadata(location);
        if (winner) return this.sameOrRefuse(winner, bundle, location);
      }
      throw new OperationError('store', `bundle ${bundle.name}@${bundle.version}`, describe(error), {
        cause: error,
      });
    }
    await syncDirectory(nameDir);
    return { name: bundle.name, version: bundle.version, location };
  }

  async get(ref: BundleRef): Promise<CertificateBundle> {
    // The path is derived from name and version, never taken from the reference: a reference
    // cannot point the store at a file outside its directory.
    const location = this.locationOf(ref.name, ref.version);
    const metadata = await this.readMetadata(location);
    if (!metadata)
      throw new OperationError(
        'read',
        `bundle ${ref.name}@${ref.version}`,
        `not stored in ${this.directory}`,
      );
    const [certificatePem, chainPem, keyPem] = await Promise.all([
      readFileIfExists(join(location, FILES.certificate)),
      readFileIfExists(join(location, FILES.chain)),
      readFileIfExists(join(location, FILES.key)),
    ]);
    if (certificatePem === undefined || chainPem === undefined || keyPem === undefined)
      throw new OperationError('read', `bundle ${ref.name}@${ref.version}`, `files missing in ${location}`);
    return {
      name: metadata.name,
      version: metadata.version,
      certificatePem,
      chainPem,
      privateKey: new SecretKey(keyPem),
      facts: metadata.facts,
    };
  }

  async find(name: string, version: string): Promise<BundleRef | undefined> {
    const location = this.locationOf(name, version);
    return (await this.readMetadata(location)) ? { name, version, location } : undefined;
  }

  /** Every stored version of `name` (metadata only), oldest first by storage time. */
  async versions(name: string): Promise<BundleMetadata[]> {
    const nameDir = join(this.directory, encodeName(name));
    let entries: string[];
    try {
      entries = await readdir(nameDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const all = await Promise.all(
      entries.filter((e) => !e.startsWith('.')).map((e) => this.readMetadata(join(nameDir, e))),
    );
    return all
      .filter((m): m is BundleMetadata => m !== undefined)
      .sort((a, b) => a.storedAt.localeCompare(b.storedAt));
  }

  private locationOf(name: string, version: string): string {
    return join(this.directory, encodeName(name), encodeName(version));
  }

  private async readMetadata(location: string): Promise<BundleMetadata | undefined> {
    const text = await readFileIfExists(join(location, FILES.metadata));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as BundleMetadata;
    } catch (cause) {
      throw new OperationError('read', join(location, FILES.metadata), 'not valid JSON', { cause });
    }
  }

  private async sameOrRefuse(
    existing: BundleMetadata,
    bundle: CertificateBundle,
    location: string,
  ): Promise<BundleRef> {
    const stored = await readFileIfExists(join(location, FILES.certificate));
    const same =
      existing.facts.fingerprintSha256 === bundle.facts.fingerprintSha256 &&
      stored !== undefined &&
      new X509Certificate(stored).fingerprint256 ===
        new X509Certificate(bundle.certificatePem).fingerprint256;
    if (!same)
      throw new OperationError(
        'store',
        `bundle ${bundle.name}@${bundle.version}`,
        `version already stored with certificate ${shortFingerprint(existing.facts.fingerprintSha256)}; a version never changes`,
      );
    return { name: bundle.name, version: bundle.version, location };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
