/**
 * Issuer backed by a private CA kept in a directory: what `certrotor` uses with no cloud at all.
 *
 * Primary course: on first use the CA is created (EC P-256, ten years, key 0600 in a 0700
 * directory) → each `issue` generates a fresh key of the requested spec → mints a leaf for the
 * request's names, back-dated by `backdateMinutes` (default 5) so that hosts whose clocks run a
 * little behind accept it at once, and never valid beyond the CA → stores the bundle (with its key)
 * in the key store → records the result (certificate and key store reference, never the key) under
 * the request's idempotency key before returning it, so a retried issue returns the same
 * certificate and key.
 *
 *   <directory>/ca.pem  ca.key.pem (0600)  issued/<idempotency key>.json (0600, no key material)
 *
 * Leaf keys live only in the key store: the one given as `keyStore` (the state's bundle store), or
 * `<directory>/keys` (a FileBundleStore) without one. A record written by an older version with the
 * key in it has its key moved into the key store and is rewritten without it by the next issue.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DAY_MS } from '../../domain/certificate';
import { InvalidInputError, OperationError } from '../../domain/errors';
import type {
  BundleRef,
  BundleStore,
  CertificateBundle,
  CertificateMaterial,
  CertificateUsage,
  Clock,
  IssueRequest,
  Issuer,
  IssuerWithCaExpiry,
} from '../../domain/ports';
import { SecretKey } from '../../domain/secret';
import { exportPrivateKey, generateKeyPair, importSigningKey, mintCertificate } from '../crypto/mint';
import { isErrno, makeDirectory, readFileIfExists, withFileLock, writeFileAtomic } from './atomic-file';
import { FileBundleStore } from './file-bundle-store';
import { encodeName } from './file-state-store';
import { factsFromPem } from './pem-facts';

export interface LocalCaIssuerOptions {
  /** Directory for the CA and the issuance records; created 0700. */
  readonly directory: string;
  /** Issuer name in configuration. @default 'local-ca' */
  readonly name?: string;
  /** Subject common name of the CA when it is created. @default 'certrotor local CA' */
  readonly caCommonName?: string;
  /** Lifetime of a newly created CA. @default 3650 (ten years) */
  readonly caValidityDays?: number;
  /** How far before `now` certificates start, for clients whose clocks lag. @default 5 */
  readonly backdateMinutes?: number;
  /** Time for creating the CA when `caCertificate()` is the first call. @default () => new Date() */
  readonly clock?: Clock;
  /** Where leaf keys are kept (the only place). @default a FileBundleStore in `<directory>/keys` */
  readonly keyStore?: BundleStore;
}

interface IssuedRecord {
  readonly idempotencyKey: string;
  readonly name: string;
  readonly version: string;
  readonly certificatePem: string;
  readonly chainPem: string;
  /** Where the bundle, key included, is stored. */
  readonly bundle?: BundleRef;
  /** Only in records written by older versions; moved to the key store when read. */
  readonly privateKeyPem?: string;
}

interface Ca {
  readonly certificatePem: string;
  readonly keys: CryptoKeyPair;
  readonly notAfter: Date;
}

const EKU: Record<CertificateUsage, ('serverAuth' | 'clientAuth')[]> = {
  server: ['serverAuth'],
  client: ['clientAuth'],
  'server-and-client': ['serverAuth', 'clientAuth'],
};

export class LocalCaIssuer implements Issuer, IssuerWithCaExpiry {
  readonly name: string;
  readonly directory: string;
  private readonly caCommonName: string;
  private readonly caValidityDays: number;
  private readonly backdateMs: number;
  private readonly clock: Clock;
  private readonly keyStore: BundleStore;
  private ca: Promise<Ca> | undefined;
  private migrated: Promise<void> | undefined;

  constructor(options: LocalCaIssuerOptions) {
    this.directory = options.directory;
    this.name = options.name ?? 'local-ca';
    this.caCommonName = options.caCommonName ?? 'certrotor local CA';
    this.caValidityDays = options.caValidityDays ?? 3650;
    this.backdateMs = (options.backdateMinutes ?? 5) * 60_000;
    this.clock = options.clock ?? (() => new Date());
    this.keyStore =
      options.keyStore ?? new FileBundleStore({ directory: join(this.directory, 'keys'), clock: this.clock });
  }

  get caCertificatePath(): string {
    return join(this.directory, 'ca.pem');
  }

  async caCertificate(): Promise<CertificateMaterial> {
    const ca = await this.loadOrCreateCa(this.clock());
    return { pem: ca.certificatePem, facts: factsFromPem(ca.certificatePem) };
  }

  /**
   * The CA certificate if the CA exists, without creating it: what a scan reads, since watching a CA
   * must not bring one into being (the certificate file is written last, so it marks a complete CA).
   */
  async existingCaCertificate(): Promise<CertificateMaterial | undefined> {
    const pem = this.ca ? (await this.ca).certificatePem : await readFileIfExists(this.caCertificatePath);
    return pem === undefined ? undefined : { pem, facts: factsFromPem(pem) };
  }

  async issue(request: IssueRequest, now: Date): Promise<CertificateBundle> {
    validate(request);
    const recordPath = join(this.directory, 'issued', `${encodeName(request.idempotencyKey)}.json`);
    const ca = await this.loadOrCreateCa(now);
    await this.migrateRecords();
    await makeDirectory(join(this.directory, 'issued'), 0o700);
    // The lock makes a concurrent retry wait for the first attempt's record instead of minting.
    return withFileLock(`${recordPath}.lock`, async () => {
      const recorded = await readRecord(recordPath);
      if (recorded) return this.fromRecord(recorded, request, recordPath);
      if (ca.notAfter.getTime() <= now.getTime())
        throw new OperationError(
          'issue',
          `${request.name}@${request.version}`,
          `local CA ${this.caCertificatePath} expired at ${ca.notAfter.toISOString()}; create a new CA`,
        );
      const notBefore = new Date(now.getTime() - this.backdateMs);
      const requested = new Date(now.getTime() + request.validityDays * DAY_MS);
      // A leaf that outlives its CA fails validation from the CA's expiry on: clamp it.
      const notAfter = requested > ca.notAfter ? ca.notAfter : requested;
      const pair = await generateKeyPair(request.keySpec);
      const certificatePem = await mintCertificate({
        subject: `CN=${request.commonName}`,
        dnsNames: dnsNamesOf(request),
        ipAddresses: request.ipAddresses ?? [],
        notBefore,
        notAfter,
        subjectKeys: pair.keys,
        issuer: { certificatePem: ca.certificatePem, keys: ca.keys },
        extendedKeyUsage: EKU[request.usage],
      });
      const bundle: CertificateBundle = {
        name: request.name,
        version: request.version,
        certificatePem,
        chainPem: ca.certificatePem,
        privateKey: await exportPrivateKey(pair),
        facts: factsFromPem(certificatePem),
      };
      // Persist first (key store, then the record naming it): a crash after this returns the same
      // certificate on retry; a crash before it leaves no record, and the retry mints afresh.
      const ref = await this.keyStore.put(bundle);
      await writeRecord(recordPath, {
        idempotencyKey: request.idempotencyKey,
        name: request.name,
        version: request.version,
        certificatePem,
        chainPem: ca.certificatePem,
        bundle: ref,
      });
      return bundle;
    });
  }

  /** The bundle a record stands for, key from the key store (moving it there from an older record). */
  private async fromRecord(
    record: IssuedRecord,
    request: IssueRequest,
    recordPath: string,
  ): Promise<CertificateBundle> {
    if (record.name !== request.name || record.version !== request.version)
      throw new InvalidInputError(
        `issue request ${request.name}@${request.version}: idempotency key ${request.idempotencyKey} was already used for ${record.name}@${record.version}`,
      );
    if (record.privateKeyPem !== undefined)
      return this.moveKeyToStore(record, record.privateKeyPem, recordPath);
    const ref = record.bundle ?? (await this.keyStore.find(record.name, record.version));
    if (!ref)
      throw new OperationError(
        'issue',
        `${request.name}@${request.version}`,
        `${recordPath} records an issued certificate whose key is not in the key store`,
      );
    const stored = await this.keyStore.get(ref);
    if (stored.facts.fingerprintSha256 !== factsFromPem(record.certificatePem).fingerprintSha256)
      throw new OperationError(
        'issue',
        `${request.name}@${request.version}`,
        `the key store holds another certificate for this version than ${recordPath} records`,
      );
    return stored;
  }

  /** Puts an older record's key into the key store, then rewrites the record without it. */
  private async moveKeyToStore(
    record: IssuedRecord,
    privateKeyPem: string,
    recordPath: string,
  ): Promise<CertificateBundle> {
    const bundle: CertificateBundle = {
      name: record.name,
      version: record.version,
      certificatePem: record.certificatePem,
      chainPem: record.chainPem,
      privateKey: new SecretKey(privateKeyPem),
      facts: factsFromPem(record.certificatePem),
    };
    const ref = await this.keyStore.put(bundle);
    const { privateKeyPem: _moved, ...rest } = record;
    await writeRecord(recordPath, { ...rest, bundle: ref });
    return bundle;
  }

  /**
   * Once per issuer: every record an older version wrote with its key in it has the key moved into
   * the key store. A record that cannot be moved (its version is stored with another certificate)
   * is named in the error of the issue that found it.
   */
  private migrateRecords(): Promise<void> {
    this.migrated ??= (async () => {
      const dir = join(this.directory, 'issued');
      const names = await readdir(dir).catch((error: unknown) => {
        if (isErrno(error, 'ENOENT')) return [] as string[];
        throw error;
      });
      for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
        const path = join(dir, name);
        await withFileLock(`${path}.lock`, async () => {
          const record = await readRecord(path);
          if (record?.privateKeyPem !== undefined)
            await this.moveKeyToStore(record, record.privateKeyPem, path);
        });
      }
    })().catch((error: unknown) => {
      this.migrated = undefined;
      throw error;
    });
    return this.migrated;
  }

  private loadOrCreateCa(now: Date): Promise<Ca> {
    this.ca ??= this.readOrCreateCa(now).catch((error: unknown) => {
      this.ca = undefined;
      throw error;
    });
    return this.ca;
  }

  private async readOrCreateCa(now: Date): Promise<Ca> {
    await makeDirectory(this.directory, 0o700);
    const certPath = this.caCertificatePath;
    const keyPath = join(this.directory, 'ca.key.pem');
    return withFileLock(join(this.directory, 'ca.lock'), async () => {
      const existingCert = await readFileIfExists(certPath);
      const existingKey = await readFileIfExists(keyPath);
      if (existingCert !== undefined && existingKey !== undefined)
        return toCa(existingCert, new SecretKey(existingKey));
      // The certificate is written last, so a key without it is an interrupted creation: redo it.
      const pair = await generateKeyPair('EC_P256');
      const certificatePem = await mintCertificate({
        subject: `CN=${this.caCommonName}, O=certrotor`,
        notBefore: new Date(now.getTime() - this.backdateMs),
        notAfter: new Date(now.getTime() + this.caValidityDays * DAY_MS),
        subjectKeys: pair.keys,
        isCA: true,
        extendedKeyUsage: [],
      });
      const key = await exportPrivateKey(pair);
      await writeFileAtomic(keyPath, key.reveal(), { mode: 0o600 });
      await writeFileAtomic(certPath, certificatePem, { mode: 0o644 });
      return toCa(certificatePem, key);
    });
  }
}

async function toCa(certificatePem: string, key: SecretKey): Promise<Ca> {
  return {
    certificatePem,
    keys: await importSigningKey(key, certificatePem),
    notAfter: new Date(factsFromPem(certificatePem).notAfter),
  };
}

function validate(request: IssueRequest): void {
  const where = `issue request ${request.name}@${request.version}`;
  if (!Number.isFinite(request.validityDays) || request.validityDays <= 0)
    throw new InvalidInputError(
      `${where}: validityDays must be a positive number, got ${request.validityDays}`,
    );
  if (request.commonName.trim() === '' && request.dnsNames.length === 0)
    throw new InvalidInputError(`${where}: needs a common name or at least one DNS name`);
  if (request.idempotencyKey.trim() === '')
    throw new InvalidInputError(`${where}: idempotencyKey must not be empty`);
}

/** The common name is a SAN too when it is a host name, since clients only look at SANs. */
function dnsNamesOf(request: IssueRequest): string[] {
  const names = [...request.dnsNames];
  const cn = request.commonName.trim();
  const isIp = /^[\d.]+$/.test(cn) || cn.includes(':');
  if (cn !== '' && !isIp && !cn.includes(' ') && !names.includes(cn)) names.unshift(cn);
  return names;
}

async function readRecord(path: string): Promise<IssuedRecord | undefined> {
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as IssuedRecord;
  } catch (cause) {
    throw new OperationError('read', path, 'issuance record is not valid JSON', { cause });
  }
}

function writeRecord(path: string, record: IssuedRecord): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(record) + '\n', { mode: 0o600 });
}
