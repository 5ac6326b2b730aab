/**
 * The lock holder a CLI process records (host, pid, command), and whether a recorded holder on this
 * host is gone: a rotation killed with SIGKILL leaves its lock behind, and the next run on the same
 * host takes it over at once instead of waiting out the lease.
 */
import { hostname } from 'node:os';
import type { LockHolder } from '../../domain/rotation/lock';

export function currentHolder(command: string): LockHolder {
  return { host: hostname(), pid: process.pid, command };
}

/** True only when the holder ran on this host and no process with its pid exists any more. */
export function isLocalHolderGone(holder: LockHolder): boolean {
  if (holder.host !== hostname() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
