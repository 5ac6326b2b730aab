/**
 * StateStore in a directory: `<directory>/<collection>/<id>.json`, one JSON document per item.
 *
 * Reads never lock: every write replaces the file by rename, so a reader sees a whole document.
 * Writes and deletes take a per-item lock file (`<id>.lock`, exclusive create), so the revision
 * check and the write are one step even across processes: two CLI runs racing for the same rotation
 * lock cannot both win. Ids are encoded into safe file names; the real id is kept in the document.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationError } from '../../domain/errors';
import { ConditionFailedError, type PutOptions, type StateStore, type StoredItem } from '../../domain/ports';
import {
  type FileLockOptions,
  isErrno,
  isTemporaryName,
  readFileIfExists,
  syncDirectory,
  withFileLock,
  writeFileAtomic,
} from './atomic-file';

export interface FileStateStoreOptions {
  /** Root directory; created (0700) on first write. */
  readonly directory: string;
  /** Per-item lock behaviour. */
  readonly lock?: FileLockOptions;
}

interface Document {
  readonly id: string;
  readonly revision: number;
  readonly updatedAt: string;
  readonly expiresAt?: string;
  readonly value: unknown;
}

const ITEM_SUFFIX = '.json';
const LOCK_SUFFIX = '.lock';
/** Keeps `<name>.json`, its lock and temp names well under the usual 255-byte limit. */
const MAX_ENCODED = 180;

export class FileStateStore implements StateStore {
  readonly directory: string;
  private readonly lockOptions: FileLockOptions;

  constructor(options: FileStateStoreOptions) {
    this.directory = options.directory;
    this.lockOptions = options.lock ?? {};
  }

  async get<T>(collection: string, id: string, now: Date): Promise<StoredItem<T> | undefined> {
    const doc = await this.read(collection, id);
    return doc && isLive(doc, now) ? toItem<T>(doc) : undefined;
  }

  async put<T>(
    collection: string,
    id: string,
    value: T,
    now: Date,
    options: PutOptions = {},
  ): Promise<StoredItem<T>> {
    const dir = await this.collectionDir(collection, true);
    const name = encodeName(id);
    return withFileLock(
      join(dir, name + LOCK_SUFFIX),
      async () => {
        const existing = await this.read(collection, id);
        const live = existing && isLive(existing, now) ? existing : undefined;
        if (options.ifAbsent && live) throw new ConditionFailedError(collection, id);
        if (options.expectedRevision !== undefined && live?.revision !== options.expectedRevision)
          throw new ConditionFailedError(collection, id);
        const doc: Document = {
          id,
          revision: (live?.revision ?? 0) + 1,
          updatedAt: now.toISOString(),
          ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}),
          value: toJsonValue(value, collection, id),
        };
        await writeFileAtomic(join(dir, name + ITEM_SUFFIX), JSON.stringify(doc) + '\n', { mode: 0o600 });
        return toItem<T>(doc);
      },
      this.lockOptions,
    );
  }

  async list<T>(collection: string, now: Date, prefix = ''): Promise<StoredItem<T>[]> {
    const dir = await this.collectionDir(collection, false);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const docs = await Promise.all(
      names
        .filter((n) => n.endsWith(ITEM_SUFFIX) && !isTemporaryName(n) && !n.startsWith('.'))
        .map((n) => this.readFile(join(dir, n))),
    );
    return docs
      .filter((d): d is Document => d !== undefined && d.id.startsWith(prefix) && isLive(d, now))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((d) => toItem<T>(d));
  }

  async delete(collection: string, id: string, options: { expectedRevision?: number } = {}): Promise<void> {
    const dir = await this.collectionDir(collection, false);
    const name = encodeName(id);
    const itemPath = join(dir, name + ITEM_SUFFIX);
    if (options.expectedRevision === undefined && (await readFileIfExists(itemPath)) === undefined) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await withFileLock(
      join(dir, name + LOCK_SUFFIX),
      async () => {
        const existing = await this.read(collection, id);
        // Expiry needs a clock and delete has none: a revision check is against what is stored.
        if (options.expectedRevision !== undefined && existing?.revision !== options.expectedRevision)
          throw new ConditionFailedError(collection, id);
        if (!existing) return;
        try {
          await unlink(itemPath);
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw error;
        }
        await syncDirectory(dir);
      },
      this.lockOptions,
    );
  }

  private async collectionDir(collection: string, create: boolean): Promise<string> {
    if (collection.length === 0) throw new OperationError('use', 'state collection', 'name is empty');
    const dir = join(this.directory, encodeName(collection));
    if (create) await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  private async read(collection: string, id: string): Promise<Document | undefined> {
    const path = join(this.directory, encodeName(collection), encodeName(id) + ITEM_SUFFIX);
    const doc = await this.readFile(path);
    // A hashed name could in principle be shared by two ids; the stored id settles it.
    return doc && doc.id === id ? doc : undefined;
  }

  private async readFile(path: string): Promise<Document | undefined> {
    const text = await readFileIfExists(path);
    if (text === undefined) return undefined;
    try {
      const doc = JSON.parse(text) as Document;
      if (typeof doc.id !== 'string' || typeof doc.revision !== 'number') throw new Error('not a state item');
      return doc;
    } catch (cause) {
      // Never torn by our writes (rename is atomic), so this is damage from outside: say where.
      throw new OperationError('read', path, 'state item is not valid JSON; repair or remove the file', {
        cause,
      });
    }
  }
}

function isLive(doc: Document, now: Date): boolean {
  return doc.expiresAt === undefined || Date.parse(doc.expiresAt) > now.getTime();
}

function toItem<T>(doc: Document): StoredItem<T> {
  return {
    id: doc.id,
    value: doc.value as T,
    revision: doc.revision,
    updatedAt: doc.updatedAt,
    ...(doc.expiresAt ? { expiresAt: doc.expiresAt } : {}),
  };
}

function toJsonValue(value: unknown, collection: string, id: string): unknown {
  const text = JSON.stringify(value);
  if (text === undefined)
    throw new OperationError('put', `${collection}/${id}`, 'value cannot be represented as JSON');
  return JSON.parse(text) as unknown;
}

/**
 * A file name for any id: letters, digits, `-`, `_` and inner `.` kept, everything else `%XX` per
 * UTF-8 byte (so no `/`, no leading `.`, no `..`). Names too long for a file system are shortened to
 * a readable head plus a SHA-256 of the whole id.
 */
export function encodeName(id: string): string {
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const ch = String.fromCharCode(byte);
    const safe = /[A-Za-z0-9_-]/.test(ch) || (ch === '.' && out.length > 0);
    out += safe ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length === 0) return '%';
  if (out.length <= MAX_ENCODED) return out;
  const hash = createHash('sha256').update(id).digest('hex');
  return `${out.slice(0, MAX_ENCODED - 66)}~${hash}`;
}
