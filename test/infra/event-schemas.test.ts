/**
 * The event catalogue in the EventBridge Schema Registry's form (JSON Schema draft-04 of the whole
 * event), and its optional registration.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DETAIL_TYPES } from '../../lambda/domain/events';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { registryEventSchemas } from '../../lib/constructs/event-schemas';
import { exampleConfiguration, resourcesOf, synthesizeExample } from './support/stack';

function keywords(node: unknown, found: Map<string, unknown[]> = new Map()): Map<string, unknown[]> {
  if (Array.isArray(node)) for (const item of node) keywords(item, found);
  else if (node !== null && typeof node === 'object')
    for (const [key, value] of Object.entries(node)) {
      found.set(key, [...(found.get(key) ?? []), value]);
      keywords(value, found);
    }
  return found;
}

describe('event schemas for the EventBridge Schema Registry', () => {
  const schemas = registryEventSchemas();

  it('describes every detail type as a whole event in JSON Schema draft-04', () => {
    expect(Object.keys(schemas).sort()).toEqual([...DETAIL_TYPES].sort());
    for (const [type, schema] of Object.entries(schemas)) {
      expect(schema).toMatchObject({
        $schema: 'http://json-schema.org/draft-04/schema#',
        required: ['detail-type', 'source', 'detail'],
        properties: { 'detail-type': { enum: [type] }, source: { enum: ['certrotor'] } },
      });
    }
  });

  it('uses no draft-06+ keyword forms: const becomes a one-value enum, exclusive bounds are booleans', () => {
    const found = keywords(Object.values(schemas));
    expect(found.has('const')).toBe(false);
    expect(found.has('$id')).toBe(false);
    expect(new Set(found.get('exclusiveMinimum'))).toEqual(new Set([true]));
    expect(found.get('$schema')).toEqual(
      Object.keys(schemas).map(() => 'http://json-schema.org/draft-04/schema#'),
    );
  });

  it('registers one schema per detail type in a registry of its own only when asked', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const registered = Template.fromStack(
      new CertRotorStack(app, 'Registered', {
        configuration: exampleConfiguration(),
        registerEventSchemas: true,
      }),
    );
    const registries = Object.values(resourcesOf(registered, 'AWS::EventSchemas::Registry'));
    expect(registries).toHaveLength(1);
    expect(registries[0]!.Properties.RegistryName).toBeUndefined();
    const registeredSchemas = Object.values(resourcesOf(registered, 'AWS::EventSchemas::Schema'));
    expect(registeredSchemas).toHaveLength(DETAIL_TYPES.length);
    for (const s of registeredSchemas) expect(s.Properties.Type).toBe('JSONSchemaDraft4');
    const file = join(mkdtempSync(join(tmpdir(), 'certrotor-schemas-')), 'template.json');
    writeFileSync(file, JSON.stringify(registered.toJSON()));
    const lint = spawnSync(
      join(__dirname, '..', '..', '.venv', 'bin', 'cfn-lint'),
      ['--format', 'parseable', '--ignore-checks', 'W3005', '--', file],
      { encoding: 'utf8' },
    );
    expect({ status: lint.status, findings: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({
      status: 0,
      findings: '',
    });

    synthesizeExample().template.resourceCountIs('AWS::EventSchemas::Registry', 0);
  });
});
