/**
 * Upstream rotation tracking. Vendors rotate the certificates our consumers use to talk to them (their
 * server certificate or CA, or a client certificate they issue us) with an overlap window and a
 * cutover. The use case lives in this folder, one file per step:
 *
 * - announcements.ts records announcements from every source, deduplicated by source id
 *   (`recordAnnouncement`, `pollFeeds`);
 * - readiness.ts decides per consumer whether it is ready: it holds the new client certificate or trust
 *   material (asked of its destination, or read from its agent's host report) and, where possible, the
 *   new material is proven by a handshake against the upstream (`upstreamStatus`);
 * - observation.ts observes each upstream endpoint: a new leaf, issuer or root is reported and recorded
 *   as an announcement, consumers pinning the old material are named, and a certificate nearing expiry
 *   with nothing announced means a rotation is imminent (`observeUpstream`);
 * - distribution.ts distributes the new material to every consumer during the overlap, the old kept
 *   alongside (`distributeNewMaterial`), and retires the old only after cutover once every consumer
 *   verified the new (`retireOldMaterial`);
 * - watch.ts runs all of it on a schedule and turns the results into events;
 * - spec.ts maps one configured upstream to the spec the steps work on.
 *
 * This file holds the model the steps share.
 */
import type {
  BundleRef,
  BundleStore,
  ClientAuthProber,
  Clock,
  Destination,
  FeedFetcher,
  StateStore,
  TlsProber,
} from '../../domain/ports';
import { type AnnouncementDraft } from '../../domain/upstream/announcement';
import { type WindowPolicy } from '../../domain/upstream/window';
import { type FeedKind } from '../../domain/upstream/feed-parsing';

/** Something that talks to the upstream and must hold the new material before the cutover. */
export interface UpstreamConsumer {
  /** Host or target name, as messages show it. */
  readonly name: string;
  readonly kind: 'host' | 'destination';
  readonly environment?: string;
  /** The destination that holds (and can be given) this consumer's client certificate or trust bundle. */
  readonly destination?: string;
  /** The destination's target for this consumer. @default name */
  readonly target?: string;
  /** The host whose agent reports what it holds (COLLECTIONS.hosts). @default name for kind host */
  readonly host?: string;
}

export interface UpstreamEndpoint {
  readonly host: string;
  readonly port: number;
  readonly servername?: string;
  readonly environment?: string;
}

/** One upstream, resolved from configuration. */
export interface UpstreamSpec {
  readonly name: string;
  /** Environment findings are reported in when an endpoint or consumer names none. */
  readonly environment: string;
  readonly owner?: string;
  readonly endpoints: readonly UpstreamEndpoint[];
  /** Fingerprints every consumer pins for this upstream (configuration `trust.pinnedFingerprints`). */
  readonly pinnedFingerprints: readonly string[];
  /** CA certificates consumers trust for it today (PEM), when a bundle is configured. */
  readonly caPem?: readonly string[];
  /** Managed certificate name of the client certificate consumers present. */
  readonly clientCertificate?: string;
  readonly consumers: readonly UpstreamConsumer[];
  readonly feeds: readonly {
    readonly kind: FeedKind;
    readonly url: string;
    readonly match?: readonly string[];
    readonly components?: readonly string[];
  }[];
  readonly policy: WindowPolicy;
  /** An upstream certificate this close to expiry with nothing announced means a rotation is imminent. */
  readonly expiryWarningMs: number;
}

/** The new material an announcement carries, in public form (the client key stays in the BundleStore). */
export interface NewClientCertificate {
  readonly bundle: BundleRef;
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly notAfter: string;
}

export interface ConsumerDistribution {
  readonly delivered: boolean;
  readonly verified: boolean;
  readonly at: string;
  readonly fingerprintSha256?: string;
  readonly error?: string;
}

/** An announcement as stored (COLLECTIONS.announcements, keyed by id). */
export interface AnnouncementRecord extends AnnouncementDraft {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly note?: string;
  readonly newClientCertificate?: NewClientCertificate;
  /** New CA certificates (PEM), public. */
  readonly newCaPem?: readonly string[];
  readonly newCaFingerprints?: readonly string[];
  /** Every fingerprint of the chain the upstream serves after the rotation (observed or announced). */
  readonly newServerFingerprints?: readonly string[];
  /** Per consumer name. */
  readonly distribution?: Readonly<Record<string, ConsumerDistribution>>;
  readonly oldRetiredAt?: string;
}

/**
 * What an agent reports about a host (COLLECTIONS.hosts, keyed by host name), as far as upstreams
 * are concerned: per upstream, the client certificate it presents and the fingerprints it trusts or pins.
 */
export interface HostUpstreamReport {
  readonly upstreams?: Readonly<
    Record<
      string,
      {
        readonly clientCertificateFingerprint?: string;
        readonly trustedFingerprints?: readonly string[];
        readonly pinnedFingerprints?: readonly string[];
      }
    >
  >;
}

export interface UpstreamDeps {
  readonly state: StateStore;
  readonly bundles: BundleStore;
  readonly destinations: ReadonlyMap<string, Destination>;
  readonly prober: TlsProber;
  /** Proves client certificates by handshake; without it readiness rests on what consumers hold. */
  readonly clientAuth?: ClientAuthProber;
  readonly feeds?: FeedFetcher;
  readonly clock: Clock;
}
