/**
 * JSON Schema of every detail type, for docs, editors and schema registries.
 */
import * as z from 'zod';
import { DETAIL_TYPES, type DetailTypeName, SCHEMA_VERSION } from './detail-types';
import { detailSchemas } from './detail-schemas';
import { catalogue } from './catalogue';

/** `Certificate Expiring` → `certificate-expiring`: file names and anchors. */
export function slugOf(detailType: DetailTypeName): string {
  return detailType.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** JSON Schema (draft-07) of every detail type, keyed by detail type; for docs, editors and schema registries. */
export function eventJsonSchemas(): Record<DetailTypeName, Record<string, unknown>> {
  const out = {} as Record<DetailTypeName, Record<string, unknown>>;
  for (const type of DETAIL_TYPES) {
    const schema = z.toJSONSchema(detailSchemas[type], { target: 'draft-07', io: 'input' });
    out[type] = {
      ...schema,
      $id: `https://certrotor.dev/schemas/events/${slugOf(type)}.v${SCHEMA_VERSION}.json`,
      title: `${type} (certrotor event detail, version ${SCHEMA_VERSION})`,
      description: catalogue[type].emittedWhen,
    };
  }
  return out;
}
