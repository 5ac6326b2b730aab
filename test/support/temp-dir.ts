/**
 * Temporary directories for tests: created under the OS temp dir, removed when the suite ends.
 *
 *   const temp = useTempDirs();            // registers afterAll cleanup in the current describe
 *   const dir = await temp.make('state');  // a fresh empty directory
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDirs {
  /** A fresh empty directory whose name starts with `certrotor-<label>-`. */
  make(label?: string): Promise<string>;
  /** Removes every directory made so far. Called automatically after the suite. */
  cleanup(): Promise<void>;
}

export function createTempDirs(): TempDirs {
  const made: string[] = [];
  return {
    async make(label = 'test') {
      const dir = await mkdtemp(join(tmpdir(), `certrotor-${label.replace(/[^a-z0-9-]/gi, '-')}-`));
      made.push(dir);
      return dir;
    },
    async cleanup() {
      const dirs = made.splice(0);
      // Retried: a process a test stopped may still be closing a file inside (ENOTEMPTY, EBUSY).
      await Promise.all(
        dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })),
      );
    },
  };
}

/** Temp dirs removed in `afterAll` of the enclosing describe block (or the file, at top level). */
export function useTempDirs(): TempDirs {
  const dirs = createTempDirs();
  afterAll(() => dirs.cleanup());
  return dirs;
}
