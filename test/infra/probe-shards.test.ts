/**
 * The sharded probe workflow as `cdk synth` writes it, executed locally (aws-local-stepfunctions)
 * over 50,000 synthetic endpoints: the plan task runs the real shard planner, each shard task runs
 * the real shard selection and a fake probe that records what it probed. Every endpoint is probed
 * exactly once, the sweep completes once (one heartbeat), and no state payload comes near Step
 * Functions' 256 KB limit.
 */
import { App, Stack, aws_lambda as lambda } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { ProbeShards } from '../../lib/constructs/probe-shards';
import {
  endpointsOfShard,
  parseProbeShardRequest,
  planProbeShards,
} from '../../lambda/use-cases/probe-shards';

const ENDPOINTS = Array.from({ length: 50_000 }, (_, i) => ({
  host: `host-${i}.fleet.internal`,
  port: 443 + (i % 3),
}));
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:certrotor-probe';

function synthesize(props: { shardSize?: number; maxConcurrency?: number } = {}) {
  const app = new App();
  const stack = new Stack(app, 'ProbeShardsTest', { env: { account: '123456789012', region: 'us-east-1' } });
  const probe = new lambda.Function(stack, 'Probe', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  new ProbeShards(stack, 'ProbeShards', { probe, ...props });
  const template = Template.fromStack(stack);
  const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]!;
  const [, parts] = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts.map((part) => (typeof part === 'string' ? part : FUNCTION_ARN)).join('');
  return JSON.parse(text) as { States: Record<string, { Type: string; MaxConcurrency?: number }> };
}

describe('the sharded probe workflow', () => {
  it('probes each of 50,000 endpoints exactly once, one shard per invocation, with small state payloads', async () => {
    // Prepare
    const definition = synthesize({ shardSize: 1000, maxConcurrency: 10 });
    const probedTimes = new Uint8Array(ENDPOINTS.length);
    const index = new Map(ENDPOINTS.map((e, i) => [e, i]));
    let invocations = 0;
    let largestShard = 0;
    let heartbeats = 0;
    const handler = async (input: unknown) => {
      const request = parseProbeShardRequest(input);
      if (request.job === 'probe-plan') return planProbeShards(ENDPOINTS.length, request.shardSize);
      if (request.job === 'probe-complete') {
        heartbeats++;
        return { swept: request.shards.reduce((sum, s) => sum + s.probed, 0) };
      }
      invocations++;
      const mine = endpointsOfShard(ENDPOINTS, request.shard);
      largestShard = Math.max(largestShard, mine.length);
      for (const endpoint of mine) probedTimes[index.get(endpoint)!]! += 1;
      return { index: request.shard.index, probed: mine.length, failed: 0 };
    };
    const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });

    // Act
    const run = machine.run({} as never, {
      overrides: {
        taskResourceLocalHandlers: { PlanShards: handler, ProbeShard: handler, CompleteSweep: handler },
      } as never,
    });
    let largestPayload = 0;
    const logging = (async () => {
      for await (const event of run.eventLogs) {
        const e = event as { state?: { input?: unknown; output?: unknown } };
        for (const payload of [e.state?.input, e.state?.output])
          if (payload !== undefined)
            largestPayload = Math.max(largestPayload, Buffer.byteLength(JSON.stringify(payload)));
      }
    })();
    const output = (await run.result) as { shards: { index: number; probed: number }[] };
    await logging;

    // Assess
    expect(probedTimes.every((n) => n === 1)).toBe(true);
    expect(invocations).toBe(50);
    expect(heartbeats).toBe(1);
    expect(largestShard).toBe(1000);
    expect(output.shards.map((s) => s.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(output.shards.reduce((sum, s) => sum + s.probed, 0)).toBe(ENDPOINTS.length);
    expect(largestPayload).toBeLessThan(16 * 1024);
    expect(definition.States.ProbeEachShard).toMatchObject({ Type: 'Map', MaxConcurrency: 10 });
  });
});

describe('probe shards', () => {
  it.each([
    [0, 1000],
    [1, 1000],
    [999, 1000],
    [1001, 1000],
    [50_000, 7],
    [12_345, 1000],
  ])('split %i endpoints into shards of at most %i covering each endpoint once', (count, size) => {
    // Prepare
    const endpoints = Array.from({ length: count }, (_, i) => i);

    // Act
    const plan = planProbeShards(count, size);
    const covered = plan.shards.flatMap((s) => endpointsOfShard(endpoints, s));

    // Assess
    expect(covered).toEqual(endpoints);
    expect(Math.max(...plan.shards.map((s) => endpointsOfShard(endpoints, s).length))).toBeLessThanOrEqual(
      size,
    );
  });

  it('refuses a task input that is neither a plan nor a shard, in one line naming the problem', () => {
    expect(() =>
      parseProbeShardRequest({ job: 'probe-shard', shard: { index: 3, of: 3, endpoints: 9 } }),
    ).toThrow('probe-shard: shard must be { index, of, endpoints } with 0 ≤ index < of');
    expect(() => parseProbeShardRequest({ job: 'scan' })).toThrow(
      'probe shards: job must be probe-plan, probe-shard or probe-complete, got "scan"',
    );
  });
});
