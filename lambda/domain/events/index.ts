/**
 * The event catalogue: every EventBridge detail type certrotor emits, with one versioned schema each.
 * It is the single source of truth: the CDK rule patterns, the Slack formatter, the publishers and the
 * generated reference (docs/events.md, schemas/events/*.json) all read it.
 *
 * Events travel to chat tools and third parties, so the schemas make key material unrepresentable:
 * every object is strict (unknown keys are rejected) and every string refuses PEM blocks, the words
 * `PRIVATE KEY` and long base64 runs, with a final walk over the whole detail as a second guard.
 *
 * This index is the catalogue's public surface (producers, the notifier, lib/ rule patterns and the
 * docs generator import it); the files behind it are split by concept:
 * detail-types (names and version), key-material (the guard), fields (shared field schemas),
 * detail-schemas (one schema per detail type), envelope (building and parsing events),
 * catalogue (when each type is emitted, its dedupe key rule, an example) and json-schemas.
 */
export { EVENT_SOURCE, DetailType, DETAIL_TYPES, isDetailType, SCHEMA_VERSION } from './detail-types';
export type { DetailTypeName } from './detail-types';
export { looksLikeKeyMaterial } from './key-material';
export { EVENT_SEVERITIES, certificateRefSchema, locationSchema } from './fields';
export type { EventSeverity, CertificateRef, EventLocation } from './fields';
export { detailSchemas } from './detail-schemas';
export type {
  EventDetail,
  EventDetailInput,
  CertificateExpiringDetail,
  CertificateExpiredDetail,
  RenewalDueDetail,
  EndpointDriftDetectedDetail,
  EndpointProblemDetectedDetail,
  RotationStartedDetail,
  RotationSucceededDetail,
  RotationFailedDetail,
  RotationRolledBackDetail,
  UpstreamRotationAnnouncedDetail,
  UpstreamRotationDeadlineApproachingDetail,
  UpstreamCertificateChangedDetail,
  UpstreamAnnouncementNeedsReviewDetail,
  ConsumersNotReadyDetail,
  NotificationDeliveryFailedDetail,
  ScanMissedDetail,
  ClientCertificateSunsetDetail,
  CatalogueEvent,
} from './detail-schemas';
export { EventSchemaError, parseDetail, buildEvent, parseEvent } from './envelope';
export { slugOf, eventJsonSchemas } from './json-schemas';
export { catalogue } from './catalogue';
export type { CatalogueEntry } from './catalogue';
