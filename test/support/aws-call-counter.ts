/**
 * Counts the commands an SDK v3 client sends, by command name, with a middleware at the
 * `initialize` step (one count per command, whatever its retries).
 *
 *   const calls = countCalls(client);
 *   await source.discover();
 *   expect(calls.of('ListCertificatesCommand')).toBe(1);
 */
import type { InitializeHandlerOptions, InitializeMiddleware } from '@smithy/types';

export interface CallCounts {
  of(commandName: string): number;
  total(): number;
  reset(): void;
  snapshot(): Record<string, number>;
}

/** Any SDK v3 client, whichever @smithy/types version its package was built against. */
export interface ClientWithStack {
  readonly middlewareStack: object;
}

interface LooseStack {
  add(
    middleware: InitializeMiddleware<object, object>,
    options: InitializeHandlerOptions & { name: string },
  ): void;
}

export function countCalls(client: ClientWithStack): CallCounts {
  const counts = new Map<string, number>();
  (client.middlewareStack as LooseStack).add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: `certrotorCallCounter${Math.random().toString(36).slice(2)}` },
  );
  return {
    of: (name) => counts.get(name) ?? 0,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    snapshot: () => Object.fromEntries(counts),
  };
}
