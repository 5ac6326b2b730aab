/**
 * Health checks after an install: a fresh handshake to the host's own endpoint must show the installed
 * certificate.
 */
import type { ProbeRequest, TlsProber } from '../../domain/ports';
import type { HealthCheck, HealthResult } from '../../domain/ports';

/** A fresh handshake to the host's own endpoint must show the installed certificate. */
export function handshakeHealthCheck(
  prober: TlsProber,
  request: ProbeRequest,
  options: { attempts?: number; intervalMs?: number; sleep: (ms: number) => Promise<void> },
): HealthCheck {
  const attempts = Math.max(1, options.attempts ?? 5);
  const where = `${request.host}:${request.port}`;
  return {
    async check(expected) {
      let last: HealthResult = { healthy: false, error: `${where}: not probed` };
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await options.sleep(options.intervalMs ?? 500);
        const results = await prober.probe(request);
        const failed = results.find((r) => !r.ok || r.chain.length === 0);
        const served = results[0]?.chain[0]?.facts.fingerprintSha256;
        if (results.length === 0) last = { healthy: false, error: `${where}: resolved to no address` };
        else if (failed)
          last = { healthy: false, error: `${where} handshake failed: ${failed.error ?? 'no certificate'}` };
        else if (expected !== undefined && served !== expected)
          last = {
            healthy: false,
            servedFingerprint: served,
            error: `${where} serves ${served ?? 'nothing'}, expected ${expected}`,
          };
        else return { healthy: true, ...(served ? { servedFingerprint: served } : {}) };
        if (last.servedFingerprint === undefined && served !== undefined)
          last = { ...last, servedFingerprint: served };
      }
      return last;
    },
  };
}

/** Every check must pass; the served fingerprint comes from the first that saw one. */
export function allHealthChecks(checks: readonly HealthCheck[]): HealthCheck {
  return {
    async check(expected) {
      let served: string | undefined;
      for (const c of checks) {
        const r = await c.check(expected);
        served ??= r.servedFingerprint;
        if (!r.healthy) return { ...r, ...(served ? { servedFingerprint: served } : {}) };
      }
      return { healthy: true, ...(served ? { servedFingerprint: served } : {}) };
    },
  };
}
