import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  healthAnnouncements,
  isCertificateHealthEvent,
  parseHealthEvent,
} from '../../lambda/domain/aws-health';
import { InvalidInputError } from '../../lambda/domain/errors';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function rdsEvent(edit: (event: Json) => void = () => {}): Json {
  const event = JSON.parse(
    readFileSync(join(__dirname, '..', 'fixtures', 'aws-health', 'rds-ca-rotation.json'), 'utf8'),
  ) as Json;
  edit(event);
  return event;
}

const ORDERS_DB = { upstream: 'orders-db', services: ['RDS'] };

describe('AWS Health scheduled changes as announcements', () => {
  it('turns an RDS CA rotation into an announcement with its window and affected resources', () => {
    // Act
    const [draft] = healthAnnouncements(rdsEvent(), [ORDERS_DB]);

    // Assess
    expect(draft).toMatchObject({
      source: 'aws-health',
      sourceId:
        'arn:aws:health:eu-west-1::event/RDS/AWS_RDS_PLANNED_LIFECYCLE_EVENT/AWS_RDS_PLANNED_LIFECYCLE_EVENT_EU_WEST_1_f0a8c1d2e3',
      upstream: 'orders-db',
      title: 'AWS Health AWS_RDS_PLANNED_LIFECYCLE_EVENT (RDS, eu-west-1)',
      cutover: '2026-12-05T00:00:00.000Z',
      windowEnd: '2026-12-05T06:00:00.000Z',
      affectedResources: ['arn:aws:rds:eu-west-1:123456789012:db:orders-db'],
      needsReview: false,
    });
    expect(draft?.rawText).toContain('rds-ca-rsa4096-g1');
  });

  it('reads RFC 3339 times as the Health API writes them', () => {
    // Act
    const [draft] = healthAnnouncements(
      rdsEvent((e) => {
        e.detail.startTime = '2026-12-05T01:00:00+01:00';
        delete e.detail.endTime;
      }),
      [ORDERS_DB],
    );

    // Assess
    expect(draft).toMatchObject({ cutover: '2026-12-05T00:00:00.000Z', needsReview: false });
  });

  it('announces to every upstream subscribed to the event, and to none other', () => {
    // Act
    const drafts = healthAnnouncements(rdsEvent(), [
      ORDERS_DB,
      { upstream: 'all-rds' },
      { upstream: 'elsewhere', region: 'us-east-1' },
      { upstream: 'elasticache', services: ['ELASTICACHE'] },
      { upstream: 'maintenance-only', eventTypeCodes: ['AWS_RDS_MAINTENANCE_SCHEDULED'] },
    ]);

    // Assess
    expect(drafts.map((d) => d.upstream)).toEqual(['orders-db', 'all-rds']);
  });

  it.each([
    [
      'a lifecycle event about something else',
      (e: Json) => {
        e.detail.eventDescription[0].latestDescription =
          'Your DB engine version 11 reaches end of standard support.';
      },
    ],
    ['an issue rather than a scheduled change', (e: Json) => (e.detail.eventTypeCategory = 'issue')],
    ['a closed event', (e: Json) => (e.detail.statusCode = 'closed')],
  ])('ignores %s', (_name, edit) => {
    // Act / Assess
    expect(healthAnnouncements(rdsEvent(edit), [ORDERS_DB])).toEqual([]);
  });

  it('recognises certificate event codes whatever the description says', () => {
    // Prepare
    const facts = parseHealthEvent(
      rdsEvent((e) => {
        e.detail.eventTypeCode = 'AWS_RDS_CERTIFICATE_ROTATION_SCHEDULED';
        e.detail.eventDescription = [];
      }),
    );

    // Act / Assess
    expect(isCertificateHealthEvent(facts)).toBe(true);
  });

  it('flags a missing start and falls back on the earliest date in the description', () => {
    // Act
    const [draft] = healthAnnouncements(
      rdsEvent((e) => {
        delete e.detail.startTime;
        e.detail.eventDescription[0].latestDescription =
          'The certificate authority rds-ca-rsa2048-g1 expires on August 22, 2026 at 18:00 UTC.';
      }),
      [ORDERS_DB],
    );

    // Assess
    expect(draft).toMatchObject({ needsReview: true, cutover: '2026-08-22T18:00:00.000Z' });
    expect(draft?.reviewReasons).toEqual([
      'startTime is missing',
      'cutover taken from the description ("August 22, 2026 at 18:00 UTC"), the earliest date it mentions',
    ]);
  });

  it('flags an unreadable start and an end before the start', () => {
    // Act
    const [unreadable] = healthAnnouncements(
      rdsEvent((e) => (e.detail.startTime = 'soon')),
      [ORDERS_DB],
    );
    const [backwards] = healthAnnouncements(
      rdsEvent((e) => (e.detail.endTime = 'Fri, 4 Dec 2026 00:00:00 GMT')),
      [ORDERS_DB],
    );

    // Assess
    expect(unreadable?.needsReview).toBe(true);
    expect(unreadable?.reviewReasons[0]).toMatch(/startTime: "soon"/);
    expect(backwards?.needsReview).toBe(true);
    expect(backwards?.reviewReasons).toEqual([
      'window end 2026-12-04T00:00:00.000Z is before its start 2026-12-05T00:00:00.000Z',
    ]);
  });

  it.each([
    ['not an object', 'hello'],
    ['another source', { source: 'aws.ec2', detail: {} }],
    ['no event ARN', { source: 'aws.health', id: 'e-1', detail: { eventTypeCode: 'X' } }],
  ])('rejects %s', (_name, event) => {
    // Act / Assess
    expect(() => parseHealthEvent(event)).toThrow(InvalidInputError);
  });
});
