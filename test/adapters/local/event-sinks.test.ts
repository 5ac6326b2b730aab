import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import {
  FanOutPublisher,
  JsonlFileEventPublisher,
  readEventsFile,
  StdoutEventPublisher,
  StreamEventPublisher,
} from '../../../lambda/adapters/local/event-sinks';
import type { EventPublisher, OutgoingEvent, PublishReport } from '../../../lambda/domain/ports';
import { buildEvent, describeEventPublisherContract } from '../../contracts/event-publisher-contract';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();

function capturingStream(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

function parseLines(text: string): OutgoingEvent[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as OutgoingEvent);
}

function brokenStream(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback(new Error('EPIPE: broken pipe'));
    },
  });
}

class ThrowingPublisher implements EventPublisher {
  readonly name = 'throwing';
  async publish(): Promise<PublishReport> {
    throw new Error('connection refused\nat some stack line');
  }
}

describeEventPublisherContract(
  'stream publisher',
  async () => {
    const capture = capturingStream();
    return {
      publisher: new StreamEventPublisher({ stream: capture.stream }),
      received: async () => parseLines(capture.text()),
    };
  },
  {
    failingFactory: async () => ({
      publisher: new StreamEventPublisher({ stream: brokenStream() }),
      received: async () => [],
    }),
  },
);

describeEventPublisherContract(
  'JSONL file publisher',
  async () => {
    const path = join(await temp.make('events'), 'logs', 'events.jsonl');
    return { publisher: new JsonlFileEventPublisher({ path }), received: () => readEventsFile(path) };
  },
  {
    failingFactory: async () => {
      // A directory where the file should be: every open fails.
      const path = join(await temp.make('events'), 'events.jsonl');
      await mkdir(path);
      return { publisher: new JsonlFileEventPublisher({ path }), received: async () => [] };
    },
  },
);

describeEventPublisherContract(
  'fan-out publisher',
  async () => {
    const dir = await temp.make('events');
    const capture = capturingStream();
    return {
      publisher: new FanOutPublisher([
        new JsonlFileEventPublisher({ path: join(dir, 'events.jsonl') }),
        new StreamEventPublisher({ stream: capture.stream }),
      ]),
      received: () => readEventsFile(join(dir, 'events.jsonl')),
    };
  },
  {
    failingFactory: async () => ({
      publisher: new FanOutPublisher([
        new StreamEventPublisher({ stream: brokenStream() }),
        new ThrowingPublisher(),
      ]),
      received: async () => [],
    }),
  },
);

describe('stream publisher', () => {
  it('writes human lines through a formatter, one per event', async () => {
    const capture = capturingStream();
    const publisher = new StreamEventPublisher({
      stream: capture.stream,
      format: (e) => `${e.detailType}: ${String(e.detail.certificate)}\nsecond line folded`,
    });

    await publisher.publish([buildEvent(1), buildEvent(2)]);

    expect(capture.text()).toBe(
      'Certificate Expiring: api-1 second line folded\nCertificate Expiring: api-2 second line folded\n',
    );
  });

  it('reports a formatter that throws as a failure of that event only', async () => {
    const capture = capturingStream();
    const publisher = new StreamEventPublisher({
      stream: capture.stream,
      format: (e) => {
        if (e.detail.certificate === 'api-2') throw new Error('cannot render');
        return String(e.detail.certificate);
      },
    });

    const report = await publisher.publish([buildEvent(1), buildEvent(2), buildEvent(3)]);

    expect(report.published).toBe(2);
    expect(report.failed.map((f) => [f.event.detail.certificate, f.error])).toEqual([
      ['api-2', 'stdout: cannot render'],
    ]);
    expect(capture.text()).toBe('api-1\napi-3\n');
  });

  it('writes to stdout by default', async () => {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((
      chunk: string,
      callback?: (error?: Error | null) => void,
    ) => {
      writes.push(chunk);
      callback?.();
      return true;
    }) as typeof process.stdout.write);
    try {
      const report = await new StdoutEventPublisher().publish([buildEvent(1)]);

      expect(report).toEqual({ published: 1, failed: [] });
      expect(parseLines(writes.join(''))).toEqual([JSON.parse(JSON.stringify(buildEvent(1)))]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('JSONL file publisher', () => {
  it('appends to an existing file, creating it 0600 in a directory of its own (0700)', async () => {
    const path = join(await temp.make('events'), 'new', 'events.jsonl');
    const first = new JsonlFileEventPublisher({ path });
    const second = new JsonlFileEventPublisher({ path });

    await first.publish([buildEvent(1)]);
    await second.publish([buildEvent(2)]);

    expect((await readEventsFile(path)).map((e) => e.detail.certificate)).toEqual(['api-1', 'api-2']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);
  });

  it('never widens the directory it publishes into, and takes away what others could read of the file', async () => {
    const dir = await temp.make('events');
    const path = join(dir, 'events.jsonl');
    await chmod(dir, 0o750);
    await writeFile(path, '', { mode: 0o644 });
    await chmod(path, 0o644);

    await new JsonlFileEventPublisher({ path }).publish([buildEvent(1)]);

    expect((await stat(dir)).mode & 0o777).toBe(0o750);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it('reads back past a torn last line that a crash mid-append would leave', async () => {
    const path = join(await temp.make('events'), 'events.jsonl');
    await new JsonlFileEventPublisher({ path }).publish([buildEvent(1)]);
    await writeFile(path, (await readFile(path, 'utf8')) + '{"source":"certrotor","detailTy');

    const events = await readEventsFile(path);

    expect(events.map((e) => e.detail.certificate)).toEqual(['api-1']);
  });

  it('reads an absent file as no events', async () => {
    expect(await readEventsFile(join(await temp.make('events'), 'none.jsonl'))).toEqual([]);
  });

  it('names the file when it cannot be opened', async () => {
    const path = join(await temp.make('events'), 'events.jsonl');
    await mkdir(path);

    const report = await new JsonlFileEventPublisher({ path }).publish([buildEvent(1)]);

    expect(report.failed[0]?.error).toMatch(new RegExp(`^jsonl: cannot open ${path}: .*EISDIR`));
  });
});

describe('fan-out publisher', () => {
  it('isolates failing sinks: the healthy one gets every event and each failure is named per event', async () => {
    const dir = await temp.make('events');
    const healthy = new JsonlFileEventPublisher({ path: join(dir, 'events.jsonl') });
    const fanOut = new FanOutPublisher([
      new StreamEventPublisher({ name: 'slack', stream: brokenStream() }),
      healthy,
      new ThrowingPublisher(),
    ]);
    const events = [buildEvent(1), buildEvent(2)];

    const { report, sinks } = await fanOut.publishToEach(events);

    expect((await readEventsFile(healthy.path)).map((e) => e.detail.certificate)).toEqual(['api-1', 'api-2']);
    expect(report.published).toBe(0);
    expect(report.failed.map((f) => f.error)).toEqual([
      'slack: EPIPE: broken pipe; throwing: connection refused',
      'slack: stream is closed after EPIPE: broken pipe; throwing: connection refused',
    ]);
    expect(sinks.map((s) => [s.sink, s.report.published, s.report.failed.length])).toEqual([
      ['slack', 0, 2],
      ['jsonl', 2, 0],
      ['throwing', 0, 2],
    ]);
    expect(fanOut.lastReports).toEqual(sinks);
  });

  it('counts an event published when every sink took it, and names itself after its sinks', async () => {
    const first = capturingStream();
    const second = capturingStream();
    const fanOut = new FanOutPublisher([
      new StreamEventPublisher({ name: 'a', stream: first.stream }),
      new StreamEventPublisher({ name: 'b', stream: second.stream }),
    ]);

    const report = await fanOut.publish([buildEvent(1), buildEvent(2), buildEvent(3)]);

    expect(report).toEqual({ published: 3, failed: [] });
    expect(first.text()).toBe(second.text());
    expect(fanOut.name).toBe('fan-out(a, b)');
  });
});
