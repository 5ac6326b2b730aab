/**
 * `deliver` and the alert keys: a finding whose message the outbox could not record is not marked
 * as alerted, so the next scan raises it again; one that was recorded stays marked.
 */
import { join } from 'node:path';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import type { OutgoingEvent } from '../../lambda/domain/ports';
import { deliver } from '../../lambda/use-cases/cycle';
import { claimAlertKey } from '../../lambda/use-cases/scan';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const NOW = new Date('2027-01-10T12:00:00Z');
const event: OutgoingEvent = {
  source: 'certrotor',
  detailType: 'Certificate Expired',
  time: NOW.toISOString(),
  detail: { dedupeKey: 'expiry:AB:expired' },
};
const publisher = { name: 'none', publish: async () => ({ published: 1, failed: [] }) };

describe('deliver and the alert keys', () => {
  it('forgets the alert when its message could not be recorded, so the next scan raises it again', async () => {
    // Prepare
    const state = new FileStateStore({ directory: join(await temp.make('deliver'), 'state') });
    await claimAlertKey(state, 'expiry:AB:expired', {}, NOW);

    // Act
    const failures = await deliver(
      { publisher, notify: async () => ['notification outbox: disk full'], state },
      [event],
    );

    // Assess
    expect(failures).toEqual([{ what: 'notification', error: 'notification outbox: disk full' }]);
    expect(await claimAlertKey(state, 'expiry:AB:expired', {}, NOW)).toBe(true);
  });

  it('keeps the alert marked when its message was recorded', async () => {
    // Prepare
    const state = new FileStateStore({ directory: join(await temp.make('deliver'), 'state') });
    await claimAlertKey(state, 'expiry:AB:expired', {}, NOW);

    // Act
    const failures = await deliver({ publisher, notify: async () => [], state }, [event]);

    // Assess
    expect(failures).toEqual([]);
    expect(await claimAlertKey(state, 'expiry:AB:expired', {}, NOW)).toBe(false);
  });
});
