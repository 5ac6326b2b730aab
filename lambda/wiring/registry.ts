/**
 * A registry per port, keyed by `kind`: for each kind a backend runs, how to build its adapter from
 * the configured entry. The registries of each backend are typed against the kinds table in
 * lambda/config/backends.ts (`KindsRunBy`), so a backend builds exactly the kinds validation accepts
 * for it; test/wiring checks the values too.
 */
import type { Backend, KindsRunBy } from '../config/backends';

/** Builds the adapter of one configured entry; undefined when there is nothing to build (`external`). */
export type Factory<Entry, Deps, Product> = (entry: Entry, deps: Deps) => Product | undefined;

/** A registry for one port and one backend: one factory per kind the backend runs. */
export type Registry<Entry extends { readonly kind: string }, Table, B extends Backend, Deps, Product> = {
  readonly [K in KindsRunBy<Table, B> & Entry['kind']]: Factory<Extract<Entry, { kind: K }>, Deps, Product>;
};

/**
 * Builds the adapters of `entries` by name. An entry of a kind the registry lacks is skipped: validation
 * for the backend refuses it (`config validate --backend`, the CDK app), and a rotation that names it
 * fails with the missing issuer or destination named.
 */
export function buildByKind<Entry extends { readonly kind: string; readonly name: string }, Deps, Product>(
  entries: readonly Entry[],
  registry: { readonly [kind: string]: Factory<never, Deps, Product> },
  deps: Deps,
): Map<string, Product> {
  const out = new Map<string, Product>();
  for (const entry of entries) {
    const factory = Object.hasOwn(registry, entry.kind)
      ? (registry[entry.kind] as Factory<Entry, Deps, Product>)
      : undefined;
    const product = factory?.(entry, deps);
    if (product !== undefined) out.set(entry.name, product);
  }
  return out;
}

/** Every entry's adapter as a list (sources are not named by anything else). */
export function buildListByKind<
  Entry extends { readonly kind: string; readonly name: string },
  Deps,
  Product,
>(
  entries: readonly Entry[],
  registry: { readonly [kind: string]: Factory<never, Deps, Product> },
  deps: Deps,
): Product[] {
  return [...buildByKind(entries, registry, deps).values()];
}
