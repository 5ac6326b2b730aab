/**
 * Worker threads that run fresh handshakes, so a large scan uses more than one core. Each worker runs
 * the very same `freshHandshake` the main thread runs (shipped as source text, which also keeps this
 * working from a single-file bundle), with secure contexts built from the same specification; the
 * main thread still resolves names, parses certificates and builds results. Idle workers are unref'd:
 * they never hold a process open.
 */
import { Worker } from 'node:worker_threads';
import { freshHandshake, type HandshakeJob, type HandshakeOutcome } from './tls-handshake';

/** What a secure context is built from: plain data, so a worker can build its own copy. */
export interface ContextSpec {
  readonly ca?: string[];
  readonly cert?: string;
  readonly key?: string;
  readonly secureOptions: number;
  /** Key exchange groups offered, in order (OpenSSL's list syntax). */
  readonly ecdhCurve?: string;
  /** TLS 1.3 cipher suites offered, in order. */
  readonly ciphersuites?: string;
}

// Messages travel in batches, both ways: every job started in one turn of the caller's event loop
// goes in one message, and every outcome a worker has in one turn of its loop comes back in one.
// Each message costs a wake-up and a dispatch on the other side, which under load cost more than
// the copying.
const WORKER_SOURCE = `'use strict';
const { parentPort } = require('node:worker_threads');
const tls = require('node:tls');
const freshHandshake = (${freshHandshake.toString()});
const contexts = new Map();
let outbox = [];
const flush = () => {
  const batch = outbox;
  outbox = [];
  parentPort.postMessage(batch);
};
const send = (id, outcome) => {
  if (outbox.push({ id, outcome }) === 1) setImmediate(flush);
};
parentPort.on('message', (batch) => {
  for (const message of batch) {
    if (message.type === 'context') {
      contexts.set(message.id, tls.createSecureContext(message.spec));
      continue;
    }
    freshHandshake(tls, message.job, contexts.get(message.contextId)).then(
      (outcome) => send(message.id, outcome),
      (error) => send(message.id, {
        ok: false, failure: 'error', stage: 'connect', message: String(error && error.message || error),
      }),
    );
  }
});
`;

/** Young generation of each worker's heap, in MB (see `spawn`). */
const WORKER_YOUNG_GENERATION_MB = 2;

type ToWorker =
  | { readonly type: 'context'; readonly id: number; readonly spec: ContextSpec }
  | { readonly type: 'job'; readonly id: number; readonly job: HandshakeJob; readonly contextId: number };

interface PoolWorker {
  readonly worker: Worker;
  readonly contexts: Set<number>;
  readonly pending: Map<number, (outcome: HandshakeOutcome) => void>;
  /** Messages not posted yet: they leave together once this turn of the event loop is over. */
  outbox: ToWorker[];
  dead: boolean;
}

export class HandshakeWorkers {
  private readonly workers: PoolWorker[] = [];
  private nextJob = 0;

  constructor(private readonly size: number) {}

  /** Handshakes waiting on a worker right now. */
  get inFlight(): number {
    return this.workers.reduce((sum, w) => sum + w.pending.size, 0);
  }

  run(
    job: HandshakeJob,
    context: { readonly id: number; readonly spec: ContextSpec },
  ): Promise<HandshakeOutcome> {
    const target = this.pick();
    if (!target.contexts.has(context.id)) {
      this.post(target, { type: 'context', id: context.id, spec: context.spec });
      target.contexts.add(context.id);
    }
    const id = this.nextJob++;
    return new Promise<HandshakeOutcome>((resolve) => {
      if (target.pending.size === 0) target.worker.ref();
      target.pending.set(id, resolve);
      this.post(target, { type: 'job', id, job, contextId: context.id });
    });
  }

  private post(target: PoolWorker, message: ToWorker): void {
    if (target.outbox.push(message) > 1) return;
    setImmediate(() => {
      const batch = target.outbox;
      target.outbox = [];
      if (!target.dead) target.worker.postMessage(batch);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  /** The least busy live worker, starting another while the pool is below its size. */
  private pick(): PoolWorker {
    for (let i = this.workers.length - 1; i >= 0; i--) if (this.workers[i]!.dead) this.workers.splice(i, 1);
    let best: PoolWorker | undefined;
    for (const w of this.workers) if (!best || w.pending.size < best.pending.size) best = w;
    if (!best || (best.pending.size > 0 && this.workers.length < this.size)) best = this.spawn();
    return best;
  }

  private spawn(): PoolWorker {
    // A small young generation: a handshake's objects die young and are collected (with the native
    // TLS memory they hold) within milliseconds, so a long sweep's memory stays flat instead of
    // growing until a full collection (10,000 endpoints: +21 MB instead of +72 MB, same CPU).
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    const entry: PoolWorker = { worker, contexts: new Set(), pending: new Map(), outbox: [], dead: false };
    worker.unref();
    worker.on('message', (batch: readonly { id: number; outcome: HandshakeOutcome }[]) => {
      for (const { id, outcome } of batch) {
        const resolve = entry.pending.get(id);
        if (!resolve) continue;
        entry.pending.delete(id);
        resolve(outcome);
      }
      if (entry.pending.size === 0) worker.unref();
    });
    const fail = (why: string) => {
      entry.dead = true;
      for (const resolve of entry.pending.values()) {
        resolve({ ok: false, failure: 'error', stage: 'connect', message: `probe worker ${why}` });
      }
      entry.pending.clear();
    };
    worker.on('error', (error) => fail(`failed: ${error.message}`));
    worker.on('exit', (code) => fail(`exited (${code})`));
    this.workers.push(entry);
    return entry;
  }
}
