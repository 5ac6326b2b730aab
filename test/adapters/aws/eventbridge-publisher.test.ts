import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import {
  EventBridgePublisher,
  MAX_REQUEST_BYTES,
  entrySize,
  planBatches,
} from '../../../lambda/adapters/aws/eventbridge-publisher';
import type { OutgoingEvent } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { buildCertificate } from '../../builders/certificates';
import { buildEvent, describeEventPublisherContract } from '../../contracts/event-publisher-contract';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../../support/moto';
import { startThrottlingProxy } from '../../support/throttling-proxy';

const moto = useMoto();
const eventBridge = (): EventBridgeClient => createAwsClient(EventBridgeClient, moto.clientConfig());
const noSleep = async (): Promise<void> => {};

/** Calls the emulator's SQS API directly (JSON protocol); the project has no SQS client dependency. */
async function sqs<T>(action: string, input: Record<string, unknown>): Promise<T> {
  const response = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/${MOTO_REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  if (!response.ok) throw new Error(`SQS ${action} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** A bus whose rule copies every certrotor event into a queue, read back as OutgoingEvents in order. */
async function busWithQueue(): Promise<{ bus: string; received: () => Promise<OutgoingEvent[]> }> {
  const bus = `certrotor-${randomUUID().slice(0, 8)}`;
  const queue = `${bus}-sink`;
  const client = eventBridge();
  await client.send(new CreateEventBusCommand({ Name: bus }));
  const { QueueUrl } = await sqs<{ QueueUrl: string }>('CreateQueue', { QueueName: queue });
  await client.send(
    new PutRuleCommand({
      Name: 'all-certrotor',
      EventBusName: bus,
      EventPattern: JSON.stringify({ source: ['certrotor'] }),
    }),
  );
  await client.send(
    new PutTargetsCommand({
      Rule: 'all-certrotor',
      EventBusName: bus,
      Targets: [{ Id: 'sink', Arn: `arn:aws:sqs:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:${queue}` }],
    }),
  );
  const seen: OutgoingEvent[] = [];
  const received = async (): Promise<OutgoingEvent[]> => {
    for (;;) {
      const { Messages = [] } = await sqs<{ Messages?: { Body: string }[] }>('ReceiveMessage', {
        QueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 300,
      });
      if (Messages.length === 0) return [...seen];
      for (const message of Messages) {
        const envelope = JSON.parse(message.Body) as {
          source: 'certrotor';
          'detail-type': string;
          time: string;
          detail: Record<string, unknown>;
          resources: string[];
        };
        seen.push({
          source: envelope.source,
          detailType: envelope['detail-type'],
          time: new Date(envelope.time).toISOString(),
          detail: envelope.detail,
          ...(envelope.resources.length > 0 ? { resources: envelope.resources } : {}),
        });
      }
    }
  };
  return { bus, received };
}

function putEventsCalls(client: EventBridgeClient): { entries: () => number[] } {
  const spy = jest.spyOn(client, 'send');
  return {
    entries: () =>
      spy.mock.calls
        .map(([command]) => command as unknown)
        .filter((command): command is PutEventsCommand => command instanceof PutEventsCommand)
        .map((command) => command.input.Entries?.length ?? 0),
  };
}

describeEventPublisherContract(
  'EventBridge publisher',
  async () => {
    const { bus, received } = await busWithQueue();
    return {
      publisher: new EventBridgePublisher({ client: eventBridge(), eventBusName: bus, sleep: noSleep }),
      received,
    };
  },
  {
    failingFactory: async () => ({
      publisher: new EventBridgePublisher({
        client: eventBridge(),
        eventBusName: 'no-such-bus',
        sleep: noSleep,
      }),
      received: async () => [],
    }),
  },
);

describe('EventBridge publisher', () => {
  describe('batching', () => {
    it('measures an entry as EventBridge does: 14 bytes for Time plus source, detail type, detail and resources in UTF-8', () => {
      const size = entrySize({
        Time: new Date(),
        Source: 'certrotor',
        DetailType: 'Certificate Expiring',
        Detail: '{"name":"ü"}',
        Resources: ['arn:a', 'arn:bc'],
      });

      expect(size).toBe(14 + 9 + 20 + 13 + 5 + 6);
    });

    it('sends 25 events in three requests of at most ten', async () => {
      const { bus, received } = await busWithQueue();
      const client = eventBridge();
      const calls = putEventsCalls(client);
      const events = Array.from({ length: 25 }, (_, i) => buildEvent(i));

      const report = await new EventBridgePublisher({ client, eventBusName: bus }).publish(events);

      expect(report).toEqual({ published: 25, failed: [] });
      expect(calls.entries()).toEqual([10, 10, 5]);
      expect(await received()).toHaveLength(25);
    });

    it('splits a 200 KB and a 100 KB event into two requests to stay within 256 KB', async () => {
      const { bus, received } = await busWithQueue();
      const client = eventBridge();
      const calls = putEventsCalls(client);
      const events = [200_000, 100_000].map((bytes, i) =>
        buildEvent(i, { detail: { certificate: `api-${i}`, padding: 'x'.repeat(bytes) } }),
      );

      const report = await new EventBridgePublisher({ client, eventBusName: bus }).publish(events);

      expect(report).toEqual({ published: 2, failed: [] });
      expect(calls.entries()).toEqual([1, 1]);
      expect((await received()).map((e) => e.detail.certificate)).toEqual(['api-0', 'api-1']);
    });

    it('keeps order and both limits when planning batches', () => {
      const sizes = [100_000, 100_000, 100_000, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 300_000];

      const { batches, oversized } = planBatches(sizes, (s) => s);

      expect(batches).toEqual([[100_000, 100_000], [100_000, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1]]);
      expect(oversized).toEqual([300_000]);
      for (const batch of batches)
        expect(batch.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    });

    it('reports an event too large for any request as failed, and publishes the others', async () => {
      const { bus } = await busWithQueue();
      const events = [buildEvent(1), buildEvent(2, { detail: { padding: 'x'.repeat(MAX_REQUEST_BYTES) } })];

      const report = await new EventBridgePublisher({ client: eventBridge(), eventBusName: bus }).publish(
        events,
      );

      expect(report.published).toBe(1);
      expect(report.failed).toHaveLength(1);
      expect(report.failed[0]!.error).toMatch(/over the 262144-byte PutEvents limit/);
    });
  });

  describe('partial failures', () => {
    function mockedPublisher(): { publisher: EventBridgePublisher; mock: ReturnType<typeof mockClient> } {
      const client = new EventBridgeClient({ region: MOTO_REGION, endpoint: moto.endpoint });
      const mock = mockClient(client);
      return { publisher: new EventBridgePublisher({ client, eventBusName: 'bus', sleep: noSleep }), mock };
    }

    it('re-sends only the entries that failed, until they are accepted', async () => {
      const { publisher, mock } = mockedPublisher();
      mock
        .on(PutEventsCommand)
        .resolvesOnce({
          FailedEntryCount: 2,
          Entries: [
            { EventId: 'a' },
            { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
            { EventId: 'c' },
            { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' },
          ],
        })
        .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }, { EventId: 'd' }] });
      const events = [0, 1, 2, 3].map((n) => buildEvent(n));

      const report = await publisher.publish(events);

      const sent = mock
        .commandCalls(PutEventsCommand)
        .map((c) => c.args[0].input.Entries?.map((e) => e.Resources?.[0]));
      expect(report).toEqual({ published: 4, failed: [] });
      expect(sent).toEqual([
        [
          'certrotor:certificate/api-0',
          'certrotor:certificate/api-1',
          'certrotor:certificate/api-2',
          'certrotor:certificate/api-3',
        ],
        ['certrotor:certificate/api-1', 'certrotor:certificate/api-3'],
      ]);
    });

    it('gives up after the bounded retries and reports what still failed, with the reason', async () => {
      const { publisher, mock } = mockedPublisher();
      mock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
        FailedEntryCount: 1,
        Entries: input.Entries.map((_, i) =>
          i === 0
            ? { ErrorCode: 'InternalFailure', ErrorMessage: 'service unavailable' }
            : { EventId: `e${i}` },
        ),
      }));
      const events = [buildEvent(0), buildEvent(1)];

      const report = await publisher.publish(events);

      expect(report.published).toBe(1);
      expect(report.failed).toEqual([
        { event: events[0], error: 'PutEvents bus: InternalFailure: service unavailable' },
      ]);
      expect(mock.commandCalls(PutEventsCommand)).toHaveLength(4);
    });

    it('does not retry an entry the service rejected as malformed', async () => {
      const { publisher, mock } = mockedPublisher();
      mock.on(PutEventsCommand).resolves({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }],
      });

      const report = await publisher.publish([buildEvent(0)]);

      expect(report.failed.map((f) => f.error)).toEqual([
        'PutEvents bus: MalformedDetail: Detail is malformed.',
      ]);
      expect(mock.commandCalls(PutEventsCommand)).toHaveLength(1);
    });
  });

  describe('retries and errors', () => {
    it('retries a throttled PutEvents through the client retry strategy and then publishes', async () => {
      const { bus, received } = await busWithQueue();
      const proxy = await startThrottlingProxy(moto.endpoint, { throttle: 1 });
      try {
        const client = createAwsClient(EventBridgeClient, {
          ...moto.clientConfig(),
          endpoint: proxy.endpoint,
        });

        const report = await new EventBridgePublisher({ client, eventBusName: bus }).publish([buildEvent(1)]);

        expect(report).toEqual({ published: 1, failed: [] });
        expect(proxy.throttled()).toBe(1);
        expect(proxy.requests()).toBe(2);
        expect(await received()).toHaveLength(1);
      } finally {
        await proxy.close();
      }
    });

    it('reports throttling that outlasts the retries with the operation and the bus named', async () => {
      const proxy = await startThrottlingProxy(moto.endpoint, { throttle: Infinity });
      try {
        const client = createAwsClient(EventBridgeClient, {
          ...moto.clientConfig(),
          endpoint: proxy.endpoint,
          maxAttempts: 2,
        });

        const report = await new EventBridgePublisher({ client, eventBusName: 'busy-bus' }).publish([
          buildEvent(1),
        ]);

        expect(report.published).toBe(0);
        expect(report.failed[0]!.error).toBe(
          'PutEvents event bus busy-bus: ThrottlingException: Rate exceeded (HTTP 400)',
        );
        expect(proxy.requests()).toBe(2);
      } finally {
        await proxy.close();
      }
    });

    it('reports a permanent error for every event of the request, naming PutEvents and the bus', async () => {
      const events = [buildEvent(1), buildEvent(2)];

      const report = await new EventBridgePublisher({
        client: eventBridge(),
        eventBusName: 'missing-bus',
        sleep: noSleep,
      }).publish(events);

      expect(report.published).toBe(0);
      expect(report.failed).toHaveLength(2);
      expect(report.failed[0]!.error).toMatch(
        /^PutEvents event bus missing-bus: ResourceNotFoundException: .*missing-bus/,
      );
    });

    it('scrubs a private key that slipped into an event before it leaves the process', async () => {
      const { bus, received } = await busWithQueue();
      const canary = (await buildCertificate()).privateKey.reveal();

      await new EventBridgePublisher({ client: eventBridge(), eventBusName: bus }).publish([
        buildEvent(1, { detail: { note: `oops ${canary}` } }),
      ]);

      const [delivered] = await received();
      expect(containsPrivateKey(JSON.stringify(delivered))).toBe(false);
      expect(delivered!.detail.note).toMatch(/^oops \[REDACTED KEY\]\s*$/);
    });
  });
});
