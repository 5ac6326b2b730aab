/**
 * The Powertools wiring every handler goes through: the Lambda context in the logs, one ColdStart
 * metric per container, errors rethrown, results returned as they are.
 */
// Powertools counts cold starts only where Lambda says the container started on demand.
process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';

async function wiring() {
  const { instrumented } = await import('../../lambda/handlers/support/instrumented');
  const { logger } = await import('../../lambda/handlers/support/runtime');
  return { instrumented, logger };
}

const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'certrotor-probe',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:certrotor-probe',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/certrotor-probe',
  logStreamName: '2026/12/03/[$LATEST]abc',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

function captureStdout(): { lines: () => Record<string, unknown>[]; restore: () => void } {
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  return {
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    restore: () => {
      process.stdout.write = original;
    },
  };
}

describe('the Powertools wiring of every handler', () => {
  it('logs with the Lambda context and publishes one ColdStart metric per container', async () => {
    const { instrumented, logger } = await wiring();
    const out = captureStdout();
    const handler = instrumented(async (event: { n: number }) => {
      logger.info('working', { n: event.n });
      return event.n * 2;
    });
    let results: number[];
    try {
      results = [await handler({ n: 1 }, context as never), await handler({ n: 2 }, context as never)];
    } finally {
      out.restore();
    }

    expect(results).toEqual([2, 4]);
    const lines = out.lines();
    const logs = lines.filter((l) => l.message === 'working');
    expect(logs).toHaveLength(2);
    for (const log of logs)
      expect(log).toMatchObject({
        function_name: 'certrotor-probe',
        function_request_id: context.awsRequestId,
        cold_start: expect.any(Boolean),
      });
    const coldStarts = lines.filter((l) => 'ColdStart' in l);
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]).not.toHaveProperty('function_name');
  });

  it('rethrows what the handler throws', async () => {
    const { instrumented } = await wiring();
    const handler = instrumented(async () => {
      throw new Error('the probe could not start');
    });
    await expect(handler(undefined, context as never)).rejects.toThrow('the probe could not start');
  });
});
