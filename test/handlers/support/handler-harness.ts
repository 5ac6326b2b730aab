/**
 * Runs a Lambda handler module the way Lambda does, against the AWS emulator: its environment set
 * before the module loads (handlers parse it at import time), a configuration file standing in for
 * the bundled one, the state table and event bus created in moto, and everything it writes to
 * stdout/stderr (Powertools logs and EMF metrics) captured for assertions.
 *
 *   const moto = useMoto();
 *   const { handler } = await loadHandler<typeof import('…/inventory')>('inventory', { configFile, table, bus });
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../../lambda/adapters/aws/dynamodb-state-store';
import { MOTO_ACCOUNT_ID, MOTO_REGION, awsClientConfig, motoEndpoint } from '../../support/moto';

const HANDLERS = join(__dirname, '..', '..', '..', 'lambda', 'handlers');

export interface HandlerSetup {
  readonly configFile: string;
  readonly table: string;
  readonly bus: string;
  readonly stateMachineArn?: string;
}

/** Writes `config` as the JSON document the bundle would carry; returns its path. */
export async function writeConfig(directory: string, config: Record<string, unknown>): Promise<string> {
  const file = join(directory, `certrotor-${randomUUID().slice(0, 8)}.json`);
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * Sets the Lambda environment (as the CDK stack does) and loads a fresh copy of the handler module.
 * `prepare` runs inside the handler's module registry first, e.g. to mock the SDK client class the
 * handler will use (`mockClient` must see that registry's class, not the test file's).
 */
export async function loadHandler<M>(
  name: string,
  setup: HandlerSetup,
  prepare?: () => Promise<void>,
): Promise<M> {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: motoEndpoint(),
    AWS_REGION: MOTO_REGION,
    CERTROTOR_CONFIG_FILE: setup.configFile,
    CERTROTOR_TABLE_NAME: setup.table,
    CERTROTOR_EVENT_BUS_NAME: setup.bus,
    POWERTOOLS_DEV: 'false',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_SERVICE_NAME: 'certrotor',
    POWERTOOLS_METRICS_NAMESPACE: 'certrotor',
  });
  if (setup.stateMachineArn !== undefined) process.env.CERTROTOR_STATE_MACHINE_ARN = setup.stateMachineArn;
  else delete process.env.CERTROTOR_STATE_MACHINE_ARN;
  let loaded: M | undefined;
  await jest.isolateModulesAsync(async () => {
    await prepare?.();
    loaded = (await import(join(HANDLERS, name))) as M;
  });
  return loaded!;
}

export function stateStore(table: string): DynamoDbStateStore {
  return new DynamoDbStateStore({
    client: createAwsClient(DynamoDBClient, awsClientConfig()),
    tableName: table,
  });
}

export async function createTable(table: string): Promise<void> {
  await createStateTable(createAwsClient(DynamoDBClient, awsClientConfig()), table);
}

// ---------------------------------------------------------------------------------------------
// What was published to the bus: a rule copies every certrotor event into an SQS queue
// ---------------------------------------------------------------------------------------------

/** An EventBridge event as a target receives it. */
export interface ReceivedEvent {
  readonly 'detail-type': string;
  readonly source: string;
  readonly time: string;
  readonly resources: string[];
  readonly detail: Record<string, unknown> & { dedupeKey?: string };
}

/** The emulator's SQS API over its JSON protocol (the project has no SQS client dependency). */
async function sqs<T>(action: string, input: Record<string, unknown>): Promise<T> {
  const response = await fetch(motoEndpoint(), {
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

export interface BusSink {
  readonly bus: string;
  /** Every event received since the last call (drains the queue). */
  drain(): Promise<ReceivedEvent[]>;
}

/** Creates `bus` with a rule routing every certrotor event to a queue that `drain` reads back. */
export async function busWithSink(bus: string): Promise<BusSink> {
  const client = createAwsClient(EventBridgeClient, awsClientConfig());
  await client.send(new CreateEventBusCommand({ Name: bus }));
  const queue = `${bus}-sink`;
  const { QueueUrl } = await sqs<{ QueueUrl: string }>('CreateQueue', { QueueName: queue });
  await client.send(
    new PutRuleCommand({
      Name: 'every-certrotor-event',
      EventBusName: bus,
      EventPattern: JSON.stringify({ source: ['certrotor'] }),
    }),
  );
  await client.send(
    new PutTargetsCommand({
      Rule: 'every-certrotor-event',
      EventBusName: bus,
      Targets: [{ Id: 'sink', Arn: `arn:aws:sqs:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:${queue}` }],
    }),
  );
  return {
    bus,
    async drain() {
      const out: ReceivedEvent[] = [];
      for (;;) {
        const { Messages = [] } = await sqs<{ Messages?: { Body: string; ReceiptHandle: string }[] }>(
          'ReceiveMessage',
          { QueueUrl, MaxNumberOfMessages: 10 },
        );
        if (Messages.length === 0) return out;
        for (const message of Messages) {
          out.push(JSON.parse(message.Body) as ReceivedEvent);
          await sqs('DeleteMessage', { QueueUrl, ReceiptHandle: message.ReceiptHandle });
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Process output: Powertools writes JSON log lines and EMF metrics to stdout
// ---------------------------------------------------------------------------------------------

export interface CapturedOutput {
  /** Everything written so far. */
  text(): string;
  /** The JSON lines written so far (log records and EMF documents). */
  records(): Record<string, unknown>[];
  restore(): void;
}

/** Captures (and silences) stdout and stderr writes of this process until `restore`. */
export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as never),
  );
  return {
    text: () => chunks.join(''),
    records: () =>
      chunks
        .join('')
        .split('\n')
        .flatMap((line) => {
          try {
            const parsed = JSON.parse(line) as unknown;
            return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
          } catch {
            return [];
          }
        }),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}
