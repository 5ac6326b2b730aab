import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HttpFeedFetcher } from '../../../lambda/adapters/net/feeds';
import { OperationError } from '../../../lambda/domain/errors';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
let server: http.Server;
let base: string;
const pending: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    if (request.url === '/feed.json') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"scheduled_maintenances":[]}');
    } else if (request.url === '/moved') {
      response.writeHead(301, { location: '/feed.json' }).end();
    } else if (request.url === '/loop') {
      response.writeHead(302, { location: '/loop' }).end();
    } else if (request.url === '/slow') {
      pending.push(response); // never answers
    } else if (request.url === '/endless') {
      response.writeHead(200); // no content-length: the cap must hold while streaming
      const chunk = 'x'.repeat(64 * 1024);
      const pump = () => {
        while (response.write(chunk)) {
          if (response.writableLength > 10 * 1024 * 1024) return;
        }
        response.once('drain', pump);
      };
      response.on('error', () => undefined);
      pump();
    } else if (request.url === '/declared-large') {
      response.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
      response.write('x');
    } else {
      response.writeHead(503).end('down');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  pending.forEach((r) => r.destroy());
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('HttpFeedFetcher', () => {
  it('returns the body of a feed', async () => {
    // Act / Assess
    expect(await new HttpFeedFetcher().fetchText(`${base}/feed.json`)).toBe('{"scheduled_maintenances":[]}');
  });

  it('follows a redirect to the feed', async () => {
    expect(await new HttpFeedFetcher().fetchText(`${base}/moved`)).toBe('{"scheduled_maintenances":[]}');
  });

  it('gives up on a redirect loop after five redirects, naming the URL', async () => {
    await expect(new HttpFeedFetcher().fetchText(`${base}/loop`)).rejects.toThrow(
      /fetch feed http:\/\/127\.0\.0\.1:\d+\/loop: more than 5 redirects/,
    );
  });

  it.each([
    ['an error status', '/missing', /fetch feed http:\/\/127\.0\.0\.1:\d+\/missing: HTTP 503/],
    ['a body larger than the cap while streaming', '/endless', /body exceeds the 1048576-byte limit/],
    ['a declared length above the cap', '/declared-large', /body of 52428800 bytes exceeds/],
    ['a server that never answers', '/slow', /timed out after 200 ms/],
  ])('fails with a message naming the URL on %s', async (_name, path, message) => {
    // Prepare
    const fetcher = new HttpFeedFetcher({ timeoutMs: 200, maxBytes: 1024 * 1024 });

    // Act
    const failure = fetcher.fetchText(`${base}${path}`);

    // Assess
    await expect(failure).rejects.toThrow(OperationError);
    await expect(failure).rejects.toThrow(message);
  });

  it('reads file URLs with the same cap', async () => {
    // Prepare
    const dir = await temp.make('feeds');
    writeFileSync(join(dir, 'small.xml'), '<rss/>');
    writeFileSync(join(dir, 'big.xml'), 'x'.repeat(2048));
    const fetcher = new HttpFeedFetcher({ maxBytes: 1024 });

    // Act / Assess
    expect(await fetcher.fetchText(pathToFileURL(join(dir, 'small.xml')).href)).toBe('<rss/>');
    await expect(fetcher.fetchText(pathToFileURL(join(dir, 'big.xml')).href)).rejects.toThrow(
      /exceeds the 1024-byte limit/,
    );
    await expect(fetcher.fetchText(pathToFileURL(join(dir, 'none.xml')).href)).rejects.toThrow(
      /no such file/,
    );
  });

  it('refuses other schemes', async () => {
    // Act / Assess
    await expect(new HttpFeedFetcher().fetchText('ftp://example.com/feed')).rejects.toThrow(
      /unsupported scheme ftp:/,
    );
  });
});
