/**
 * What survives a crash in the middle of an ACME issuance, keyed by the rotation's idempotency key:
 * the certificate's private key (generated before the order, needed for the CSR and the issued
 * certificate) and the order URL (recorded before any challenge is answered or the order finalised).
 * A retried issue reloads the order and downloads the certificate instead of ordering again.
 *
 * Local layout (0700 directory, 0600 files; keys never leave it except into the bundle store):
 *   <directory>/account.key.pem    <directory>/orders/<key>.json    <directory>/orders/<key>.key.pem
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StateStore } from '../../../domain/ports';
import { SecretKey } from '../../../domain/secret';
import { makeDirectory, readFileIfExists, withFileLock, writeFileAtomic } from '../../local/atomic-file';
import { encodeName } from '../../local/file-state-store';

export interface AcmeOrderRecord {
  readonly privateKey?: SecretKey;
  readonly orderUrl?: string;
}

/** The certificate version an order is for (an encryption context where keys are sealed with KMS). */
export interface AcmeOrderSubject {
  readonly name: string;
  readonly version: string;
}

export interface AcmeOrderJournal {
  lookup(idempotencyKey: string, subject: AcmeOrderSubject): Promise<AcmeOrderRecord | undefined>;
  /** Persists the key for `idempotencyKey`; returns the key on record (a concurrent first one wins). */
  reserveKey(idempotencyKey: string, privateKey: SecretKey, subject: AcmeOrderSubject): Promise<SecretKey>;
  recordOrder(idempotencyKey: string, orderUrl: string): Promise<void>;
}

/** Keys of one ACME account and its orders' certificate keys. */
export interface AcmeKeyFiles {
  /** The account key, created (by `create`) on first use and kept. */
  accountKey(create: () => Promise<SecretKey>): Promise<SecretKey>;
}

const ORDERS = 'acme-orders';

/**
 * How long an order's certificate key is kept after it was generated: the issued key lives in the
 * key store with its bundle, and the copy here only serves a retry of that issuance. CAs expire
 * pending orders within days (Let's Encrypt: 7), so a month is long past any retry.
 */
export const ORDER_KEY_RETENTION_MS = 30 * 86_400_000;

/** Order URLs in the state store (collection `acme-orders`), keys as 0600 files in `directory`. */
export class LocalAcmeJournal implements AcmeOrderJournal, AcmeKeyFiles {
  constructor(
    private readonly directory: string,
    private readonly state: StateStore,
    private readonly clock: () => Date,
  ) {}

  async accountKey(create: () => Promise<SecretKey>): Promise<SecretKey> {
    await makeDirectory(this.directory, 0o700);
    const path = join(this.directory, 'account.key.pem');
    return withFileLock(`${path}.lock`, async () => {
      const existing = await readFileIfExists(path);
      if (existing !== undefined) return new SecretKey(existing);
      const key = await create();
      await writeFileAtomic(path, key.reveal(), { mode: 0o600 });
      return key;
    });
  }

  async lookup(idempotencyKey: string): Promise<AcmeOrderRecord | undefined> {
    const key = await readFileIfExists(this.keyPath(idempotencyKey));
    const stored = await this.state.get<{ orderUrl?: string }>(ORDERS, idempotencyKey, this.clock());
    if (key === undefined && !stored) return undefined;
    return {
      ...(key !== undefined ? { privateKey: new SecretKey(key) } : {}),
      ...(stored?.value.orderUrl ? { orderUrl: stored.value.orderUrl } : {}),
    };
  }

  async reserveKey(idempotencyKey: string, privateKey: SecretKey): Promise<SecretKey> {
    const path = this.keyPath(idempotencyKey);
    await makeDirectory(join(this.directory, 'orders'), 0o700);
    await this.pruneKeys();
    return withFileLock(`${path}.lock`, async () => {
      const existing = await readFileIfExists(path);
      if (existing !== undefined) return new SecretKey(existing);
      await writeFileAtomic(path, privateKey.reveal(), { mode: 0o600 });
      return privateKey;
    });
  }

  async recordOrder(idempotencyKey: string, orderUrl: string): Promise<void> {
    await this.state.put(ORDERS, idempotencyKey, { orderUrl }, this.clock());
  }

  /** Removes order keys older than the retention (never the account key). */
  async pruneKeys(): Promise<void> {
    const dir = join(this.directory, 'orders');
    const cutoff = this.clock().getTime() - ORDER_KEY_RETENTION_MS;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('.key.pem')) continue;
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) await rm(path, { force: true });
    }
  }

  private keyPath(idempotencyKey: string): string {
    return join(this.directory, 'orders', `${encodeName(idempotencyKey)}.key.pem`);
  }
}
