/**
 * Configuration → host agents: which hosts an `agent` destination covers (by name or fleet), which
 * certificates a host's agent installs, where, and how it proves them. The `agent` destinations
 * themselves are built by the wiring (lambda/wiring/local.ts, aws.ts).
 */
import { join } from 'node:path';
import type { CertrotorConfig, HostConfig } from '../config/configuration';
import { InvalidInputError } from '../domain/errors';
import type { ProbeRequest, TlsProber } from '../domain/ports';
import { assignmentsFor } from '../config/views/agent-hosts';
import { FileInstaller, commandHealthCheck } from '../adapters/local/agent-host';
import { type AgentCertificate } from '../use-cases/agent/model';
import { type HealthCheck } from '../domain/ports';
import { allHealthChecks, handshakeHealthCheck } from '../use-cases/agent/health';
import { installLayout, resolveFileOwner } from '../wiring/file-install';

export {
  type AgentAssignment,
  type AgentDestinationConfig,
  agentDestinationHosts,
  assignmentsFor,
  expectedAgentHosts,
  fleetMembers,
} from '../config/views/agent-hosts';

export function findAgentHost(config: CertrotorConfig, name: string): HostConfig {
  const host = config.hosts.find((h) => h.name === name);
  if (!host) {
    throw new InvalidInputError(
      `--host ${name}: no such host in the configuration (hosts: ${config.hosts.map((h) => h.name).join(', ') || 'none'})`,
    );
  }
  return host;
}

/** The agent's certificates with their installers and health checks. */
export function agentCertificates(
  config: CertrotorConfig,
  host: HostConfig,
  deps: { prober: TlsProber; sleep: (ms: number) => Promise<void> },
): AgentCertificate[] {
  const assignments = assignmentsFor(config, host.name);
  const perDirectory = new Map<string, number>();
  for (const a of assignments)
    perDirectory.set(a.destination.directory, (perDirectory.get(a.destination.directory) ?? 0) + 1);
  return assignments.map((a) => {
    const d = a.destination;
    // Two certificates through one destination must not share files: each gets a subdirectory.
    const directory =
      (perDirectory.get(d.directory) ?? 0) > 1 ? join(d.directory, a.certificate) : d.directory;
    const owner = resolveFileOwner(d.owner, d.group, `destinations.${d.name}`);
    const checks: HealthCheck[] = [];
    if (d.healthCheck.handshake && host.endpoint) {
      const request: ProbeRequest = {
        host: host.endpoint.host ?? host.address ?? host.name,
        port: host.endpoint.port,
        ...(host.endpoint.servername ? { servername: host.endpoint.servername } : {}),
        timeoutMs: d.healthCheck.timeout,
        allAddresses: false,
      };
      checks.push(
        handshakeHealthCheck(deps.prober, request, { attempts: 5, intervalMs: 1000, sleep: deps.sleep }),
      );
    }
    if (d.healthCheck.command)
      checks.push(
        commandHealthCheck(d.healthCheck.command, { timeoutMs: d.healthCheck.timeout, cwd: directory }),
      );
    return {
      name: a.certificate,
      installer: new FileInstaller({
        certificate: a.certificate,
        directory,
        ...(d.reloadCommand !== undefined ? { reload: d.reloadCommand } : {}),
        reloadTimeoutMs: d.reloadTimeout,
        ...(owner ? { owner } : {}),
        ...installLayout(d, `destinations.${d.name}`),
      }),
      ...(checks.length > 0 ? { healthCheck: allHealthChecks(checks) } : {}),
    };
  });
}
