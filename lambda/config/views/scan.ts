/**
 * The scan's settings from configuration (renewal policies, alert thresholds, concurrency, the hosts
 * whose agents must report, how long observations are kept, the upstreams' client certificates): one
 * answer for `scan`/`run` in the CLI and the inventory and probe jobs.
 */
import type { CertrotorConfig } from '../configuration';
import type { ScanInput } from '../../use-cases/cycle';
import { expectedAgentHosts } from './agent-hosts';
import { renewalPolicies } from './certificates';

export type ScanSettings = Pick<
  ScanInput,
  | 'renewal'
  | 'thresholds'
  | 'concurrency'
  | 'expectedHosts'
  | 'observationTtlMs'
  | 'thresholdScaling'
  | 'identity'
  | 'clientCertificateUses'
>;

export function scanSettings(config: CertrotorConfig): ScanSettings {
  return {
    renewal: renewalPolicies(config),
    thresholds: config.notifications.thresholds,
    // Thresholds scale with each certificate's lifetime unless the configuration says `absolute`.
    thresholdScaling: thresholdScalingOf(config),
    // What counts as "the same certificate" for the sibling sweep.
    identity: config.notifications.identity,
    concurrency: config.probe.concurrency,
    // Agent reports (hosts that run `certrotor agent`) are judged for drift in the same scan.
    expectedHosts: expectedAgentHosts(config),
    observationTtlMs: config.aws.observationTtl,
    // Checked for clientAuth from a public CA whether or not they were imported.
    clientCertificateUses: config.upstreams.flatMap((u) =>
      u.clientCertificate
        ? [
            {
              upstream: u.name,
              certificate: u.clientCertificate,
              environments: [...new Set(u.endpoints.flatMap((e) => (e.environment ? [e.environment] : [])))],
            },
          ]
        : [],
    ),
  };
}

/** `notifications.thresholdScaling` (default `lifetime`). */
export function thresholdScalingOf(config: CertrotorConfig): 'lifetime' | 'absolute' {
  return config.notifications.thresholdScaling;
}
