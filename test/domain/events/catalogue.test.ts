import {
  buildEvent,
  catalogue,
  DETAIL_TYPES,
  DetailType,
  type DetailTypeName,
  EVENT_SOURCE,
  EventSchemaError,
  eventJsonSchemas,
  looksLikeKeyMaterial,
  parseEvent,
} from '../../../lambda/domain/events';

const TIME = new Date('2026-02-26T09:00:00.000Z');
const PRIVATE_KEY = [
  '-----BEGIN EC PRIVATE KEY-----',
  'MHcCAQEEIBkq0canaryKEYmaterial',
  '-----END EC PRIVATE KEY-----',
].join('\n');
const CERTIFICATE_PEM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBszCCAVmgAwIBAgIU',
  '-----END CERTIFICATE-----',
].join('\n');

/** A valid detail of `type` (the catalogue example) with `changes` applied on top. */
function detailOf(type: DetailTypeName, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...structuredClone(catalogue[type].example), ...changes };
}

function errorOf(act: () => unknown): EventSchemaError {
  try {
    act();
  } catch (error) {
    if (error instanceof EventSchemaError) return error;
    throw error;
  }
  throw new Error('expected an EventSchemaError');
}

describe('the event catalogue', () => {
  it('names every detail type the product needs', () => {
    expect(DETAIL_TYPES).toEqual(
      expect.arrayContaining([
        'Certificate Expiring',
        'Certificate Expired',
        'Renewal Due',
        'Endpoint Drift Detected',
        'Rotation Started',
        'Rotation Succeeded',
        'Rotation Failed',
        'Rotation Rolled Back',
        'Upstream Rotation Announced',
        'Upstream Rotation Deadline Approaching',
        'Upstream Certificate Changed',
        'Consumers Not Ready',
      ]),
    );
    expect(Object.values(DetailType)).toEqual(DETAIL_TYPES);
  });

  describe.each(DETAIL_TYPES)('%s', (type) => {
    it('accepts its example and stamps source, time and schema version', () => {
      // Prepare
      const { schemaVersion: _version, ...detail } = detailOf(type);

      // Act
      const event = buildEvent(type, detail as never, TIME, { resources: ['certrotor:certificate/api'] });

      // Assess
      expect(event).toMatchObject({ source: EVENT_SOURCE, detailType: type, time: TIME.toISOString() });
      expect(event.resources).toEqual(['certrotor:certificate/api']);
      expect(event.detail.schemaVersion).toBe(1);
      expect(event.detail.dedupeKey).toEqual(expect.any(String));
      expect(Array.isArray(event.detail.environments)).toBe(true);
    });

    it('rejects a private key in any string field without repeating it', () => {
      // Act
      const error = errorOf(() =>
        buildEvent(type, detailOf(type, { summary: `oops ${PRIVATE_KEY}` }) as never, TIME),
      );

      // Assess
      expect(error.problems).toEqual([
        'summary: must not contain key material, PEM blocks or long base64 data',
      ]);
      expect(error.message).not.toContain('canaryKEY');
      expect(error.message).not.toContain('BEGIN');
    });

    it('rejects a PEM block even when it is only a certificate', () => {
      // Act
      const error = errorOf(() =>
        buildEvent(type, detailOf(type, { owner: CERTIFICATE_PEM }) as never, TIME),
      );

      // Assess
      expect(error.problems).toEqual([
        'owner: must not contain key material, PEM blocks or long base64 data',
      ]);
    });

    it('rejects an unknown field, such as one that would carry a key', () => {
      // Act
      const error = errorOf(() =>
        buildEvent(type, detailOf(type, { privateKey: 'redacted' }) as never, TIME),
      );

      // Assess
      expect(error.problems).toEqual(['privateKey: unknown key']);
      expect(error.message).toContain(`event "${type}" does not match the catalogue`);
    });

    it('requires a deduplication key and the affected environments', () => {
      // Prepare
      const { dedupeKey: _key, environments: _environments, ...detail } = detailOf(type);

      // Act
      const error = errorOf(() => buildEvent(type, detail as never, TIME));

      // Assess
      expect(error.problems).toEqual(['dedupeKey: is required', 'environments: is required']);
    });

    it('round-trips through the EventBridge envelope', () => {
      // Prepare
      const built = buildEvent(type, detailOf(type) as never, TIME);
      const received = {
        version: '0',
        id: 'b6a1e7c2-0000-4000-8000-000000000001',
        'detail-type': built.detailType,
        source: built.source,
        account: '111111111111',
        time: built.time,
        region: 'eu-west-1',
        resources: [],
        detail: JSON.parse(JSON.stringify(built.detail)) as unknown,
      };

      // Act
      const parsed = parseEvent(received);

      // Assess
      expect(parsed.detailType).toBe(type);
      expect(parsed.id).toBe(received.id);
      expect(parsed.detail).toEqual(built.detail);
    });

    it('has a strict JSON Schema requiring the common fields', () => {
      // Act
      const schema = eventJsonSchemas()[type] as {
        additionalProperties: boolean;
        required: string[];
        properties: Record<string, { pattern?: string }>;
      };

      // Assess
      expect(schema.additionalProperties).toBe(false);
      expect(schema.required).toEqual(
        expect.arrayContaining(['schemaVersion', 'dedupeKey', 'severity', 'occurredAt', 'environments']),
      );
      expect(new RegExp(schema.properties.dedupeKey!.pattern!).test(`x ${PRIVATE_KEY}`)).toBe(false);
    });
  });

  it('rejects key material nested deep inside a detail', () => {
    // Prepare
    const detail = detailOf('Rotation Failed');
    (detail.failedHosts as { reason: string }[])[0]!.reason = PRIVATE_KEY;

    // Act
    const error = errorOf(() => buildEvent('Rotation Failed', detail as never, TIME));

    // Assess
    expect(error.problems).toEqual([
      'failedHosts[0].reason: must not contain key material, PEM blocks or long base64 data',
    ]);
  });

  it('rejects an unknown field inside a nested certificate reference', () => {
    // Prepare
    const detail = detailOf('Certificate Expiring');
    (detail.certificate as Record<string, unknown>).pem = 'x';

    // Act
    const error = errorOf(() => buildEvent('Certificate Expiring', detail as never, TIME));

    // Assess
    expect(error.problems).toEqual(['certificate.pem: unknown key']);
  });

  it.each([
    ['a PEM private key', PRIVATE_KEY, true],
    ['a certificate PEM block', CERTIFICATE_PEM, true],
    ['the words PRIVATE KEY', 'see PRIVATE KEY below', true],
    ['a long base64 run (an unarmoured DER key)', 'A'.repeat(250), true],
    ['a fingerprint', catalogue['Certificate Expiring'].example.certificate.fingerprintSha256, false],
    ['a sentence', 'api.example.com expires in 13 days', false],
  ])('looksLikeKeyMaterial recognises %s', (_name, text, expected) => {
    expect(looksLikeKeyMaterial(text)).toBe(expected);
  });
});

describe('parseEvent', () => {
  const built = buildEvent('Scan Missed', detailOf('Scan Missed') as never, TIME);

  it('accepts certrotor’s own event shape, as the JSONL sink writes it', () => {
    // Act
    const parsed = parseEvent(JSON.stringify(built));

    // Assess
    expect(parsed.detailType).toBe('Scan Missed');
    expect(parsed.resources).toEqual([]);
  });

  it('rejects another source', () => {
    // Act
    const error = errorOf(() => parseEvent({ ...built, source: 'aws.health' }));

    // Assess
    expect(error.problems).toEqual(['source: expected "certrotor", got "aws.health"']);
  });

  it('rejects an unknown detail type', () => {
    // Act
    const error = errorOf(() => parseEvent({ ...built, detailType: 'Certificate Exploded' }));

    // Assess
    expect(error.problems[0]).toMatch(/^unknown detail type \(known: Certificate Expiring, /);
  });

  it('rejects a schema version it does not know', () => {
    // Act
    const error = errorOf(() => parseEvent({ ...built, detail: { ...built.detail, schemaVersion: 2 } }));

    // Assess
    expect(error.problems).toEqual(['detail.schemaVersion: version 2 is not supported (supported: 1)']);
  });

  it('rejects text that is not JSON', () => {
    expect(errorOf(() => parseEvent('{not json')).problems[0]).toMatch(/^not JSON: /);
  });
});
