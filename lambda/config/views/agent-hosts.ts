/**
 * Which hosts run an agent for which certificate, from configuration alone: an `agent` destination
 * covers named hosts and fleet members (by name or selector). Pure, so the CLI, the agent and the
 * deployed scan (which judges agent reports for drift) share one answer.
 */
import type { CertrotorConfig, DestinationConfig } from '../configuration';
import type { ExpectedHost } from '../../domain/host-drift';

export type AgentDestinationConfig = Extract<DestinationConfig, { kind: 'agent' }>;

/** Hosts of a fleet: named members plus selector matches (environment and every tag). */
export function fleetMembers(config: CertrotorConfig, fleetName: string): string[] {
  const fleet = config.fleets.find((f) => f.name === fleetName);
  if (!fleet) return [];
  const named = fleet.hosts ?? [];
  const selected = fleet.selector
    ? config.hosts
        .filter((h) => {
          const s = fleet.selector!;
          const env = s.environment ?? fleet.environment;
          if (env && h.environment !== env) return false;
          return Object.entries(s.tags ?? {}).every(([k, v]) => h.tags?.[k] === v);
        })
        .map((h) => h.name)
    : [];
  return [...new Set([...named, ...selected])];
}

export function agentDestinationHosts(config: CertrotorConfig, d: AgentDestinationConfig): string[] {
  return [...new Set([...(d.hosts ?? []), ...(d.fleet ? fleetMembers(config, d.fleet) : [])])];
}

export interface AgentAssignment {
  readonly certificate: string;
  readonly destination: AgentDestinationConfig;
}

/** Every (certificate, agent destination) a host's agent is responsible for. */
export function assignmentsFor(config: CertrotorConfig, host: string): AgentAssignment[] {
  const out: AgentAssignment[] = [];
  for (const d of config.destinations) {
    if (d.kind !== 'agent' || !agentDestinationHosts(config, d).includes(host)) continue;
    for (const c of config.certificates)
      if (c.destinations.includes(d.name)) out.push({ certificate: c.name, destination: d });
  }
  return out;
}

/** Hosts expected to report, for `certrotor hosts` and drift. */
export function expectedAgentHosts(config: CertrotorConfig): ExpectedHost[] {
  const out: ExpectedHost[] = [];
  for (const h of config.hosts) {
    for (const a of assignmentsFor(config, h.name)) {
      const poll = h.agent?.pollInterval ?? 300_000;
      const jitter = h.agent?.jitter ?? 60_000;
      out.push({
        host: h.name,
        certificate: a.certificate,
        environment: h.environment,
        staleAfterMs: 3 * (poll + jitter),
      });
    }
  }
  return out;
}

/**
 * How long to wait for every host of an agent destination to report a version: each agent polls once
 * (with its jitter), installs, reloads and health-checks, with a minute to spare.
 */
export function agentReportTimeoutMs(config: CertrotorConfig, d: AgentDestinationConfig): number {
  const slowest = Math.max(
    0,
    ...agentDestinationHosts(config, d).map((n) => {
      const h = config.hosts.find((x) => x.name === n);
      return (h?.agent?.pollInterval ?? 300_000) + (h?.agent?.jitter ?? 60_000);
    }),
  );
  return slowest + d.reloadTimeout + d.healthCheck.timeout + 60_000;
}
