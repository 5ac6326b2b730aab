/**
 * `handOver` (what `deliver` and the scan use): an event counts as handed over only when the outbox
 * recorded its messages and the bus took it; only those findings are then marked alerted, so a
 * finding whose message could not be recorded (or whose event was not published) is raised again.
 */
import type { OutgoingEvent } from '../../lambda/domain/ports';
import { deliver, handOver } from '../../lambda/use-cases/cycle';

const NOW = new Date('2027-01-10T12:00:00Z');
const event: OutgoingEvent = {
  source: 'certrotor',
  detailType: 'Certificate Expired',
  time: NOW.toISOString(),
  detail: { dedupeKey: 'expiry:AB:expired' },
};
const publisher = { name: 'bus', publish: async () => ({ published: 1, failed: [] }) };

describe('handing events over', () => {
  it('hands over nothing when the outbox could not record the messages, and says why', async () => {
    // Act
    const result = await handOver({ publisher, notify: async () => ['notification outbox: disk full'] }, [
      event,
    ]);

    // Assess
    expect(result.failures).toEqual([{ what: 'notification', error: 'notification outbox: disk full' }]);
    expect(result.events).toEqual([]);
  });

  it('hands over nothing the bus refused, although the outbox recorded it', async () => {
    // Act
    const result = await handOver(
      {
        publisher: {
          name: 'bus',
          publish: async () => ({ published: 0, failed: [{ event, error: 'throttled' }] }),
        },
        notify: async () => [],
      },
      [event],
    );

    // Assess
    expect(result.failures).toEqual([{ what: 'publish Certificate Expired', error: 'throttled' }]);
    expect(result.events).toEqual([]);
  });

  it('hands over an event recorded and published; deliver reports no failure for it', async () => {
    // Act
    const result = await handOver({ publisher, notify: async () => [] }, [event]);
    const failures = await deliver({ publisher, notify: async () => [] }, [event]);

    // Assess
    expect(result).toEqual({ failures: [], events: [event] });
    expect(failures).toEqual([]);
  });
});
