/**
 * Cross references between sections (every name used is defined once), and the rules that span
 * fields. They run on the raw input too, so that they are reported alongside shape problems.
 */
import { containsPrivateKey } from '../domain/secret';
import { formatPath, type PathProblem } from '../domain/zod-issues';
import { keyModeProblem } from './schema/destinations';

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [number, Raw][] {
  return Array.isArray(value)
    ? value.flatMap((item, i): [number, Raw][] => (isRecord(item) ? [[i, item]] : []))
    : [];
}

function strings(value: unknown): [number, string][] {
  return Array.isArray(value)
    ? value.flatMap((item, i): [number, string][] => (typeof item === 'string' ? [[i, item]] : []))
    : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

class Problems {
  readonly list: PathProblem[] = [];
  add(path: (string | number)[], message: string): void {
    this.list.push({ path, message });
  }
}

/** Names defined in one section, with the index of their first definition. */
class Names {
  readonly byName = new Map<string, Raw>();
  constructor(
    readonly section: string,
    readonly label: string,
    list: unknown,
    problems: Problems,
  ) {
    const firstIndex = new Map<string, number>();
    for (const [i, item] of entries(list)) {
      const n = str(item.name);
      if (n === undefined) continue;
      const first = firstIndex.get(n);
      if (first !== undefined) {
        problems.add(
          [...section.split('.'), i, 'name'],
          `duplicate ${label} name "${n}" (also ${formatPath([...section.split('.'), first])})`,
        );
        continue;
      }
      firstIndex.set(n, i);
      this.byName.set(n, item);
    }
  }

  check(problems: Problems, path: (string | number)[], value: unknown): Raw | undefined {
    if (typeof value !== 'string') return undefined;
    const found = this.byName.get(value);
    if (!found) {
      const known = [...this.byName.keys()];
      const hint =
        known.length === 0
          ? `no ${this.label}s are defined in ${this.section}`
          : `defined: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`;
      problems.add(path, `${this.label} "${value}" is not defined (${hint})`);
    }
    return found;
  }
}

function keyModeMessage(problem: string, destination: string | undefined): string {
  const of = destination === undefined ? '' : ` (destination ${destination})`;
  return `${problem}${of}; use '0600', or '0640' with a group`;
}

export function referenceProblems(raw: unknown): PathProblem[] {
  if (!isRecord(raw)) return [];
  const p = new Problems();
  const notifications = isRecord(raw.notifications) ? raw.notifications : {};
  const environments = new Names('environments', 'environment', raw.environments, p);
  new Names('sources', 'source', raw.sources, p);
  const issuers = new Names('issuers', 'issuer', raw.issuers, p);
  const destinations = new Names('destinations', 'destination', raw.destinations, p);
  const hosts = new Names('hosts', 'host', raw.hosts, p);
  const fleets = new Names('fleets', 'fleet', raw.fleets, p);
  const endpoints = new Names('endpoints', 'endpoint', raw.endpoints, p);
  const certificates = new Names('certificates', 'certificate', raw.certificates, p);
  const upstreams = new Names('upstreams', 'upstream', raw.upstreams, p);
  const channels = new Names('notifications.channels', 'channel', notifications.channels, p);

  const env = (path: (string | number)[], value: unknown) => environments.check(p, path, value);

  for (const [i, source] of entries(raw.sources)) env(['sources', i, 'environment'], source.environment);

  for (const [i, d] of entries(raw.destinations)) {
    env(['destinations', i, 'environment'], d.environment);
    if (typeof d.keyMode === 'string' && /^0?[0-7]{3}$/.test(d.keyMode)) {
      const problem = keyModeProblem(d.keyMode);
      if (problem) p.add(['destinations', i, 'keyMode'], keyModeMessage(problem, str(d.name)));
    }
    if (d.kind === 'files') hosts.check(p, ['destinations', i, 'host'], d.host);
    if (d.kind === 'agent') {
      fleets.check(p, ['destinations', i, 'fleet'], d.fleet);
      for (const [j, h] of strings(d.hosts)) hosts.check(p, ['destinations', i, 'hosts', j], h);
      if (d.fleet === undefined && d.hosts === undefined) {
        p.add(['destinations', i], 'an agent destination needs a fleet or hosts');
      }
    }
    if (
      d.kind === 'ssm' &&
      isRecord(d.targets) &&
      d.targets.tags === undefined &&
      d.targets.instanceIds === undefined
    ) {
      p.add(['destinations', i, 'targets'], 'needs tags or instanceIds');
    }
  }

  for (const [i, h] of entries(raw.hosts)) {
    env(['hosts', i, 'environment'], h.environment);
  }

  for (const [i, f] of entries(raw.fleets)) {
    env(['fleets', i, 'environment'], f.environment);
    for (const [j, h] of strings(f.hosts)) hosts.check(p, ['fleets', i, 'hosts', j], h);
    if (isRecord(f.selector)) env(['fleets', i, 'selector', 'environment'], f.selector.environment);
    if (f.hosts === undefined && f.selector === undefined)
      p.add(['fleets', i], 'a fleet needs hosts or a selector');
  }

  for (const [i, e] of entries(raw.endpoints)) {
    env(['endpoints', i, 'environment'], e.environment);
    if (isRecord(e.expect))
      certificates.check(p, ['endpoints', i, 'expect', 'certificate'], e.expect.certificate);
  }

  for (const [i, c] of entries(raw.certificates)) {
    const issuer = issuers.check(p, ['certificates', i, 'issuer'], c.issuer);
    for (const [j, d] of strings(c.destinations))
      destinations.check(p, ['certificates', i, 'destinations', j], d);
    for (const [j, e] of strings(c.endpoints)) endpoints.check(p, ['certificates', i, 'endpoints', j], e);
    if (
      isRecord(c.renewal) &&
      c.renewal.renewBefore !== undefined &&
      c.renewal.renewBeforePercentage !== undefined
    ) {
      p.add(['certificates', i, 'renewal'], 'set renewBefore or renewBeforePercentage, not both');
    }
    const hasNames =
      c.commonName !== undefined ||
      (Array.isArray(c.dnsNames) && c.dnsNames.length > 0) ||
      (Array.isArray(c.ipAddresses) && c.ipAddresses.length > 0);
    if (!hasNames && issuer?.kind !== 'external') {
      p.add(['certificates', i], 'needs a commonName, dnsNames or ipAddresses');
    }
  }

  for (const [i, u] of entries(raw.upstreams)) {
    for (const [j, e] of entries(u.endpoints))
      env(['upstreams', i, 'endpoints', j, 'environment'], e.environment);
    const client = certificates.check(p, ['upstreams', i, 'clientCertificate'], u.clientCertificate);
    if (client) {
      const issuer = issuers.byName.get(str(client.issuer) ?? '');
      if (issuer && issuer.kind !== 'external') {
        p.add(
          ['upstreams', i, 'clientCertificate'],
          `certificate "${String(u.clientCertificate)}" is issued by "${String(client.issuer)}" (${String(issuer.kind)}); a vendor-supplied client certificate needs an issuer of kind external`,
        );
      }
      const usage = client.usage ?? 'server';
      if (usage === 'server') {
        p.add(
          ['upstreams', i, 'clientCertificate'],
          `certificate "${String(u.clientCertificate)}" has usage server; a client certificate needs usage client or server-and-client`,
        );
      }
    }
    if (isRecord(u.consumers)) {
      for (const [j, h] of strings(u.consumers.hosts))
        hosts.check(p, ['upstreams', i, 'consumers', 'hosts', j], h);
      for (const [j, f] of strings(u.consumers.fleets))
        fleets.check(p, ['upstreams', i, 'consumers', 'fleets', j], f);
      for (const [j, d] of strings(u.consumers.destinations)) {
        destinations.check(p, ['upstreams', i, 'consumers', 'destinations', j], d);
      }
    }
  }

  channels.check(p, ['notifications', 'defaultChannel'], notifications.defaultChannel);
  channels.check(p, ['notifications', 'operatorChannel'], notifications.operatorChannel);
  if (notifications.defaultChannel === undefined && channels.byName.size > 1) {
    p.add(['notifications', 'defaultChannel'], 'is required when more than one channel is configured');
  }
  for (const [i, r] of entries(notifications.routes)) {
    channels.check(p, ['notifications', 'routes', i, 'channel'], r.channel);
    for (const [j, e] of strings(r.environments)) env(['notifications', 'routes', i, 'environments', j], e);
    if (r.owner === undefined && r.environments === undefined && r.detailTypes === undefined) {
      p.add(
        ['notifications', 'routes', i],
        'a route needs owner, environments or detailTypes to match (otherwise use defaultChannel)',
      );
    }
  }
  if (isRecord(notifications.digest)) {
    for (const [j, c] of strings(notifications.digest.channels))
      channels.check(p, ['notifications', 'digest', 'channels', j], c);
  }

  for (const [i, s] of entries(raw.silences)) {
    const from = str(s.from);
    const until = str(s.until);
    if (from !== undefined && until !== undefined && Date.parse(until) <= Date.parse(from)) {
      p.add(['silences', i, 'until'], 'must be after from');
    }
    // Exact (glob-free) environment and upstream names must exist; certificate patterns may also
    // match unmanaged certificates by subject or DNS name, so they are not checked.
    const scope = typeof s.scope === 'string' ? s.scope.split(',') : strings(s.scope).map(([, v]) => v);
    for (const part of scope.flatMap((t) => t.split(','))) {
      const [kind, pattern] = part.split('=').map((t) => t.trim());
      if (pattern === undefined || /[*?]/.test(pattern)) continue;
      if (kind === 'environment') env(['silences', i, 'scope'], pattern);
      if (kind === 'upstream') upstreams.check(p, ['silences', i, 'scope'], pattern);
    }
  }

  return p.list;
}

/** Configuration never holds private keys: they belong in files or stores it references. */
export function keyMaterialProblems(raw: unknown, path: (string | number)[] = []): PathProblem[] {
  if (typeof raw === 'string') {
    return containsPrivateKey(raw)
      ? [{ path, message: 'contains a private key; reference a file or a secret instead' }]
      : [];
  }
  if (Array.isArray(raw)) return raw.flatMap((item, i) => keyMaterialProblems(item, [...path, i]));
  if (isRecord(raw))
    return Object.entries(raw).flatMap(([key, item]) => keyMaterialProblems(item, [...path, key]));
  return [];
}
