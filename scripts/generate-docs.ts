/**
 * Generates the references that must never drift from the code: docs/events.md and
 * schemas/events/*.json from the event catalogue, docs/configuration.md and schemas/config.schema.json
 * from the configuration schema. The docs tests compare these files with what this module renders;
 * `UPDATE_DOCS=1 npx jest test/domain/events-docs.test.ts test/domain/config-docs.test.ts` rewrites them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  DESTINATION_KINDS,
  ISSUER_KINDS,
  SOURCE_KINDS,
  configJsonSchema,
} from '../lambda/config/configuration';
import {
  catalogue,
  DETAIL_TYPES,
  EVENT_SOURCE,
  eventJsonSchemas,
  SCHEMA_VERSION,
  slugOf,
} from '../lambda/domain/events';

type Node = Record<string, unknown>;

export const REGENERATE_HINT =
  'UPDATE_DOCS=1 npx jest test/domain/events-docs.test.ts test/domain/config-docs.test.ts';

interface Row {
  readonly key: string;
  readonly type: string;
  readonly required: boolean;
  readonly defaultValue: string;
  readonly description: string;
}

function asNode(value: unknown): Node {
  return typeof value === 'object' && value !== null ? (value as Node) : {};
}

function variants(node: Node): Node[] | undefined {
  const options = (node.oneOf ?? node.anyOf) as unknown[] | undefined;
  if (!options) return undefined;
  const nodes = options.map(asNode);
  return nodes.every((n) => asNode(asNode(n.properties).kind).const !== undefined) ? nodes : undefined;
}

function kindOf(node: Node): string {
  return String(asNode(asNode(node.properties).kind).const);
}

function typeOf(node: Node): string {
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (Array.isArray(node.enum)) {
    return node.enum.length > 6
      ? `one of ${node.enum.length} names`
      : node.enum.map((v) => `\`${String(v)}\``).join(', ');
  }
  const union = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (union) {
    const kinds = variants(node);
    if (kinds) return `mapping (kind: ${kinds.map(kindOf).join(', ')})`;
    return union.map((n) => typeOf(asNode(n))).join(' or ');
  }
  switch (node.type) {
    case 'array':
      return `list of ${typeOf(asNode(node.items)).replace(/^(mapping|string|number|integer)\b/, '$1s')}`;
    case 'object':
      return node.properties ? 'mapping' : 'mapping of strings';
    case 'integer':
    case 'number': {
      const bounded = typeof node.maximum === 'number' && node.maximum < Number.MAX_SAFE_INTEGER;
      if (node.minimum !== undefined && bounded)
        return `${String(node.type)} ${String(node.minimum)}-${String(node.maximum)}`;
      if (node.minimum !== undefined) return `${String(node.type)} >= ${String(node.minimum)}`;
      return String(node.type);
    }
    case 'string':
      if (isDuration(node)) return 'duration';
      return node.format ? `string (${String(node.format)})` : 'string';
    default:
      return String(node.type ?? 'any');
  }
}

const DURATION_NOTE = / A duration: [^@]*/;

function isDuration(node: Node): boolean {
  return typeof node.description === 'string' && DURATION_NOTE.test(node.description);
}

function splitDescription(node: Node): { description: string; defaultText: string } {
  // Lists described only through their items (lists of references) take the item description.
  const own = typeof node.description === 'string' ? node.description : '';
  const items = asNode(node.items);
  const text = (own || (typeof items.description === 'string' ? items.description : '')).replace(
    DURATION_NOTE,
    ' ',
  );
  const [description = '', defaultText = ''] = text.split('@default').map((part) => part.trim());
  const fromSchema = node.default === undefined ? '' : `\`${JSON.stringify(node.default)}\``;
  return { description, defaultText: fromSchema || defaultText };
}

/** Flattens an object schema into rows: nested mappings as `a.b`, lists of mappings as `a[].b`. */
function rows(node: Node, prefix = ''): Row[] {
  const out: Row[] = [];
  const properties = asNode(node.properties);
  const required = new Set((node.required as string[] | undefined) ?? []);
  for (const [key, value] of Object.entries(properties)) {
    const child = asNode(value);
    const { description, defaultText } = splitDescription(child);
    out.push({
      key: `${prefix}${key}`,
      type: typeOf(child),
      required: required.has(key),
      defaultValue: defaultText,
      description,
    });
    out.push(...nested(child, `${prefix}${key}`));
  }
  return out;
}

function nested(child: Node, path: string): Row[] {
  if (child.properties) return rows(child, `${path}.`);
  const items = asNode(child.items);
  if (child.type === 'array' && items.properties) return rows(items, `${path}[].`);
  const kinds = variants(child.type === 'array' ? items : child);
  if (kinds) {
    const base = child.type === 'array' ? `${path}[]` : path;
    return kinds.flatMap((variant) =>
      rows(variant, `${base} (${kindOf(variant)}).`).filter((r) => !r.key.endsWith('.kind')),
    );
  }
  return [];
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A markdown table aligned the way prettier prints it, so formatting checks leave it alone. */
function table(headers: readonly string[], body: readonly (readonly string[])[]): string {
  const cells = [headers, ...body].map((row) => row.map(escapeCell));
  const widths = headers.map((_, i) => Math.max(3, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 3)).join(' | ')} |`;
  const [head, ...rest] = cells;
  return [line(head ?? []), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rest.map(line)].join(
    '\n',
  );
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export function renderEventsMarkdown(): string {
  const schemas = eventJsonSchemas();
  const parts: string[] = [
    '# certrotor events',
    '',
    '<!-- Generated from lambda/domain/events/ (the event catalogue) by scripts/generate-docs.ts. Do not edit by hand;',
    `     regenerate with: ${REGENERATE_HINT} -->`,
    '',
    `certrotor publishes these events on its EventBridge bus (AWS mode) or to stdout, a JSONL file and Slack (local mode), with source \`${EVENT_SOURCE}\`. Every detail carries \`schemaVersion\` (currently ${SCHEMA_VERSION}), a \`dedupeKey\` (the same finding for the same certificate version and threshold always has the same key, so consumers can drop repeats), a \`severity\`, \`occurredAt\`, and \`environments\`: every environment affected, not only the one where the finding was first made.`,
    '',
    'Events never carry key material: every object is strict (unknown fields are rejected) and every string refuses PEM blocks, the words `PRIVATE KEY` and long base64 runs. Certificates appear by reference only (fingerprint, subject, serial, expiry, names). JSON Schemas (draft-07) for each detail are in [`schemas/events/`](../schemas/events/).',
    '',
    'An EventBridge rule matching every certrotor event:',
    '',
    '```json',
    JSON.stringify({ source: [EVENT_SOURCE], 'detail-type': [...DETAIL_TYPES] }, null, 2),
    '```',
    '',
    '## Detail types',
    '',
    ...DETAIL_TYPES.map((type) => `- [${type}](#${slugOf(type)})`),
    '',
  ];
  for (const type of DETAIL_TYPES) {
    const entry = catalogue[type];
    const schema = asNode(schemas[type]);
    parts.push(
      `## ${type}`,
      '',
      entry.emittedWhen,
      '',
      `- detail-type: \`${type}\``,
      `- schema: [\`schemas/events/${slugOf(type)}.json\`](../schemas/events/${slugOf(type)}.json)`,
      `- dedupe key: ${entry.dedupeKeyRule}`,
      '',
      table(
        ['Field', 'Type', 'Required', 'Description'],
        rows(schema).map((r) => [`\`${r.key}\``, r.type, r.required ? 'yes' : 'no', r.description]),
      ),
      '',
      'Example:',
      '',
      '```json',
      JSON.stringify(
        {
          version: '0',
          id: '6f8d2c1e-0000-4000-8000-000000000000',
          'detail-type': type,
          source: EVENT_SOURCE,
          account: '111111111111',
          time: entry.example.occurredAt,
          region: 'eu-west-1',
          resources: [],
          detail: entry.example,
        },
        null,
        2,
      ),
      '```',
      '',
    );
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

export function renderEventSchemaFiles(): Record<string, string> {
  const schemas = eventJsonSchemas();
  return Object.fromEntries(
    DETAIL_TYPES.map((type) => [
      `schemas/events/${slugOf(type)}.json`,
      `${JSON.stringify(schemas[type], null, 2)}\n`,
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

export function renderConfigSchemaFile(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

function configTable(node: Node, prefix = ''): string {
  return table(
    ['Key', 'Type', 'Required', 'Default', 'Description'],
    rows(node, prefix).map((r) => [
      `\`${r.key}\``,
      r.type,
      r.required ? 'yes' : 'no',
      r.defaultValue,
      r.description,
    ]),
  );
}

/** Which backend runs which issuer, destination and source kind (lambda/config/backends.ts). */
function backendKindsSection(): string[] {
  const tables: [string, Record<string, { backends: readonly string[]; instead: Record<string, string> }>][] =
    [
      ['issuers', ISSUER_KINDS],
      ['destinations', DESTINATION_KINDS],
      ['sources', SOURCE_KINDS],
    ];
  const rows = tables.flatMap(([section, table]) =>
    Object.entries(table).map(([kind, support]) => [
      `\`${section}\``,
      `\`${kind}\``,
      support.backends.includes('local') ? 'yes' : `no: ${support.instead.local ?? ''}`,
      support.backends.includes('aws') ? 'yes' : `no: ${support.instead.aws ?? ''}`,
    ]),
  );
  return [
    '## Which backend runs which kind',
    '',
    'A configuration is run by one backend: `local` (the CLI on its own: state in a directory, a local CA, files) or `aws` (the deployed service, and the CLI with `--backend aws`). `certrotor config validate` checks the kinds for `--backend` (default: the file\'s `backend`, then `local`) and the CDK app for `aws`; a kind the backend cannot run is refused with its path, e.g. `issuers[1].kind: "local-ca" cannot run in the deployed service (aws backend); use acm-pca`.',
    '',
    table(['Section', 'Kind', 'local', 'aws'], rows),
    '',
  ];
}

export function renderConfigurationMarkdown(): string {
  const schema = configJsonSchema();
  const parts: string[] = [
    '# certrotor configuration',
    '',
    '<!-- Generated from lambda/config/configuration.ts by scripts/generate-docs.ts. Do not edit by hand;',
    `     regenerate with: ${REGENERATE_HINT} -->`,
    '',
    'One file, YAML or JSON, read by the CLI (`--config FILE`, else `$CERTROTOR_CONFIG`, else `./certrotor.yaml`), the Lambdas and the CDK app. Check it with `certrotor config validate`: every problem is reported at once with its path, such as `upstreams[1].endpoints[0].port: must be 1-65535`.',
    '',
    '- Unknown keys are errors, so a misspelt setting is never silently ignored.',
    '- Lists of named things (`environments`, `issuers`, `destinations`, `hosts`, `fleets`, `endpoints`, `certificates`, `upstreams`, channels) need unique names; other sections refer to them by name, and every reference is checked.',
    '- Durations are text: `90d`, `12h`, `30m`, `45s`, `1w`, `1d12h`, or ISO 8601 `P30D`, `PT12H`.',
    '- Relative paths are relative to the configuration file.',
    '- Secrets are referenced, never written in the file: Slack webhooks come from an environment variable or a Secrets Manager secret; private keys are never accepted.',
    '',
    'A complete commented example: [`config/certrotor.example.yaml`](../config/certrotor.example.yaml) (a deployed configuration), and [`config/certrotor.local.example.yaml`](../config/certrotor.local.example.yaml) for the CLI on its own. A JSON Schema for editors: [`schemas/config.schema.json`](../schemas/config.schema.json); with the YAML language server, start the file with `# yaml-language-server: $schema=<path>/schemas/config.schema.json`.',
    '',
    ...backendKindsSection(),
  ];
  const top = asNode(schema.properties);
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [key, value] of Object.entries(top)) {
    const node = asNode(value);
    const { description, defaultText } = splitDescription(node);
    parts.push(`## \`${key}\``, '');
    const facts = [typeOf(node), required.has(key) ? 'required' : 'optional'];
    if (defaultText && node.type !== 'object' && node.type !== 'array') facts.push(`default ${defaultText}`);
    parts.push(`${facts.join(', ')}.${description ? ` ${description}` : ''}`, '');
    const items = asNode(node.items);
    const kinds = variants(node.type === 'array' ? items : node);
    if (kinds) {
      const itemDescription = splitDescription(items).description;
      if (itemDescription && itemDescription !== description) parts.push(itemDescription, '');
      for (const variant of kinds) {
        parts.push(`### \`${key}\` of kind \`${kindOf(variant)}\``, '', configTable(variant), '');
      }
    } else if (node.type === 'array' && items.properties) {
      const itemDescription = splitDescription(items).description;
      if (itemDescription && itemDescription !== description) parts.push(itemDescription, '');
      parts.push(configTable(items), '');
    } else if (node.properties) {
      parts.push(configTable(node), '');
    }
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

/** Every generated file, keyed by its path relative to the repository root. */
export function generatedFiles(): Record<string, string> {
  return {
    'docs/events.md': renderEventsMarkdown(),
    ...renderEventSchemaFiles(),
    'docs/configuration.md': renderConfigurationMarkdown(),
    'schemas/config.schema.json': renderConfigSchemaFile(),
  };
}

/** Writes `files` under `root`; returns the paths written. */
export function writeGeneratedFiles(root: string, files: Record<string, string>): string[] {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return Object.keys(files);
}
