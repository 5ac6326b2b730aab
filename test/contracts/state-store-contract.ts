/**
 * The StateStore port contract. Every adapter (directory of JSON files, DynamoDB) runs this suite:
 *
 *   describeStateStoreContract('file state store', async () => ({ store, cleanup }));
 *
 * The factory runs before each test; `cleanup` (when given) after it. Each test also writes to a
 * collection name of its own, so a factory that hands back one shared store still passes.
 */
import { randomUUID } from 'node:crypto';
import { ConditionFailedError, type StateStore, type StoredItem } from '../../lambda/domain/ports';

export interface StateStoreFixture {
  readonly store: StateStore;
  readonly cleanup?: () => Promise<void>;
}

const MINUTE = 60_000;

export function describeStateStoreContract(name: string, factory: () => Promise<StateStoreFixture>): void {
  describe(`${name} (StateStore contract)`, () => {
    let fixture: StateStoreFixture;
    let store: StateStore;
    const now = new Date('2026-03-01T12:00:00.000Z');
    const later = (minutes: number): Date => new Date(now.getTime() + minutes * MINUTE);
    const collectionNamed = (base: string): string => `${base}-${randomUUID().slice(0, 8)}`;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    it('returns undefined for an item never written', async () => {
      const collection = collectionNamed('observations');

      const item = await store.get(collection, 'missing', now);

      expect(item).toBeUndefined();
    });

    it('stores a value at revision 1 and reads it back with its id and write time', async () => {
      const collection = collectionNamed('certificates');
      const value = { current: 'v1', fingerprint: 'AB:CD' };

      const written = await store.put(collection, 'api', value, now);
      const read = await store.get<typeof value>(collection, 'api', now);

      expect(written).toEqual({ id: 'api', value, revision: 1, updatedAt: now.toISOString() });
      expect(read).toEqual(written);
    });

    it('increments the revision on every write and keeps the latest value', async () => {
      const collection = collectionNamed('certificates');

      await store.put(collection, 'api', { n: 1 }, now);
      await store.put(collection, 'api', { n: 2 }, later(1));
      const third = await store.put(collection, 'api', { n: 3 }, later(2));
      const read = await store.get<{ n: number }>(collection, 'api', later(2));

      expect(third.revision).toBe(3);
      expect(read?.value).toEqual({ n: 3 });
      expect(read?.revision).toBe(3);
      expect(read?.updatedAt).toBe(later(2).toISOString());
    });

    it('refuses an ifAbsent write over a live item with ConditionFailedError and keeps the first value', async () => {
      const collection = collectionNamed('alerts');
      await store.put(collection, 'api:30d', { first: true }, now, { ifAbsent: true });

      const second = store.put(collection, 'api:30d', { first: false }, later(1), { ifAbsent: true });

      await expect(second).rejects.toBeInstanceOf(ConditionFailedError);
      await expect(second).rejects.toMatchObject({ collection, id: 'api:30d' });
      const read = await store.get(collection, 'api:30d', later(1));
      expect(read?.value).toEqual({ first: true });
      expect(read?.revision).toBe(1);
    });

    it('reports the expiry time of an item written with one', async () => {
      const collection = collectionNamed('locks');

      const written = await store.put(collection, 'api', { owner: 'a' }, now, { expiresAt: later(10) });
      const read = await store.get(collection, 'api', now);

      expect(written.expiresAt).toBe(later(10).toISOString());
      expect(read?.expiresAt).toBe(later(10).toISOString());
    });

    it('treats an item as absent once its expiry time has passed', async () => {
      const collection = collectionNamed('observations');
      await store.put(collection, 'api', { seen: true }, now, { expiresAt: later(5) });

      const before = await store.get(collection, 'api', later(4));
      const atExpiry = await store.get(collection, 'api', later(5));
      const after = await store.get(collection, 'api', later(6));
      const listed = await store.list(collection, later(6));

      expect(before?.value).toEqual({ seen: true });
      expect(atExpiry).toBeUndefined();
      expect(after).toBeUndefined();
      expect(listed).toEqual([]);
    });

    it('lets an ifAbsent write succeed over an expired item, as an expired lock is free', async () => {
      const collection = collectionNamed('locks');
      await store.put(collection, 'api', { owner: 'crashed' }, now, { ifAbsent: true, expiresAt: later(15) });

      const taken = await store.put(collection, 'api', { owner: 'next' }, later(16), {
        ifAbsent: true,
        expiresAt: later(31),
      });
      const read = await store.get(collection, 'api', later(16));

      expect(taken.value).toEqual({ owner: 'next' });
      expect(Number.isInteger(taken.revision) && taken.revision >= 1).toBe(true);
      expect(read?.value).toEqual({ owner: 'next' });
      expect(read?.expiresAt).toBe(later(31).toISOString());
    });

    it('writes when the expected revision matches and refuses when it does not', async () => {
      const collection = collectionNamed('certificates');
      await store.put(collection, 'api', { state: 'pending' }, now);
      await store.put(collection, 'api', { state: 'issued' }, now);

      const stale = store.put(collection, 'api', { state: 'stale' }, later(1), { expectedRevision: 1 });
      await expect(stale).rejects.toBeInstanceOf(ConditionFailedError);
      const fresh = await store.put(collection, 'api', { state: 'promoted' }, later(1), {
        expectedRevision: 2,
      });

      expect(fresh.revision).toBe(3);
      expect((await store.get(collection, 'api', later(1)))?.value).toEqual({ state: 'promoted' });
    });

    it('refuses an expected-revision write to an item that does not exist', async () => {
      const collection = collectionNamed('certificates');

      const write = store.put(collection, 'ghost', { state: 'x' }, now, { expectedRevision: 1 });

      await expect(write).rejects.toBeInstanceOf(ConditionFailedError);
      expect(await store.get(collection, 'ghost', now)).toBeUndefined();
    });

    it('deletes an item, and deleting one that is not there is not an error', async () => {
      const collection = collectionNamed('silences');
      await store.put(collection, 'api', { until: later(60).toISOString() }, now);

      await store.delete(collection, 'api');
      await store.delete(collection, 'never-written');

      expect(await store.get(collection, 'api', now)).toBeUndefined();
    });

    it('deletes only at the expected revision', async () => {
      const collection = collectionNamed('locks');
      await store.put(collection, 'api', { owner: 'a' }, now);
      await store.put(collection, 'api', { owner: 'b' }, now);

      await expect(store.delete(collection, 'api', { expectedRevision: 1 })).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect((await store.get(collection, 'api', now))?.value).toEqual({ owner: 'b' });
      await store.delete(collection, 'api', { expectedRevision: 2 });
      expect(await store.get(collection, 'api', now)).toBeUndefined();
    });

    it('starts again at revision 1 after a delete', async () => {
      const collection = collectionNamed('locks');
      await store.put(collection, 'api', { owner: 'a' }, now);
      await store.put(collection, 'api', { owner: 'a' }, now);
      await store.delete(collection, 'api');

      const again = await store.put(collection, 'api', { owner: 'b' }, now, { ifAbsent: true });

      expect(again.revision).toBe(1);
    });

    it('lists a collection sorted by id, filtered by id prefix, and never another collection', async () => {
      const collection = collectionNamed('observations');
      const other = collectionNamed('alerts');
      await store.put(collection, 'prod/api:443', { n: 2 }, now);
      await store.put(collection, 'prod/admin:443', { n: 1 }, now);
      await store.put(collection, 'staging/api:443', { n: 3 }, now);
      await store.put(other, 'prod/api:443', { n: 99 }, now);

      const all = await store.list<{ n: number }>(collection, now);
      const prod = await store.list<{ n: number }>(collection, now, 'prod/');
      const none = await store.list(collection, now, 'dev/');

      expect(all.map((i) => i.id)).toEqual(['prod/admin:443', 'prod/api:443', 'staging/api:443']);
      expect(prod.map((i) => [i.id, i.value.n])).toEqual([
        ['prod/admin:443', 1],
        ['prod/api:443', 2],
      ]);
      expect(none).toEqual([]);
    });

    it('lists items with their revision and expiry, leaving out expired ones', async () => {
      const collection = collectionNamed('observations');
      await store.put(collection, 'a', { n: 1 }, now, { expiresAt: later(5) });
      await store.put(collection, 'b', { n: 2 }, now, { expiresAt: later(60) });
      await store.put(collection, 'b', { n: 3 }, now, { expiresAt: later(60) });
      await store.put(collection, 'c', { n: 4 }, now);

      const listed = await store.list<{ n: number }>(collection, later(10));

      expect(listed).toEqual<StoredItem<{ n: number }>[]>([
        {
          id: 'b',
          value: { n: 3 },
          revision: 2,
          updatedAt: now.toISOString(),
          expiresAt: later(60).toISOString(),
        },
        { id: 'c', value: { n: 4 }, revision: 1, updatedAt: now.toISOString() },
      ]);
    });

    it('round-trips JSON values: nested objects, arrays, nulls, numbers, unicode and ISO dates as strings', async () => {
      const collection = collectionNamed('rotations');
      const value = {
        name: 'api-internal',
        startedAt: '2026-03-01T12:00:00.000Z',
        steps: [
          { step: 'issue', ok: true, at: '2026-03-01T12:00:01.000Z', hosts: [] },
          { step: 'distribute', ok: false, hosts: ['h1', 'h2'], error: null },
        ],
        counts: { zero: 0, negative: -3, fraction: 0.25, big: 9_007_199_254_740_991 },
        nested: { deeper: { deepest: { list: [[1, 2], [3]], empty: {} } } },
        note: 'ünïcødé — “quoted” \\ backslash\nnewline',
        emptyString: '',
      };

      await store.put(collection, 'api-internal/2026-03-01', value, now);
      const read = await store.get<typeof value>(collection, 'api-internal/2026-03-01', now);

      expect(read?.value).toEqual(value);
    });

    it('stores a Date inside a value as its ISO string, the way JSON does', async () => {
      const collection = collectionNamed('rotations');

      await store.put(collection, 'r1', { at: now }, now);
      const read = await store.get<{ at: unknown }>(collection, 'r1', now);

      expect(read?.value).toEqual({ at: now.toISOString() });
    });

    it.each([
      ['slashes and colons', 'prod/api.internal:443'],
      ['spaces and percent signs', 'a b%20c'],
      ['dots that look like paths', '../../etc/passwd'],
      ['unicode', 'zürich-ñ-東京'],
      ['a long id', 'x'.repeat(200)],
    ])('keeps ids with %s distinct and readable', async (_case, id) => {
      const collection = collectionNamed('hosts');

      await store.put(collection, id, { id }, now);
      await store.put(collection, `${id}-other`, { id: 'other' }, now);
      const read = await store.get<{ id: string }>(collection, id, now);
      const listed = await store.list<{ id: string }>(collection, now);

      expect(read?.id).toBe(id);
      expect(read?.value.id).toBe(id);
      expect(listed.map((i) => i.id)).toEqual([id, `${id}-other`]);
    });

    it('lets exactly one of many concurrent ifAbsent writers win, like a lock', async () => {
      const collection = collectionNamed('locks');
      const writers = Array.from({ length: 8 }, (_, i) => `writer-${i}`);

      const results = await Promise.allSettled(
        writers.map((owner) =>
          store.put(collection, 'rotation:api', { owner }, now, { ifAbsent: true, expiresAt: later(15) }),
        ),
      );

      const winners = results.filter((r) => r.status === 'fulfilled');
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(writers.length - 1);
      for (const loser of losers) expect(loser.reason).toBeInstanceOf(ConditionFailedError);
      const held = await store.get<{ owner: string }>(collection, 'rotation:api', now);
      expect(held?.value).toEqual((winners[0] as PromiseFulfilledResult<StoredItem<unknown>>).value.value);
    });

    it('lets exactly one of many concurrent writers at the same expected revision win', async () => {
      const collection = collectionNamed('certificates');
      await store.put(collection, 'api', { writer: 'initial' }, now);

      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          store.put(collection, 'api', { writer: `w${i}` }, now, { expectedRevision: 1 }),
        ),
      );

      const winners = results.filter((r) => r.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConditionFailedError);
      const read = await store.get(collection, 'api', now);
      expect(read?.revision).toBe(2);
    });

    it('loses no write among many concurrent unconditional writers: the revision counts them all', async () => {
      const collection = collectionNamed('hosts');
      await store.put(collection, 'h1', { n: 0 }, now);

      await Promise.all(Array.from({ length: 5 }, (_, i) => store.put(collection, 'h1', { n: i + 1 }, now)));
      const read = await store.get(collection, 'h1', now);

      expect(read?.revision).toBe(6);
    });
  });
}
