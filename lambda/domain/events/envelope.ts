/**
 * Building a publishable event from a detail, and parsing an event as received (EventBridge or JSONL).
 */
import * as z from 'zod';
import { CertrotorError } from '../errors';
import type { OutgoingEvent } from '../ports';
import { describeIssues } from '../zod-issues';
import {
  DETAIL_TYPES,
  type DetailTypeName,
  EVENT_SOURCE,
  SCHEMA_VERSION,
  isDetailType,
} from './detail-types';
import { KEY_MATERIAL_MESSAGE, looksLikeKeyMaterial } from './key-material';
import {
  type CatalogueEvent,
  type EventDetail,
  type EventDetailInput,
  detailSchemas,
} from './detail-schemas';

/** An event detail does not match its catalogue schema; `problems` lists each with its path. */
export class EventSchemaError extends CertrotorError {
  constructor(
    readonly detailType: string,
    readonly problems: readonly string[],
  ) {
    super(`event "${detailType}" does not match the catalogue: ${problems.join('; ')}`);
  }
}

function problemsOf(error: z.ZodError): string[] {
  // Messages may quote the input; never echo anything that might be key material.
  return describeIssues(error.issues).map((p) => (looksLikeKeyMaterial(p) ? KEY_MATERIAL_MESSAGE : p));
}

/** Validates `detail` against the schema of `detailType`; returns the parsed detail or throws EventSchemaError. */
export function parseDetail<T extends DetailTypeName>(detailType: T, detail: unknown): EventDetail<T> {
  if (!isDetailType(detailType)) {
    throw new EventSchemaError(String(detailType), [
      `unknown detail type (known: ${DETAIL_TYPES.join(', ')})`,
    ]);
  }
  const schema = detailSchemas[detailType] as z.ZodType;
  const result = schema.safeParse(detail, { reportInput: true });
  if (!result.success) throw new EventSchemaError(detailType, problemsOf(result.error));
  return result.data as EventDetail<T>;
}

/**
 * Builds a publishable event: validates the detail (filling in `schemaVersion`), stamps source and
 * time. Throws EventSchemaError naming every invalid field, so a producer bug never publishes.
 */
export function buildEvent<T extends DetailTypeName>(
  detailType: T,
  detail: EventDetailInput<T>,
  time: Date,
  options: { resources?: readonly string[] } = {},
): OutgoingEvent {
  const parsed = parseDetail(detailType, { schemaVersion: SCHEMA_VERSION, ...detail });
  return {
    source: EVENT_SOURCE,
    detailType,
    time: time.toISOString(),
    detail: parsed as Record<string, unknown>,
    ...(options.resources && options.resources.length > 0 ? { resources: [...options.resources] } : {}),
  };
}

const envelopeSchema = z.object({
  id: z.string().optional(),
  source: z.string(),
  'detail-type': z.string().optional(),
  detailType: z.string().optional(),
  time: z.string(),
  resources: z.array(z.string()).optional(),
  detail: z.unknown(),
});

/**
 * Parses an event as received: the EventBridge envelope (`detail-type`, `source`, `detail`, `time`)
 * or certrotor's own OutgoingEvent shape (`detailType`), e.g. a line of the local JSONL sink.
 * Extra envelope fields (account, region, version) are allowed; the detail must match the catalogue.
 */
export function parseEvent(raw: unknown): CatalogueEvent {
  const envelope = envelopeSchema.safeParse(typeof raw === 'string' ? safeJson(raw) : raw, {
    reportInput: true,
  });
  if (!envelope.success) throw new EventSchemaError('(envelope)', problemsOf(envelope.error));
  const { source, time, resources, id, detail } = envelope.data;
  const detailType = envelope.data['detail-type'] ?? envelope.data.detailType;
  if (source !== EVENT_SOURCE) {
    throw new EventSchemaError(String(detailType), [`source: expected "${EVENT_SOURCE}", got "${source}"`]);
  }
  if (detailType === undefined) throw new EventSchemaError('(envelope)', ['detail-type: is required']);
  if (!isDetailType(detailType)) {
    throw new EventSchemaError(detailType, [`unknown detail type (known: ${DETAIL_TYPES.join(', ')})`]);
  }
  const version = (detail as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== undefined && version !== SCHEMA_VERSION) {
    throw new EventSchemaError(detailType, [
      `detail.schemaVersion: version ${String(version)} is not supported (supported: ${SCHEMA_VERSION})`,
    ]);
  }
  return {
    source: EVENT_SOURCE,
    detailType,
    time,
    detail: parseDetail(detailType, detail),
    resources: resources ?? [],
    ...(id === undefined ? {} : { id }),
  } as CatalogueEvent;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new EventSchemaError('(envelope)', [`not JSON: ${(error as Error).message}`]);
  }
}
