/**
 * The names of every detail type certrotor emits and the schema version they share.
 */

export const EVENT_SOURCE = 'certrotor' as const;

export const DetailType = {
  CertificateExpiring: 'Certificate Expiring',
  CertificateExpired: 'Certificate Expired',
  RenewalDue: 'Renewal Due',
  EndpointDriftDetected: 'Endpoint Drift Detected',
  EndpointProblemDetected: 'Endpoint Problem Detected',
  RotationStarted: 'Rotation Started',
  RotationSucceeded: 'Rotation Succeeded',
  RotationFailed: 'Rotation Failed',
  RotationRolledBack: 'Rotation Rolled Back',
  UpstreamRotationAnnounced: 'Upstream Rotation Announced',
  UpstreamRotationDeadlineApproaching: 'Upstream Rotation Deadline Approaching',
  UpstreamCertificateChanged: 'Upstream Certificate Changed',
  UpstreamAnnouncementNeedsReview: 'Upstream Announcement Needs Review',
  ConsumersNotReady: 'Consumers Not Ready',
  NotificationDeliveryFailed: 'Notification Delivery Failed',
  ScanMissed: 'Scan Missed',
  ClientCertificateSunset: 'Client Certificate Sunset',
} as const;

export type DetailTypeName = (typeof DetailType)[keyof typeof DetailType];

/** Every detail type, in catalogue order (for EventBridge rule patterns and documentation). */
export const DETAIL_TYPES: readonly DetailTypeName[] = Object.values(DetailType);

export function isDetailType(value: unknown): value is DetailTypeName {
  return typeof value === 'string' && (DETAIL_TYPES as readonly string[]).includes(value);
}

/** The current schema version of every detail type; bumped per type when its detail changes incompatibly. */
export const SCHEMA_VERSION = 1 as const;
