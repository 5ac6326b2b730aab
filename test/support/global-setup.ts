/**
 * Jest global setup: shared services for the suites. Starts the AWS emulator (moto server) once for
 * the run, one server per Jest worker (see test/support/moto.ts), and cuts the test process off from
 * real AWS (fake credentials, no instance metadata, no profiles).
 *
 * An emulator already running can be reused by setting CERTROTOR_TEST_AWS_ENDPOINT to its loopback
 * URL; then every worker shares it, so run with `--runInBand`.
 */
import {
  MOTO_ENDPOINT_ENV,
  MOTO_ENDPOINTS_ENV,
  assertLoopbackEndpoint,
  isolateFromRealAws,
  startMoto,
  type RunningMoto,
} from './moto';

export const RUNNING_EMULATORS = Symbol.for('certrotor.test.running-emulators');

export default async function globalSetup(globalConfig: { readonly maxWorkers?: number }): Promise<void> {
  isolateFromRealAws();

  const external = process.env[MOTO_ENDPOINT_ENV];
  if (external !== undefined && external !== '' && process.env[MOTO_ENDPOINTS_ENV] === undefined) {
    assertLoopbackEndpoint(external);
    process.env[MOTO_ENDPOINTS_ENV] = external;
    return;
  }

  const workers = Math.max(1, Math.min(globalConfig.maxWorkers ?? 1, 4));
  const settled = await Promise.allSettled(Array.from({ length: workers }, () => startMoto()));
  const running = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  (globalThis as Record<symbol, RunningMoto[]>)[RUNNING_EMULATORS] = running;
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(running.map((m) => m.stop()));
    throw failed.reason;
  }
  process.env[MOTO_ENDPOINTS_ENV] = running.map((m) => m.endpoint).join(',');
  process.env[MOTO_ENDPOINT_ENV] = running[0]!.endpoint;
  process.env.AWS_ENDPOINT_URL = running[0]!.endpoint;
}
