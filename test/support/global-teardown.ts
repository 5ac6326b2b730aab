/** Jest global teardown: stops what global setup started. */
import type { RunningMoto } from './moto';

const RUNNING_EMULATORS = Symbol.for('certrotor.test.running-emulators');

export default async function globalTeardown(): Promise<void> {
  const registry = globalThis as Record<symbol, RunningMoto[] | undefined>;
  const running = registry[RUNNING_EMULATORS] ?? [];
  registry[RUNNING_EMULATORS] = [];
  await Promise.all(running.map((m) => m.stop()));
}
