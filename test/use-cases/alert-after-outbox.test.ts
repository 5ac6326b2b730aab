/**
 * A finding is marked alerted only once its message is in the notification outbox and its event is
 * published: a scan that dies at any point before the mark raises the finding again on the next
 * scan, and the outbox sends it exactly once. Real TLS server on loopback serving an expired
 * certificate, the real prober, the CLI's file state store, a real HTTP server for Slack; the
 * "crash" is a state store (or bus) that throws at the chosen point, as a killed process would stop.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { NodeTlsProber } from '../../lambda/adapters/net/tls-prober';
import { SlackWebhookNotifier } from '../../lambda/adapters/net/slack-webhook';
import { type CertrotorConfig, validateConfig } from '../../lambda/config/configuration';
import type { OutgoingEvent, PutOptions, StateStore, StoredItem } from '../../lambda/domain/ports';
import { DEFAULT_THRESHOLDS } from '../../lambda/domain/thresholds';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { type CycleDeps, type ScanInput, scan } from '../../lambda/use-cases/cycle';
import { OUTBOX_COLLECTION, type OutboxItem, drainOutbox } from '../../lambda/use-cases/notify/outbox';
import { recordNotifications } from '../../lambda/use-cases/notify/record';
import { buildCa, buildCertificate } from '../builders/certificates';
import { buildConfig } from '../builders/config';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const prober = new NodeTlsProber({ workers: 0 });
let server: tls.Server;
let port: number;
let caPem: string;
let slack: FakeSlackServer;

const config: CertrotorConfig = validateConfig(
  buildConfig((c) => {
    c.notifications = {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'ALERTS_URL' } }],
      defaultChannel: 'alerts',
    };
  }),
  'test configuration',
);

beforeAll(async () => {
  const ca = await buildCa({ commonName: 'Crash test CA' });
  caPem = ca.certificatePem;
  const expired = await buildCertificate({ issuer: ca, dnsNames: ['orders.test'], daysLeft: -2 });
  server = tls.createServer({ key: expired.privateKey.reveal(), cert: expired.certificatePem });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  slack = await startFakeSlackServer();
});

afterAll(async () => {
  await prober.close();
  await slack.close();
  await new Promise((done) => server.close(done));
});

/** Dies (throws) on the first write to `collection`, like a process killed at that point. */
class DyingStore implements StateStore {
  readonly name = 'dying';
  died = false;
  /** What the outbox held for the finding when the process died. */
  outboxAtDeath: readonly StoredItem<OutboxItem>[] = [];

  constructor(
    private readonly inner: StateStore,
    private readonly collection: string,
  ) {}

  get<T>(collection: string, id: string, now: Date) {
    return this.inner.get<T>(collection, id, now);
  }
  list<T>(collection: string, now: Date, prefix?: string) {
    return this.inner.list<T>(collection, now, prefix);
  }
  delete(collection: string, id: string) {
    return this.inner.delete(collection, id);
  }
  async put<T>(collection: string, id: string, value: T, now: Date, options?: PutOptions) {
    if (collection === this.collection && !this.died) {
      this.died = true;
      this.outboxAtDeath = await this.inner.list<OutboxItem>(OUTBOX_COLLECTION, now);
      throw new Error('killed');
    }
    return this.inner.put(collection, id, value, now, options);
  }
}

function setup(store: StateStore, published: OutgoingEvent[], publishFails = false): CycleDeps {
  return {
    sources: [],
    prober,
    state: store,
    clock: () => new Date(),
    ownership: () => ({}),
    notify: async (events) => {
      await recordNotifications({ store, config, silences: [], now: new Date() }, events);
      return [];
    },
    publisher: {
      name: 'bus',
      publish: async (events) => {
        if (publishFails) throw new Error('killed');
        published.push(...events);
        return { published: events.length, failed: [] };
      },
    },
  };
}

const input = (): ScanInput => ({
  endpoints: [
    {
      name: 'orders',
      environment: 'prod',
      host: '127.0.0.1',
      port,
      servername: 'orders.test',
      caPem: [caPem],
    },
  ],
  specs: [],
  renewal: new Map(),
  thresholds: DEFAULT_THRESHOLDS,
  concurrency: 2,
});

async function sendPending(store: StateStore): Promise<number> {
  const notifier = new SlackWebhookNotifier({ webhookUrl: slack.url, name: 'alerts', maxAttempts: 1 });
  const report = await drainOutbox(
    {
      store,
      clock: () => new Date(),
      notifierFor: (channel) => (channel === 'alerts' ? notifier : undefined),
      deadline: () => Date.now() + 10_000,
    },
    { minIntervalMs: 10 },
  );
  return report.delivered;
}

function expiredMessages(since: number): number {
  return slack.requests
    .slice(since)
    .filter((r) => r.json?.text?.includes('orders.test') && /expired/i.test(r.json.text)).length;
}

describe('marking a finding alerted after its message is in the outbox', () => {
  it('a scan killed after recording the message but before marking the finding: the next scan raises it again and Slack gets it exactly once', async () => {
    // Prepare
    const file = new FileStateStore({ directory: join(await temp.make('crash'), 'state') });
    const dying = new DyingStore(file, COLLECTIONS.alerts);
    const published: OutgoingEvent[] = [];
    const before = slack.requests.length;

    // Act: the first scan dies when it marks the finding alerted; the next run scans and sends.
    await expect(scan(setup(dying, published), input())).rejects.toThrow('killed');
    const second = await scan(setup(file, published), input());
    const delivered = await sendPending(file);
    const third = await scan(setup(file, published), input());
    await sendPending(file);

    // Assess
    expect(dying.died).toBe(true);
    expect(dying.outboxAtDeath.map((i) => [i.value.status, i.value.detailType])).toEqual([
      ['pending', 'Certificate Expired'],
    ]);
    expect(second.newFindings.map((f) => f.kind)).toEqual(['expired']);
    expect(delivered).toBe(1);
    expect(third.newFindings).toEqual([]);
    expect(expiredMessages(before)).toBe(1);
    expect(slack.requests.length - before).toBe(1);
  });

  it('a scan killed while recording the message: nothing is marked, and the next scan delivers it exactly once', async () => {
    // Prepare
    const file = new FileStateStore({ directory: join(await temp.make('crash'), 'state') });
    const dying = new DyingStore(file, OUTBOX_COLLECTION);
    const published: OutgoingEvent[] = [];
    const before = slack.requests.length;

    // Act
    const first = await scan(setup(dying, published), input());
    const marked = await file.list(COLLECTIONS.alerts, new Date());
    const second = await scan(setup(file, published), input());
    await sendPending(file);
    await scan(setup(file, published), input());
    await sendPending(file);

    // Assess
    expect(first.failures.map((f) => f.what)).toContain('notification');
    expect(marked).toEqual([]);
    expect(second.newFindings.map((f) => f.kind)).toEqual(['expired']);
    expect(expiredMessages(before)).toBe(1);
    expect(slack.requests.length - before).toBe(1);
  });

  it('a scan whose event could not be published (the deployed path: the bus) raises it again, published once and sent once', async () => {
    // Prepare
    const file = new FileStateStore({ directory: join(await temp.make('crash'), 'state') });
    const published: OutgoingEvent[] = [];
    const before = slack.requests.length;

    // Act
    const first = await scan(setup(file, published, true), input());
    const second = await scan(setup(file, published), input());
    await scan(setup(file, published), input());
    await sendPending(file);

    // Assess
    expect(first.failures.map((f) => f.what)).toContain('publisher bus');
    expect(second.newFindings.map((f) => f.kind)).toEqual(['expired']);
    expect(published.map((e) => e.detailType)).toEqual(['Certificate Expired']);
    expect(expiredMessages(before)).toBe(1);
  });
});
