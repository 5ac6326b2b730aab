/**
 * Local EventPublisher sinks: a stream (stdout by default), an append-only JSONL file, and a fan-out
 * that sends every event to several sinks. Each reports every event it could not publish with a
 * one-line reason; none throws for a sink failure and none drops an event silently.
 */
import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { describeError } from '../../domain/errors';
import type { EventPublisher, OutgoingEvent, PublishReport } from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import { ensureDirectory } from './atomic-file';

/** Renders one event as one line (without the newline). */
export type EventFormatter = (event: OutgoingEvent) => string;

export const jsonLine: EventFormatter = (event) => JSON.stringify(event);

export interface StreamEventPublisherOptions {
  /** @default 'stdout' */
  readonly name?: string;
  /** @default process.stdout */
  readonly stream?: Writable;
  /** @default one JSON object per line */
  readonly format?: EventFormatter;
}

/** Writes one line per event to a stream: JSON for machines, or whatever `format` renders for people. */
export class StreamEventPublisher implements EventPublisher {
  readonly name: string;
  private readonly stream: Writable;
  private readonly format: EventFormatter;
  private streamError: Error | undefined;

  constructor(options: StreamEventPublisherOptions = {}) {
    this.name = options.name ?? 'stdout';
    this.stream = options.stream ?? process.stdout;
    this.format = options.format ?? jsonLine;
    // A stream error (EPIPE on a closed stdout) is reported per event, never an uncaught exception.
    this.stream.on('error', (error: Error) => (this.streamError ??= error));
  }

  async publish(events: readonly OutgoingEvent[]): Promise<PublishReport> {
    const failed: { event: OutgoingEvent; error: string }[] = [];
    let published = 0;
    for (const event of events) {
      try {
        const line = scrubPrivateKeys(this.format(event));
        await writeLine(this.stream, `${line.replace(/\n/g, ' ')}\n`, this.streamError);
        published++;
      } catch (error) {
        failed.push({ event, error: oneLine(`${this.name}: ${describeError(error)}`) });
      }
    }
    return { published, failed };
  }
}

/** The stream publisher on this process's stdout. */
export class StdoutEventPublisher extends StreamEventPublisher {
  constructor(options: Omit<StreamEventPublisherOptions, 'stream'> = {}) {
    super({ ...options, stream: process.stdout });
  }
}

function writeLine(stream: Writable, line: string, earlier: Error | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new Error(`stream is closed${earlier ? ` after ${describeError(earlier)}` : ''}`));
      return;
    }
    try {
      stream.write(line, (error) => (error ? reject(error) : resolve()));
    } catch (error) {
      reject(error as Error);
    }
  });
}

export interface JsonlFileEventPublisherOptions {
  readonly path: string;
  /** @default 'jsonl' */
  readonly name?: string;
}

/**
 * Appends one JSON line per event to a file and fsyncs before reporting them published. A line is
 * written with a single append, so a reader never sees two events interleaved; a crash can leave at
 * most a torn last line, which `readEventsFile` skips. The file is created 0600 (its directory 0700
 * when certrotor creates it), an existing one loses any access by others, and nothing is widened.
 */
export class JsonlFileEventPublisher implements EventPublisher {
  readonly name: string;
  readonly path: string;

  constructor(options: JsonlFileEventPublisherOptions) {
    this.path = options.path;
    this.name = options.name ?? 'jsonl';
  }

  async publish(events: readonly OutgoingEvent[]): Promise<PublishReport> {
    if (events.length === 0) return { published: 0, failed: [] };
    let handle;
    try {
      // A directory certrotor creates is its own (0700); one that exists keeps the mode it has.
      await ensureDirectory(dirname(this.path), 0o700);
      handle = await open(this.path, 'a', 0o600);
      // Never world-readable, even a file an older version created 0644; never widened.
      const mode = (await handle.stat()).mode & 0o777;
      if (mode & 0o007) await handle.chmod(mode & 0o770);
    } catch (error) {
      return allFailed(events, `${this.name}: cannot open ${this.path}: ${describeError(error)}`);
    }
    const written: OutgoingEvent[] = [];
    const failed: { event: OutgoingEvent; error: string }[] = [];
    try {
      for (const event of events) {
        try {
          await handle.appendFile(`${scrubPrivateKeys(JSON.stringify(event))}\n`);
          written.push(event);
        } catch (error) {
          failed.push({ event, error: oneLine(`${this.name}: write ${this.path}: ${describeError(error)}`) });
        }
      }
      try {
        if (written.length > 0) await handle.sync();
      } catch (error) {
        // Not durable, so not published: the caller retries (readers tolerate a duplicate line).
        const reason = oneLine(`${this.name}: fsync ${this.path}: ${describeError(error)}`);
        failed.push(...written.map((event) => ({ event, error: reason })));
        written.length = 0;
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
    return { published: written.length, failed: inOrder(events, failed) };
  }
}

/** Reads events back from a JSONL file; a torn or blank line (a crash mid-append) is skipped. */
export async function readEventsFile(path: string): Promise<OutgoingEvent[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const events: OutgoingEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as OutgoingEvent);
    } catch {
      // torn line
    }
  }
  return events;
}

/** What one sink reported in a fan-out. */
export interface SinkReport {
  readonly sink: string;
  readonly report: PublishReport;
}

/**
 * Publishes every event to every sink, concurrently; a sink that fails or throws is isolated and
 * the others still receive everything. An event counts as published only when every sink took it;
 * otherwise it is reported once, with each failing sink's reason.
 */
export class FanOutPublisher implements EventPublisher {
  readonly name: string;
  readonly sinks: readonly EventPublisher[];
  private last: readonly SinkReport[] = [];

  constructor(sinks: readonly EventPublisher[], name = `fan-out(${sinks.map((s) => s.name).join(', ')})`) {
    this.sinks = sinks;
    this.name = name;
  }

  /** Per-sink reports of the most recent `publish`. */
  get lastReports(): readonly SinkReport[] {
    return this.last;
  }

  async publish(events: readonly OutgoingEvent[]): Promise<PublishReport> {
    return (await this.publishToEach(events)).report;
  }

  /** The merged report plus what each sink reported. */
  async publishToEach(
    events: readonly OutgoingEvent[],
  ): Promise<{ report: PublishReport; sinks: readonly SinkReport[] }> {
    const sinks = await Promise.all(
      this.sinks.map(async (sink): Promise<SinkReport> => {
        try {
          return { sink: sink.name, report: await sink.publish(events) };
        } catch (error) {
          return { sink: sink.name, report: allFailed(events, `${sink.name}: ${describeError(error)}`) };
        }
      }),
    );
    this.last = sinks;
    const reasons = new Map<OutgoingEvent, string[]>();
    for (const { report } of sinks)
      for (const { event, error } of report.failed)
        reasons.set(event, [...(reasons.get(event) ?? []), error]);
    const failed = events
      .filter((e) => reasons.has(e))
      .map((event) => ({ event, error: oneLine(reasons.get(event)!.join('; ')) }));
    return { report: { published: events.length - failed.length, failed }, sinks };
  }
}

function allFailed(events: readonly OutgoingEvent[], error: string): PublishReport {
  const reason = oneLine(error);
  return { published: 0, failed: events.map((event) => ({ event, error: reason })) };
}

function inOrder(
  events: readonly OutgoingEvent[],
  failed: { event: OutgoingEvent; error: string }[],
): { event: OutgoingEvent; error: string }[] {
  return [...failed].sort((a, b) => events.indexOf(a.event) - events.indexOf(b.event));
}

function oneLine(text: string): string {
  return scrubPrivateKeys(text).replace(/\s*\n\s*/g, ' ');
}
