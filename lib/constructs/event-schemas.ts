/**
 * The event catalogue in the form the EventBridge Schema Registry accepts: one JSON Schema draft-04
 * document per detail type, describing the whole event (envelope and `detail`), converted from the
 * catalogue's draft-07 `detail` schemas. Optionally registered in a registry of the stack's own.
 */
import { aws_eventschemas as eventschemas } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DETAIL_TYPES, EVENT_SOURCE } from '../../lambda/domain/events';
import { eventJsonSchemas, slugOf } from '../../lambda/domain/events/json-schemas';

/** A draft-07 schema rewritten for draft-04: `const` → one-value `enum`, numeric exclusive bounds → boolean ones. */
function toDraft04(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toDraft04);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === '$schema' || key === '$id') continue;
    if (key === 'const') out.enum = [value];
    else if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
    } else out[key] = toDraft04(value);
  }
  return out;
}

/** One draft-04 schema of the whole event per detail type, keyed by detail type. */
export function registryEventSchemas(): Record<string, Record<string, unknown>> {
  const details = eventJsonSchemas();
  return Object.fromEntries(
    DETAIL_TYPES.map((type) => {
      const detail = details[type];
      return [
        type,
        {
          $schema: 'http://json-schema.org/draft-04/schema#',
          title: String(detail.title ?? type),
          description: detail.description,
          type: 'object',
          required: ['detail-type', 'source', 'detail'],
          properties: {
            version: { type: 'string' },
            id: { type: 'string' },
            'detail-type': { type: 'string', enum: [type] },
            source: { type: 'string', enum: [EVENT_SOURCE] },
            account: { type: 'string' },
            time: { type: 'string', format: 'date-time' },
            region: { type: 'string' },
            resources: { type: 'array', items: { type: 'string' } },
            detail: toDraft04(detail),
          },
        },
      ];
    }),
  );
}

/** `EventSchemas` (a registry, generated name) with one schema per detail type (`EventSchema<slug>`). */
export function registerEventSchemas(scope: Construct): eventschemas.CfnRegistry {
  const registry = new eventschemas.CfnRegistry(scope, 'EventSchemas', {
    description: 'certrotor events (one schema per detail type)',
  });
  for (const [type, schema] of Object.entries(registryEventSchemas())) {
    new eventschemas.CfnSchema(
      scope,
      `EventSchema${slugOf(type as never).replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase())}`,
      {
        registryName: registry.attrRegistryName,
        type: 'JSONSchemaDraft4',
        description: `certrotor ${type}`,
        content: JSON.stringify(schema),
      },
    );
  }
  return registry;
}
