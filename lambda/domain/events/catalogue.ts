/**
 * When each detail type is emitted, how its dedupe key is formed, and a valid example of it.
 */
import { type DetailTypeName, SCHEMA_VERSION } from './detail-types';
import { type EventDetail } from './detail-schemas';

export interface CatalogueEntry<T extends DetailTypeName> {
  readonly detailType: T;
  /** When certrotor emits it (one or two sentences). */
  readonly emittedWhen: string;
  /** How its dedupe key is formed. */
  readonly dedupeKeyRule: string;
  readonly example: EventDetail<T>;
}

const FP_OLD =
  '3F:2A:9C:11:D4:7E:05:B8:6A:C2:19:E0:4D:77:8B:31:A5:0C:F6:92:1E:DB:48:63:7A:0F:C9:55:B2:84:6E:D1';
const FP_NEW =
  '8C:51:E7:0A:3B:96:D2:4F:18:C5:7A:E3:09:6D:B1:42:F8:2E:95:0B:D7:63:A4:1C:5F:E8:37:9A:C0:26:4B:7D';
const FP_OLD_HEX = FP_OLD.replace(/:/g, '');
const exampleCertificate = {
  name: 'api-public',
  fingerprintSha256: FP_OLD,
  subject: 'CN=api.example.com',
  issuer: 'CN=Example Issuing CA 1, O=Example',
  serialNumber: '5A1F09C3E2B7',
  notAfter: '2026-03-14T12:00:00.000Z',
  dnsNames: ['api.example.com', 'api.eu.example.com'],
};
const exampleNew = {
  ...exampleCertificate,
  fingerprintSha256: FP_NEW,
  serialNumber: '7C22D4A190FE',
  notAfter: '2026-06-12T12:00:00.000Z',
};
function upstreamCertificate({ name: _name, ...facts }: typeof exampleCertificate) {
  return { ...facts, subject: 'CN=api.pay.example.net', dnsNames: ['api.pay.example.net'] };
}
const common = {
  schemaVersion: SCHEMA_VERSION,
  occurredAt: '2026-02-26T09:00:00.000Z',
  owner: 'platform',
  runbookUrl: 'https://runbooks.example.com/certrotor/certificate-expiring',
};
const exampleRotation = {
  id: 'api-public/20260226T090000Z',
  name: 'api-public',
  version: '20260226T090000Z',
  trigger: 'schedule' as const,
};
const exampleUpstream = { name: 'payments-gateway', endpoints: ['api.pay.example.net:443'] };
const exampleAnnouncement = {
  id: 'payments-gateway/statuspage/k3v9x',
  source: 'statuspage-json' as const,
  title: 'Client certificate CA rotation',
  url: 'https://status.pay.example.net/incidents/k3v9x',
  windowStart: '2026-03-01T00:00:00.000Z',
  cutover: '2026-03-31T08:00:00.000Z',
  deadline: '2026-03-24T08:00:00.000Z',
};

/** Every detail type with when it is emitted and an example detail (valid against its schema; tested). */
export const catalogue: { readonly [T in DetailTypeName]: CatalogueEntry<T> } = {
  'Certificate Expiring': {
    detailType: 'Certificate Expiring',
    emittedWhen:
      'A certificate (managed or only observed) crosses an alert threshold (by default 30, 14, 7, 3 and 1 days before notAfter). Emitted once per certificate version and threshold; every place the certificate is seen is listed.',
    dedupeKeyRule: '`expiry:<fingerprint hex>:<threshold>d`, one per certificate version and threshold',
    example: {
      ...common,
      dedupeKey: `expiry:${FP_OLD_HEX}:14d`,
      severity: 'warning',
      environments: ['prod-eu', 'staging'],
      summary: 'api.example.com expires in 13 days (also in staging)',
      certificate: exampleCertificate,
      daysLeft: 13,
      threshold: 14,
      locations: [
        {
          environment: 'prod-eu',
          location: 'api.example.com:443',
          source: 'probe',
          host: 'api.example.com',
          port: 443,
          address: '203.0.113.10',
        },
        { environment: 'staging', location: 'acm:eu-west-1', source: 'acm' },
      ],
      managed: true,
    },
  },
  'Certificate Expired': {
    detailType: 'Certificate Expired',
    emittedWhen:
      'A certificate is past its notAfter and is still observed somewhere (an endpoint, a source, a host report).',
    dedupeKeyRule: '`expiry:<fingerprint hex>:expired`',
    example: {
      ...common,
      dedupeKey: `expiry:${FP_OLD_HEX}:expired`,
      severity: 'critical',
      environments: ['prod-eu'],
      certificate: exampleCertificate,
      expiredAt: '2026-03-14T12:00:00.000Z',
      daysLeft: -1,
      locations: [
        {
          environment: 'prod-eu',
          location: 'ingress-1:8443',
          source: 'probe',
          host: 'ingress-1',
          port: 8443,
        },
      ],
      managed: false,
    },
  },
  'Renewal Due': {
    detailType: 'Renewal Due',
    emittedWhen:
      'A managed certificate reached its renewal time (renewBefore, renewBeforePercentage or one third of its lifetime left); the planner starts a rotation for it.',
    dedupeKeyRule: '`renewal-due:<fingerprint hex>`',
    example: {
      ...common,
      dedupeKey: `renewal-due:${FP_OLD_HEX}`,
      severity: 'info',
      environments: ['prod-eu', 'staging'],
      certificate: exampleCertificate,
      name: 'api-public',
      renewAt: '2026-02-12T12:00:00.000Z',
      daysLeft: 16,
      reason: 'renewal-window',
    },
  },
  'Endpoint Drift Detected': {
    detailType: 'Endpoint Drift Detected',
    emittedWhen:
      'An endpoint or host serves or holds something other than the current version of its managed certificate (a stale file, a process never reloaded, a wrong certificate). The same certificate is checked in every other environment in the same run.',
    dedupeKeyRule: "`drift:<endpoint>:<served fingerprint hex>` (the first drift's finding key)",
    example: {
      ...common,
      dedupeKey: `drift:web-7:8443:${FP_OLD_HEX}`,
      severity: 'error',
      environments: ['prod-eu'],
      certificate: exampleNew,
      drifts: [
        {
          environment: 'prod-eu',
          endpoint: 'web-7:8443 (api.example.com)',
          address: '10.0.3.7',
          expectedFingerprint: FP_NEW,
          servedFingerprint: FP_OLD,
          reason: 'not-reloaded',
          source: 'probe',
        },
      ],
      checkedEnvironments: ['prod-eu', 'prod-us', 'staging'],
    },
  },
  'Endpoint Problem Detected': {
    detailType: 'Endpoint Problem Detected',
    emittedWhen:
      'A fresh handshake to an endpoint finds a problem other than expiry: hostname mismatch, incomplete chain, an expired certificate inside the chain, a not-yet-valid certificate, a weak key (RSA below 2048), an untrusted chain, no certificate, or the endpoint is unreachable.',
    dedupeKeyRule:
      'the finding key: `<problem>:<endpoint>:<fingerprint hex>` (e.g. `incomplete-chain:…`), or `probe-failed:<endpoint>`',
    example: {
      ...common,
      dedupeKey: `incomplete-chain:internal-api:8443:${FP_OLD_HEX}`,
      severity: 'error',
      environments: ['staging'],
      certificate: exampleCertificate,
      endpoint: {
        environment: 'staging',
        host: 'internal-api',
        port: 8443,
        servername: 'internal-api.example.com',
        address: '10.1.0.4',
      },
      problems: [
        {
          kind: 'incomplete-chain',
          message: 'served chain ends at CN=Example Issuing CA 1 without reaching a trusted root',
        },
      ],
    },
  },
  'Rotation Started': {
    detailType: 'Rotation Started',
    emittedWhen:
      'A rotation of a managed certificate begins (scheduled, manual, upstream-driven or to repair drift).',
    dedupeKeyRule: '`rotation-started:<rotation id>`',
    example: {
      ...common,
      dedupeKey: `rotation-started:${exampleRotation.id}`,
      severity: 'info',
      environments: ['prod-eu', 'staging'],
      rotation: exampleRotation,
      previous: exampleCertificate,
      destinations: ['web-fleet', 'api-secret'],
      targets: 12,
    },
  },
  'Rotation Succeeded': {
    detailType: 'Rotation Succeeded',
    emittedWhen:
      'Every target verified the new version and it was promoted; the previous version is kept for rollback.',
    dedupeKeyRule: '`rotation-succeeded:<rotation id>`',
    example: {
      ...common,
      dedupeKey: `rotation-succeeded:${exampleRotation.id}`,
      severity: 'info',
      environments: ['prod-eu', 'staging'],
      rotation: exampleRotation,
      certificate: exampleNew,
      previous: exampleCertificate,
      verifiedHosts: [
        { target: 'web-1', environment: 'prod-eu', destination: 'web-fleet' },
        { target: 'certrotor/api-public', environment: 'prod-eu', destination: 'api-secret' },
      ],
      convergencePercent: 100,
    },
  },
  'Rotation Failed': {
    detailType: 'Rotation Failed',
    emittedWhen:
      'A rotation stopped before promotion: issuing, staging, distribution or verification failed. The previous version stays current; failed hosts are named with their reasons.',
    dedupeKeyRule:
      '`rotation-failed:<rotation id>:L<escalation level>`: once per version and level (0: over 30 days left … 6: expired), however often it is retried',
    example: {
      ...common,
      dedupeKey: `rotation-failed:${exampleRotation.id}:L2`,
      severity: 'error',
      environments: ['prod-eu'],
      rotation: exampleRotation,
      certificate: exampleNew,
      previous: exampleCertificate,
      stage: 'verify',
      error: '1 of 12 hosts did not serve the new certificate before the verification deadline',
      failedHosts: [
        {
          target: 'web-7',
          environment: 'prod-eu',
          destination: 'web-fleet',
          reason: 'still serves 3F2A9C11D47E after reload',
        },
      ],
      convergencePercent: 91.7,
      rolledBack: true,
    },
  },
  'Rotation Rolled Back': {
    detailType: 'Rotation Rolled Back',
    emittedWhen:
      'Targets already changed by a failed rotation were restored to the previous version, and the restoration verified.',
    dedupeKeyRule:
      '`rotation-rolled-back:<rotation id>:L<escalation level>`: once per version and level, however often it is retried',
    example: {
      ...common,
      dedupeKey: `rotation-rolled-back:${exampleRotation.id}:L2`,
      severity: 'warning',
      environments: ['prod-eu'],
      rotation: exampleRotation,
      certificate: exampleNew,
      previous: exampleCertificate,
      failedHosts: [
        {
          target: 'web-7',
          environment: 'prod-eu',
          destination: 'web-fleet',
          reason: 'health check failed: connection refused',
        },
      ],
      restoredHosts: [{ target: 'web-1', environment: 'prod-eu', destination: 'web-fleet' }],
      rollbackVerified: true,
      convergencePercent: 8.3,
    },
  },
  'Upstream Rotation Announced': {
    detailType: 'Upstream Rotation Announced',
    emittedWhen:
      'A new upstream rotation announcement is recorded (manual, status-page feed, AWS Health, or inferred from an observed change), with its window, deadline and every consumer.',
    dedupeKeyRule: '`upstream-rotation-announced:<announcement id>`',
    example: {
      ...common,
      dedupeKey: `upstream-rotation-announced:${exampleAnnouncement.id}`,
      severity: 'info',
      environments: ['prod-eu', 'prod-us'],
      upstream: exampleUpstream,
      announcement: exampleAnnouncement,
      consumers: [
        {
          name: 'checkout-1',
          kind: 'host',
          environment: 'prod-eu',
          ready: false,
          reason: 'holds only the old client certificate',
        },
        {
          name: 'billing-worker',
          kind: 'fleet',
          environment: 'prod-us',
          ready: false,
          reason: 'no report yet',
        },
      ],
    },
  },
  'Upstream Rotation Deadline Approaching': {
    detailType: 'Upstream Rotation Deadline Approaching',
    emittedWhen:
      'An upstream rotation deadline (cutover minus safety margin) crosses a configured threshold while it is not completed.',
    dedupeKeyRule: '`upstream-window:<announcement id>:<threshold>d` (or `:overdue`)',
    example: {
      ...common,
      dedupeKey: `upstream-window:${exampleAnnouncement.id}:7d`,
      severity: 'warning',
      environments: ['prod-us'],
      upstream: exampleUpstream,
      announcement: exampleAnnouncement,
      stage: 'deadline-approaching',
      daysLeft: 6,
      threshold: 7,
      consumersNotReady: [
        {
          name: 'billing-worker',
          kind: 'fleet',
          environment: 'prod-us',
          ready: false,
          reason: 'no report yet',
        },
      ],
      consumersReady: 3,
      consumersTotal: 4,
    },
  },
  'Upstream Certificate Changed': {
    detailType: 'Upstream Certificate Changed',
    emittedWhen:
      'An upstream endpoint starts serving a different leaf, issuer or root than last observed, announced or not. Consumers pinning or trusting only the old material are named.',
    dedupeKeyRule: '`upstream-certificate-changed:<upstream>:<new fingerprint hex>`',
    example: {
      ...common,
      dedupeKey: `upstream-certificate-changed:payments-gateway:${FP_NEW.replace(/:/g, '')}`,
      severity: 'error',
      environments: ['prod-eu'],
      upstream: exampleUpstream,
      endpoint: { host: 'api.pay.example.net', port: 443, address: '198.51.100.7' },
      certificate: upstreamCertificate(exampleNew),
      previous: upstreamCertificate(exampleCertificate),
      changes: ['leaf', 'issuer'],
      announced: false,
      consumersAffected: [
        {
          name: 'checkout-1',
          kind: 'host',
          environment: 'prod-eu',
          ready: false,
          reason: 'pins the previous fingerprint',
        },
      ],
    },
  },
  'Upstream Announcement Needs Review': {
    detailType: 'Upstream Announcement Needs Review',
    emittedWhen:
      'A feed item looks like a certificate rotation but its dates or scope are missing or ambiguous; a human decides instead of certrotor guessing.',
    dedupeKeyRule: '`upstream-announcement-needs-review:<upstream>:<item id or url>`',
    example: {
      ...common,
      dedupeKey:
        'upstream-announcement-needs-review:payments-gateway:https://status.pay.example.net/incidents/q1w2',
      severity: 'warning',
      environments: ['prod-eu', 'prod-us'],
      upstream: exampleUpstream,
      feed: { kind: 'atom', url: 'https://status.pay.example.net/history.atom' },
      title: 'Upcoming TLS certificate update',
      reason: 'no cutover date found in the item',
      excerpt: 'We will update our TLS certificates in the coming weeks.',
      itemUrl: 'https://status.pay.example.net/incidents/q1w2',
    },
  },
  'Consumers Not Ready': {
    detailType: 'Consumers Not Ready',
    emittedWhen:
      'At a configured threshold before an upstream rotation deadline, one or more consumers still lack the new material; each is named with the reason.',
    dedupeKeyRule: '`consumers-not-ready:<announcement id>:<threshold>d` (or `:overdue`)',
    example: {
      ...common,
      dedupeKey: `consumers-not-ready:${exampleAnnouncement.id}:3d`,
      severity: 'critical',
      environments: ['prod-us'],
      upstream: exampleUpstream,
      announcement: exampleAnnouncement,
      daysLeft: 2,
      hoursLeft: 50.5,
      consumersNotReady: [
        {
          name: 'billing-worker',
          kind: 'fleet',
          environment: 'prod-us',
          ready: false,
          reason: 'test handshake with the new client certificate failed',
        },
      ],
      consumersReady: 3,
      consumersTotal: 4,
      readyPercent: 75,
    },
  },
  'Notification Delivery Failed': {
    detailType: 'Notification Delivery Failed',
    emittedWhen:
      'A notification could not be delivered: a permanent failure (400/403/404/410) or retries exhausted. Routed to another channel so an operator can fix the webhook.',
    dedupeKeyRule: '`notification-delivery-failed:<channel>:<original dedupe key>`',
    example: {
      ...common,
      dedupeKey: `notification-delivery-failed:payments-alerts:expiry:${FP_OLD_HEX}:14d`,
      severity: 'error',
      environments: [],
      channel: 'payments-alerts',
      status: 404,
      permanent: true,
      attempts: 1,
      error: 'Slack answered 404 channel_not_found',
      originalDetailType: 'Certificate Expiring',
      originalDedupeKey: `expiry:${FP_OLD_HEX}:14d`,
    },
  },
  'Scan Missed': {
    detailType: 'Scan Missed',
    emittedWhen:
      "A scheduled job (inventory, probe, upstream watch, digest) did not complete on schedule: certrotor's own dead man's switch. Each network placement's probe is watched on its own: its miss names the placement and its environments.",
    dedupeKeyRule:
      "`scan-missed:<schedule>:<expectedBy>`; a placement's probe: `scan-missed:probe@<placement>:<expectedBy>`",
    example: {
      ...common,
      dedupeKey: 'scan-missed:probe:2026-02-26T09:00:00.000Z',
      severity: 'error',
      environments: [],
      schedule: 'probe',
      lastRunAt: '2026-02-26T06:00:12.000Z',
      expectedBy: '2026-02-26T09:00:00.000Z',
    },
  },
  'Client Certificate Sunset': {
    detailType: 'Client Certificate Sunset',
    emittedWhen:
      "A certificate presented to an upstream as a client certificate carries clientAuth from a public CA that stops issuing clientAuth certificates (Let's Encrypt, every public CA under Chrome's root program): its renewal will not authenticate as a client. A warning once, then critical once from the sunset date on.",
    dedupeKeyRule: '`client-auth-sunset:<upstream>:<fingerprint hex>:<severity>`, one per level',
    example: {
      ...common,
      dedupeKey: `client-auth-sunset:payments-gateway:${FP_OLD_HEX}:warning`,
      severity: 'warning',
      environments: ['prod-eu'],
      summary:
        'api-public is presented to upstream payments-gateway as a client certificate and carries clientAuth from a public CA',
      certificate: exampleCertificate,
      upstream: { name: 'payments-gateway' },
      authority: 'Chrome Root Program',
      sunsetDate: '2027-03-15',
      daysLeft: 383,
      locations: [{ environment: 'prod-eu', location: 'upstream payments-gateway client certificate' }],
      source: 'https://googlechrome.github.io/chromerootprogram/',
    },
  },
};
