import {
  ConditionFailedError,
  type PutOptions,
  type StateStore,
  type StoredItem,
} from '../../lambda/domain/ports';

/** An in-memory StateStore for use-case tests; the real adapters pass the same contract suite. */
export class MemoryStateStore implements StateStore {
  private readonly items = new Map<string, StoredItem<unknown>>();

  async get<T>(collection: string, id: string, now: Date): Promise<StoredItem<T> | undefined> {
    const item = this.items.get(`${collection}/${id}`);
    if (!item || (item.expiresAt && Date.parse(item.expiresAt) <= now.getTime())) return undefined;
    return structuredClone(item) as StoredItem<T>;
  }

  async put<T>(
    collection: string,
    id: string,
    value: T,
    now: Date,
    options: PutOptions = {},
  ): Promise<StoredItem<T>> {
    const existing = await this.get<T>(collection, id, now);
    if (options.ifAbsent && existing) throw new ConditionFailedError(collection, id);
    if (options.expectedRevision !== undefined && existing?.revision !== options.expectedRevision) {
      throw new ConditionFailedError(collection, id);
    }
    const item: StoredItem<T> = {
      id,
      value: JSON.parse(JSON.stringify(value)) as T,
      revision: (this.items.get(`${collection}/${id}`)?.revision ?? 0) + 1,
      updatedAt: now.toISOString(),
      ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}),
    };
    this.items.set(`${collection}/${id}`, item);
    return structuredClone(item);
  }

  async list<T>(collection: string, now: Date, prefix = ''): Promise<StoredItem<T>[]> {
    const out: StoredItem<T>[] = [];
    for (const [key] of this.items) {
      if (!key.startsWith(`${collection}/${prefix}`)) continue;
      const item = await this.get<T>(collection, key.slice(collection.length + 1), now);
      if (item) out.push(item);
    }
    return out;
  }

  async delete(collection: string, id: string, options: { expectedRevision?: number } = {}): Promise<void> {
    const existing = this.items.get(`${collection}/${id}`);
    if (options.expectedRevision !== undefined && existing?.revision !== options.expectedRevision) {
      throw new ConditionFailedError(collection, id);
    }
    this.items.delete(`${collection}/${id}`);
  }
}
