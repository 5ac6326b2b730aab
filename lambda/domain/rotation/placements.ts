/**
 * Network placements as the rotation sees them: a placement whose rotation-step function probes
 * targets on this one's behalf (the deployed service reaches private networks from inside them).
 */
import type { ProbeRequest, ProbeResult } from '../ports';

/**
 * The Lambda environment variable listing the other placements' rotation-step functions (a JSON list
 * of { name, environments, functionName }), set by the CDK construct on the rotation's own function.
 */
export const VERIFIERS_VARIABLE = 'CERTROTOR_VERIFIERS';

/** A placement whose rotation-step function probes on this one's behalf. */
export interface RemotePlacement {
  readonly name: string;
  readonly environments: readonly string[];
  /** Probes from that placement (the deployed service invokes its rotation-step function). */
  readonly probe: (request: ProbeRequest) => Promise<ProbeResult[]>;
}

/** What a `probe` step may be asked (no client certificate: rotation checks present none). */
export function probeRequestOf(request: ProbeRequest): ProbeRequest {
  const { clientCertificate: _dropped, ...rest } = request;
  return rest;
}
