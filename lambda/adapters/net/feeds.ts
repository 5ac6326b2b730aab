/**
 * Fetches status-page feeds: http(s) with a timeout, redirects (at most 5), the environment's proxy
 * and a body size cap (the body is read as a stream and the connection dropped as soon as the cap is
 * passed), or `file:` URLs for local testing and
 * air-gapped setups. Parsing is the domain's (feed-parsing.ts); this only brings the text.
 */
import { readFile, stat } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { fileURLToPath } from 'node:url';
import { OperationError } from '../../domain/errors';
import {
  DEFAULT_FEED_MAX_BYTES,
  type FeedParseResult,
  type FeedKind,
  parseFeed,
} from '../../domain/upstream/feed-parsing';
import type { FeedFetcher } from '../../domain/ports';
import { proxyRouteFor } from './proxy';

export const DEFAULT_FEED_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 5;

export interface HttpFeedFetcherOptions {
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default DEFAULT_FEED_MAX_BYTES */
  readonly maxBytes?: number;
  /** @default `certrotor (upstream feed watcher)` */
  readonly userAgent?: string;
  /** Where `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

interface FeedResponse {
  readonly status: number;
  readonly location?: string;
  readonly contentLength?: number;
  readonly body: http.IncomingMessage;
}

/**
 * Feeds are fetched with node:http(s) rather than `fetch` so they take the same proxy route as every
 * other outbound call (`net/proxy.ts`): a CONNECT tunnel for https, the absolute URL to the proxy for
 * plain http, direct for `NO_PROXY` hosts.
 */
export class HttpFeedFetcher implements FeedFetcher {
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly userAgent: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: HttpFeedFetcherOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FEED_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? DEFAULT_FEED_MAX_BYTES;
    this.userAgent = options.userAgent ?? 'certrotor (upstream feed watcher)';
    this.env = options.env ?? process.env;
  }

  async fetchText(url: string): Promise<string> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      throw new OperationError('fetch feed', url, 'is not a URL', { cause: error });
    }
    if (parsed.protocol === 'file:') return this.readLocal(url, parsed);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new OperationError('fetch feed', url, `unsupported scheme ${parsed.protocol}`);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      let target = parsed;
      for (let redirects = 0; ; redirects++) {
        const response = await this.get(target, controller.signal);
        if (response.status >= 300 && response.status < 400 && response.location !== undefined) {
          response.body.resume();
          if (redirects >= MAX_REDIRECTS) {
            throw new OperationError('fetch feed', url, `more than ${MAX_REDIRECTS} redirects`);
          }
          target = new URL(response.location, target);
          if (target.protocol !== 'http:' && target.protocol !== 'https:') {
            throw new OperationError(
              'fetch feed',
              url,
              `redirected to unsupported scheme ${target.protocol}`,
            );
          }
          continue;
        }
        if (response.status < 200 || response.status >= 300) {
          response.body.destroy();
          throw new OperationError('fetch feed', url, `HTTP ${response.status}`);
        }
        if (response.contentLength !== undefined && response.contentLength > this.maxBytes) {
          response.body.destroy();
          throw new OperationError(
            'fetch feed',
            url,
            `body of ${response.contentLength} bytes exceeds the ${this.maxBytes}-byte limit`,
          );
        }
        return await this.readCapped(url, response.body);
      }
    } catch (error) {
      if (error instanceof OperationError) throw error;
      if (controller.signal.aborted) {
        throw new OperationError('fetch feed', url, `timed out after ${this.timeoutMs} ms`, { cause: error });
      }
      const code = (error as NodeJS.ErrnoException).code;
      const why = code ?? (error instanceof Error ? error.message : String(error));
      throw new OperationError('fetch feed', url, `request failed (${why})`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  private get(url: URL, signal: AbortSignal): Promise<FeedResponse> {
    const headers = {
      'user-agent': this.userAgent,
      accept: 'application/json, application/atom+xml, application/rss+xml, text/xml;q=0.9, */*;q=0.5',
    };
    const route = proxyRouteFor(url, this.env);
    return new Promise<FeedResponse>((resolve, reject) => {
      const onResponse = (response: http.IncomingMessage) => {
        const length = Number(response.headers['content-length'] ?? NaN);
        resolve({
          status: response.statusCode ?? 0,
          ...(typeof response.headers.location === 'string' ? { location: response.headers.location } : {}),
          ...(Number.isFinite(length) ? { contentLength: length } : {}),
          body: response,
        });
      };
      const request = route?.viaProxy
        ? http.request(
            { ...route.viaProxy, method: 'GET', headers: { ...route.viaProxy.headers, ...headers }, signal },
            onResponse,
          )
        : (url.protocol === 'https:' ? https : http).request(
            url,
            { method: 'GET', headers, signal, ...(route?.agent ? { agent: route.agent } : {}) },
            onResponse,
          );
      request.once('error', reject);
      request.end();
    });
  }

  private async readCapped(url: string, body: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > this.maxBytes) {
        body.destroy();
        throw new OperationError('fetch feed', url, `body exceeds the ${this.maxBytes}-byte limit`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async readLocal(url: string, parsed: URL): Promise<string> {
    const path = fileURLToPath(parsed);
    try {
      const info = await stat(path);
      if (info.size > this.maxBytes) {
        throw new OperationError(
          'fetch feed',
          url,
          `file of ${info.size} bytes exceeds the ${this.maxBytes}-byte limit`,
        );
      }
      return await readFile(path, 'utf8');
    } catch (error) {
      if (error instanceof OperationError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new OperationError(
        'fetch feed',
        url,
        code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(error)})`,
        { cause: error },
      );
    }
  }
}

/** Fetches and parses one feed. */
export async function fetchFeed(
  fetcher: FeedFetcher,
  feed: {
    readonly kind: FeedKind;
    readonly url: string;
    readonly match?: readonly string[];
    readonly components?: readonly string[];
  },
  upstream: string,
  maxBytes?: number,
): Promise<FeedParseResult> {
  const text = await fetcher.fetchText(feed.url);
  return parseFeed(text, {
    kind: feed.kind,
    upstream,
    feedName: feed.url,
    ...(feed.match ? { match: feed.match } : {}),
    ...(feed.components ? { components: feed.components } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  });
}
