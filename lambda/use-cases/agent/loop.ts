/**
 * The agent loop: one cycle, then wait (with jitter) until the next, until stopped.
 */
import type { RandomSource } from '../../domain/ports';
import type { AgentDeps, CycleOptions } from './model';
import { clean, log, runAgentCycle } from './cycle';

export interface AgentLoopControl {
  /**
   * Waits `ms`, or less when triggered on demand (SIGUSR1); resolves `true` when triggered.
   */
  wait(ms: number): Promise<boolean>;
  stopped(): boolean;
}

export interface AgentLoopOptions extends CycleOptions {
  readonly pollIntervalMs: number;
  readonly jitterMs: number;
  readonly random: RandomSource;
}

/**
 * Polls until stopped: a cycle, then the poll interval plus random jitter (so a fleet restarted
 * together does not hit the store at once). A trigger runs the next cycle at once and retries
 * failed versions.
 */
export async function runAgentLoop(
  deps: AgentDeps,
  options: AgentLoopOptions,
  control: AgentLoopControl,
): Promise<void> {
  let force = false;
  // Start with jitter too: agents restarted together spread out from the first poll.
  const first = Math.floor(options.random() * options.jitterMs);
  if (first > 0) force = await control.wait(first);
  while (!control.stopped()) {
    try {
      await runAgentCycle(deps, { ...options, force });
    } catch (error) {
      log(deps, `agent ${deps.host}: cycle failed: ${clean(error)}`);
    }
    if (control.stopped()) break;
    force = await control.wait(options.pollIntervalMs + Math.floor(options.random() * options.jitterMs));
  }
}
