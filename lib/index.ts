/**
 * The certrotor construct library: `CertRotor` (the deployed service as one construct) and
 * `CertRotorStack` (a stack holding one). The configuration document is the CLI's; `CertRotorConfiguration`
 * is its type, for the typed `config` prop.
 */
export {
  ACM_EXPIRY_DETAIL_TYPE,
  BUNDLED_CONFIG_FILE,
  CertRotor,
  type CertRotorProps,
  type CertRotorSchedules,
  type HandlerName,
  METRIC_NAMESPACE,
  type NetworkPlacement,
  SERVICE_NAME,
} from './certrotor';
export { CertRotorStack, type CertRotorStackProps } from './certrotor-stack';
export { isPrivateEndpoint } from './constructs/network-placement';
export { readConfigurationFile } from './configuration-file';
export type { CertRotorConfiguration } from './configuration-type';
export { registryEventSchemas } from './constructs/event-schemas';
export { ScheduledReport, type ScheduledReportProps } from './constructs/scheduled-report';
