/**
 * Where the functions that open connections run. Lambda outside a VPC reaches only public endpoints;
 * endpoints on private addresses (the internal ingress→API certificate of the first outage) need the
 * function inside the VPC that routes to them. Environments often live in different VPCs, so a
 * placement names the environments it reaches: the construct creates one probe function per placement
 * and routes each environment's endpoints to it. The rotation's verification and the upstream watch
 * run in one placement each.
 *
 * Synth warns about private endpoints (10/8, 172.16/12, 192.168/16, *.internal, *.local) that no
 * placement reaches.
 */
import { Annotations, aws_ec2 as ec2 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CertrotorConfig } from '../../lambda/config/configuration';

export interface NetworkPlacement {
  /** Names the placement (letters and digits): its probe function is `Probe<Name>`. */
  readonly name: string;
  /** The environments (`environments[].name`) whose endpoints this placement reaches. */
  readonly environments: readonly string[];
  readonly vpc: ec2.IVpc;
  /**
   * The functions call AWS APIs (DynamoDB, EventBridge, Secrets Manager…): the subnets need a NAT
   * gateway or VPC endpoints. @default the VPC's private subnets with egress
   */
  readonly subnets?: ec2.SubnetSelection;
  /** @default one security group per function, allowing all outbound traffic and no inbound */
  readonly securityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * The subnets also reach ACM, Secrets Manager and ACM PCA (a NAT gateway, or VPC endpoints for
   * `acm`, `secretsmanager` and `acm-pca`): this placement's probe then reads the inventory sources
   * again in its sibling sweep, with the inventory job's read-only grants, so an inventory place
   * holding a certificate with a finding shows what its source holds now. Without it, the probe
   * judges those places by the inventory job's last recorded facts: a placement that reaches
   * DynamoDB and EventBridge only through their VPC endpoints could not reach ACM, and a call that
   * never connects would hold the probe run. The default probe (outside any VPC) always reads them.
   * @default false
   */
  readonly readsInventory?: boolean;
}

/** The VPC settings of a function in `placement`. */
export interface PlacementFunctionOptions {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

export function placementOptions(placement: NetworkPlacement): PlacementFunctionOptions {
  return {
    vpc: placement.vpc,
    vpcSubnets: placement.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    ...(placement.securityGroups ? { securityGroups: [...placement.securityGroups] } : {}),
  };
}

/**
 * @internal
 * Checks the placements against the configuration (every environment named exists, at most one
 * placement per environment, names are unique identifiers) and returns the problems, one line each.
 */
export function placementProblems(
  config: CertrotorConfig,
  placements: readonly NetworkPlacement[],
  named: Readonly<Record<string, string | undefined>>,
): string[] {
  const problems: string[] = [];
  const environments = new Set(config.environments.map((e) => e.name));
  const owner = new Map<string, string>();
  const names = new Set<string>();
  placements.forEach((p, index) => {
    const at = `networkPlacements[${index}]`;
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(p.name)) problems.push(`${at}.name: letters and digits only`);
    if (names.has(p.name)) problems.push(`${at}.name: ${p.name} is used twice`);
    if (p.name === 'default') problems.push(`${at}.name: default names the probe outside any VPC`);
    names.add(p.name);
    if (p.environments.length === 0) problems.push(`${at}.environments: must name at least one environment`);
    for (const environment of p.environments) {
      if (!environments.has(environment))
        problems.push(`${at}.environments: ${environment} is not an environment of the configuration`);
      const previous = owner.get(environment);
      if (previous !== undefined)
        problems.push(`${at}.environments: ${environment} is already reached from placement ${previous}`);
      owner.set(environment, p.name);
    }
  });
  for (const [prop, name] of Object.entries(named)) {
    if (name !== undefined && !names.has(name)) problems.push(`${prop}: no network placement named ${name}`);
  }
  return problems;
}

/** True for RFC 1918 addresses and names under .internal or .local. */
export function isPrivateEndpoint(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name.endsWith('.internal') || name.endsWith('.local')) return true;
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name)?.slice(1).map(Number);
  if (!octets) return false;
  const [a, b] = octets as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** @internal */
export interface ReachProps {
  readonly config: CertrotorConfig;
  readonly placements: readonly NetworkPlacement[];
  /** The placement the rotation steps run in (each other placement verifies its own environments). */
  readonly rotation?: NetworkPlacement;
  /** The placement the upstream watch runs in. */
  readonly upstreamWatch?: NetworkPlacement;
}

/** @internal One line per private endpoint no placement of its function reaches. */
export function unreachableEndpoints(props: ReachProps): string[] {
  const { config } = props;
  const probed = new Set(props.placements.flatMap((p) => p.environments));
  // Each placement verifies its own environments' targets (a rotation-step function per placement).
  const verified = new Set(props.placements.flatMap((p) => p.environments));
  const lines: string[] = [];
  for (const e of config.endpoints) {
    if (!isPrivateEndpoint(e.host)) continue;
    if (!probed.has(e.environment))
      lines.push(
        `endpoint ${e.name} (${e.host}) in environment ${e.environment} is private and no network placement reaches it: the probe cannot reach it`,
      );
    const verifiedBy = config.certificates.filter((c) => c.endpoints.includes(e.name)).map((c) => c.name);
    if (verifiedBy.length > 0 && !verified.has(e.environment))
      lines.push(
        `endpoint ${e.name} (${e.host}) in environment ${e.environment} is private and no network placement reaches it: verifying ${verifiedBy.join(', ')} will fail there`,
      );
  }
  lines.push(...unreachableAcmeDirectories(config, props.rotation));
  const watchedFrom = props.upstreamWatch;
  for (const u of config.upstreams) {
    for (const endpoint of u.endpoints) {
      if (!isPrivateEndpoint(endpoint.host)) continue;
      const reached =
        watchedFrom !== undefined &&
        (endpoint.environment === undefined || watchedFrom.environments.includes(endpoint.environment));
      if (!reached)
        lines.push(
          `upstream ${u.name} endpoint ${endpoint.host} is private and the upstream watch's placement does not reach it (upstreamWatchPlacement)`,
        );
    }
  }
  return lines;
}

/**
 * The rotation step orders certificates from each ACME issuer's directory: outside a VPC the function
 * reaches public directories only; in a placement, its subnets need egress (a NAT gateway), which
 * isolated subnets lack.
 */
function unreachableAcmeDirectories(
  config: CertrotorConfig,
  rotation: NetworkPlacement | undefined,
): string[] {
  const lines: string[] = [];
  for (const issuer of config.issuers) {
    if (issuer.kind !== 'acme') continue;
    const host = new URL(issuer.directoryUrl).hostname;
    if (rotation === undefined && isPrivateEndpoint(host))
      lines.push(
        `issuer ${issuer.name}: the ACME directory ${host} is private and the rotation runs outside any VPC: name a placement that reaches it (rotationPlacement)`,
      );
    if (rotation?.subnets?.subnetType === ec2.SubnetType.PRIVATE_ISOLATED)
      lines.push(
        `issuer ${issuer.name}: the rotation's placement ${rotation.name} uses isolated subnets, which cannot reach the ACME directory ${host}: use subnets with egress (a NAT gateway)`,
      );
  }
  return lines;
}

/** @internal Adds one synth warning per unreachable private endpoint to `scope`. */
export function warnAboutUnreachableEndpoints(scope: Construct, props: ReachProps): void {
  for (const line of unreachableEndpoints(props)) Annotations.of(scope).addWarning(`certrotor: ${line}`);
}
