/**
 * The EventPublisher port contract. Every adapter (stdout, JSONL file, fan-out, EventBridge) runs it:
 *
 *   describeEventPublisherContract('jsonl publisher', async () => ({ publisher, received, cleanup }), {
 *     failingFactory: async () => ({ publisher: brokenPublisher, received: async () => [] }),
 *   });
 *
 * `received` reads back what the sink got, in order. `failingFactory` (optional) gives a publisher
 * whose sink refuses everything: the contract then proves failures are reported per event, never
 * thrown away and never thrown.
 */
import type { EventPublisher, OutgoingEvent, PublishReport } from '../../lambda/domain/ports';

export interface EventPublisherFixture {
  readonly publisher: EventPublisher;
  /** Events as the sink received them, oldest first. */
  readonly received: () => Promise<readonly OutgoingEvent[]>;
  readonly cleanup?: () => Promise<void>;
}

export interface EventPublisherContractOptions {
  readonly failingFactory?: () => Promise<EventPublisherFixture>;
}

export function buildEvent(n: number, overrides: Partial<OutgoingEvent> = {}): OutgoingEvent {
  return {
    source: 'certrotor',
    detailType: 'Certificate Expiring',
    time: new Date(Date.UTC(2026, 2, 1, 12, 0, n % 60)).toISOString(),
    detail: {
      schemaVersion: 1,
      certificate: `api-${n}`,
      environments: ['staging', 'prod-eu'],
      daysLeft: 30 - (n % 30),
      fingerprintSha256: 'AB:CD:EF',
      nested: { list: [1, 2, { deep: 'ünïcødé' }] },
    },
    resources: [`certrotor:certificate/api-${n}`],
    ...overrides,
  };
}

function plain(events: readonly OutgoingEvent[]): unknown {
  return JSON.parse(JSON.stringify(events)) as unknown;
}

export function describeEventPublisherContract(
  name: string,
  factory: () => Promise<EventPublisherFixture>,
  options: EventPublisherContractOptions = {},
): void {
  describe(`${name} (EventPublisher contract)`, () => {
    let fixture: EventPublisherFixture;

    beforeEach(async () => {
      fixture = await factory();
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    function expectAccounted(report: PublishReport, events: readonly OutgoingEvent[]): void {
      expect(report.published + report.failed.length).toBe(events.length);
    }

    it('has a name', () => {
      expect(fixture.publisher.name.length).toBeGreaterThan(0);
    });

    it('publishes nothing for no events and reports nothing failed', async () => {
      const report = await fixture.publisher.publish([]);

      expect(report).toEqual({ published: 0, failed: [] });
      expect(await fixture.received()).toEqual([]);
    });

    it('publishes one event as given', async () => {
      const event = buildEvent(1);

      const report = await fixture.publisher.publish([event]);

      expect(report).toEqual({ published: 1, failed: [] });
      expect(plain(await fixture.received())).toEqual(plain([event]));
    });

    it('publishes every event of a batch larger than any transport limit, in order', async () => {
      const events = Array.from({ length: 25 }, (_, i) => buildEvent(i));

      const report = await fixture.publisher.publish(events);

      expect(report).toEqual({ published: 25, failed: [] });
      expectAccounted(report, events);
      expect(plain(await fixture.received())).toEqual(plain(events));
    });

    it('publishes events whose combined size is beyond one request', async () => {
      const events = Array.from({ length: 8 }, (_, i) =>
        buildEvent(i, { detail: { certificate: `api-${i}`, padding: 'x'.repeat(60_000) } }),
      );

      const report = await fixture.publisher.publish(events);

      expect(report).toEqual({ published: 8, failed: [] });
      expect(plain(await fixture.received())).toEqual(plain(events));
    });

    it('keeps earlier events when publishing again', async () => {
      const first = [buildEvent(1)];
      const second = [buildEvent(2), buildEvent(3)];

      await fixture.publisher.publish(first);
      await fixture.publisher.publish(second);

      expect(plain(await fixture.received())).toEqual(plain([...first, ...second]));
    });

    if (options.failingFactory) {
      const failingFactory = options.failingFactory;

      describe('when the sink refuses everything', () => {
        let failing: EventPublisherFixture;

        beforeEach(async () => {
          failing = await failingFactory();
        });

        afterEach(async () => {
          await failing.cleanup?.();
        });

        it('reports each event as failed with a one-line reason instead of throwing or dropping it', async () => {
          const events = Array.from({ length: 12 }, (_, i) => buildEvent(i));

          const report = await failing.publisher.publish(events);

          expect(report.published).toBe(0);
          expectAccounted(report, events);
          expect(plain(report.failed.map((f) => f.event))).toEqual(plain(events));
          for (const failure of report.failed) {
            expect(failure.error.length).toBeGreaterThan(0);
            expect(failure.error).not.toContain('\n');
          }
        });
      });
    }
  });
}
