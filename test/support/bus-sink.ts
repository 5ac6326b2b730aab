/**
 * What was put on an EventBridge bus in the emulator: a rule on the bus copies every certrotor event
 * into an SQS queue, read back in order. The project has no SQS client dependency, so the queue is
 * driven through the emulator's SQS JSON protocol directly (fake credentials, loopback only).
 *
 *   const sink = await busSink(moto, 'my-bus');
 *   ... run what publishes ...
 *   const events = await sink.received(); // every envelope so far, raw as delivered
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import {
  type MotoContext,
  FAKE_CREDENTIALS,
  MOTO_ACCOUNT_ID,
  MOTO_REGION,
  assertLoopbackEndpoint,
} from './moto';

/** An event as EventBridge delivers it to a target. */
export interface BusEnvelope {
  readonly source: string;
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: Record<string, unknown>;
  readonly resources: string[];
}

export interface BusSink {
  /** Every event delivered so far (accumulates across calls). */
  received(): Promise<BusEnvelope[]>;
}

async function sqs<T>(endpoint: string, action: string, input: Record<string, unknown>): Promise<T> {
  assertLoopbackEndpoint(endpoint);
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      authorization: `AWS4-HMAC-SHA256 Credential=${FAKE_CREDENTIALS.accessKeyId}/20260101/${MOTO_REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  if (!response.ok) throw new Error(`SQS ${action} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Subscribes a fresh queue to every `certrotor` event on `bus` (which must exist). */
export async function busSink(
  moto: Pick<MotoContext, 'endpoint' | 'clientConfig'>,
  bus: string,
): Promise<BusSink> {
  const endpoint = moto.endpoint;
  const queue = `${bus}-sink-${randomUUID().slice(0, 8)}`;
  const rule = `${queue}-rule`;
  const { QueueUrl } = await sqs<{ QueueUrl: string }>(endpoint, 'CreateQueue', { QueueName: queue });
  const events = createAwsClient(EventBridgeClient, moto.clientConfig());
  await events.send(
    new PutRuleCommand({
      Name: rule,
      EventBusName: bus,
      EventPattern: JSON.stringify({ source: ['certrotor'] }),
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: rule,
      EventBusName: bus,
      Targets: [{ Id: 'sink', Arn: `arn:aws:sqs:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:${queue}` }],
    }),
  );
  const seen: BusEnvelope[] = [];
  return {
    async received() {
      for (;;) {
        const { Messages = [] } = await sqs<{ Messages?: { Body: string }[] }>(endpoint, 'ReceiveMessage', {
          QueueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 300,
        });
        if (Messages.length === 0) return [...seen];
        for (const message of Messages) seen.push(JSON.parse(message.Body) as BusEnvelope);
      }
    },
  };
}
