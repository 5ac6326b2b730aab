/**
 * Probing past one function: a fleet's endpoints split into shards that each fit one probe function's
 * memory and time, fanned out by the probe-shards workflow (lib/constructs/probe-shards.ts). The
 * workflow's state carries only references (a shard's index, the shard count and the endpoint count
 * it was planned for), never endpoint lists: each shard reads the configuration itself and takes its
 * own contiguous range of the configured endpoints. Every endpoint is in exactly one shard.
 *
 * Findings across shards: a shard observes and records only its own endpoints' places, so it never
 * touches what another shard's endpoints served (a place's last observation stays until its own shard
 * sees it again, and an alert is resolved only once each of its places was observed again). Alerts
 * are deduplicated in the state table across shards. The sweep's heartbeat (the dead man's switch)
 * is emitted once, by the `probe-complete` task after every shard succeeded, never per shard.
 */

/** How many endpoints one probe invocation takes by default: well within a function's 15 minutes. */
export const DEFAULT_PROBE_SHARD_SIZE = 1000;

export interface ProbeShard {
  readonly index: number;
  readonly of: number;
  /** How many endpoints the plan saw; a shard that sees another count says so in its summary. */
  readonly endpoints: number;
}

export interface ProbeShardPlan {
  readonly endpoints: number;
  readonly shards: readonly ProbeShard[];
}

/** What one shard task returns (the workflow keeps these counts, never endpoint lists). */
export interface ProbeShardResult {
  readonly index: number;
  readonly probed: number;
  readonly failed: number;
}

export type ProbeShardRequest =
  | { readonly job: 'probe-plan'; readonly shardSize?: number }
  | { readonly job: 'probe-shard'; readonly shard: ProbeShard }
  | { readonly job: 'probe-complete'; readonly shards: readonly ProbeShardResult[] };

/** The jobs of the sharded probe workflow (the scheduler's own `{ job: 'probe' }` is a whole sweep). */
export const PROBE_SHARD_JOBS: readonly string[] = ['probe-plan', 'probe-shard', 'probe-complete'];

/** The shards of `endpoints` endpoints, at most `shardSize` each (at least one shard, even when empty). */
export function planProbeShards(endpoints: number, shardSize = DEFAULT_PROBE_SHARD_SIZE): ProbeShardPlan {
  if (!Number.isInteger(endpoints) || endpoints < 0)
    throw new RangeError(`endpoint count ${endpoints} is not a count`);
  if (!Number.isInteger(shardSize) || shardSize < 1)
    throw new RangeError(`shard size ${shardSize} must be at least 1`);
  const of = Math.max(1, Math.ceil(endpoints / shardSize));
  return { endpoints, shards: Array.from({ length: of }, (_, index) => ({ index, of, endpoints })) };
}

/** The shard's own contiguous range of `endpoints` (balanced: sizes differ by at most one). */
export function endpointsOfShard<T>(endpoints: readonly T[], shard: Pick<ProbeShard, 'index' | 'of'>): T[] {
  if (
    !Number.isInteger(shard.of) ||
    shard.of < 1 ||
    !Number.isInteger(shard.index) ||
    shard.index < 0 ||
    shard.index >= shard.of
  )
    throw new RangeError(`shard ${shard.index} of ${shard.of} does not exist`);
  const start = Math.floor((shard.index * endpoints.length) / shard.of);
  const end = Math.floor(((shard.index + 1) * endpoints.length) / shard.of);
  return endpoints.slice(start, end);
}

/** A workflow task's input, checked: one clear line for anything else. */
export function parseProbeShardRequest(input: unknown): ProbeShardRequest {
  const value = input as { job?: unknown; shardSize?: unknown; shard?: Partial<ProbeShard> } | null;
  if (value?.job === 'probe-plan') {
    if (
      value.shardSize !== undefined &&
      (!Number.isInteger(value.shardSize) || (value.shardSize as number) < 1)
    )
      throw new RangeError(
        `probe-plan: shardSize ${String(value.shardSize)} must be a whole number of at least 1`,
      );
    return {
      job: 'probe-plan',
      ...(value.shardSize !== undefined ? { shardSize: value.shardSize as number } : {}),
    };
  }
  if (value?.job === 'probe-shard') {
    const shard = value.shard;
    const whole = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
    if (
      !shard ||
      !whole(shard.index) ||
      !whole(shard.of) ||
      !whole(shard.endpoints) ||
      shard.index! >= shard.of!
    )
      throw new RangeError(`probe-shard: shard must be { index, of, endpoints } with 0 ≤ index < of`);
    return { job: 'probe-shard', shard: { index: shard.index!, of: shard.of!, endpoints: shard.endpoints! } };
  }
  if (value?.job === 'probe-complete') {
    const shards = (value as { shards?: unknown }).shards;
    const count = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
    if (
      !Array.isArray(shards) ||
      !shards.every(
        (s: Partial<ProbeShardResult> | null) => s && count(s.index) && count(s.probed) && count(s.failed),
      )
    )
      throw new RangeError('probe-complete: shards must be a list of { index, probed, failed }');
    return {
      job: 'probe-complete',
      shards: (shards as ProbeShardResult[]).map(({ index, probed, failed }) => ({ index, probed, failed })),
    };
  }
  throw new RangeError(
    `probe shards: job must be probe-plan, probe-shard or probe-complete, got ${JSON.stringify(value?.job)}`,
  );
}
