/**
 * Fetches status-page feeds: http(s) with a timeout and a body size cap (the body is read as a stream
 * and the connection dropped as soon as the cap is passed), or `file:` URLs for local testing and
 * air-gapped setups. Parsing is the domain's (feed-parsing.ts); this only brings the text.
 */
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { OperationError } from '../../domain/errors';
import {
  DEFAULT_FEED_MAX_BYTES,
  type FeedParseResult,
  type FeedKind,
  parseFeed,
} from '../../domain/upstream/feed-parsing';
import type { FeedFetcher } from '../../domain/ports';

export const DEFAULT_FEED_TIMEOUT_MS = 10_000;

export interface HttpFeedFetcherOptions {
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default DEFAULT_FEED_MAX_BYTES */
  readonly maxBytes?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default `certrotor (upstream feed watcher)` */
  readonly userAgent?: string;
}

export class HttpFeedFetcher implements FeedFetcher {
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly fetchImpl: typeof fetch;
  private readonly userAgent: string;

  constructor(options: HttpFeedFetcherOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FEED_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? DEFAULT_FEED_MAX_BYTES;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.userAgent = options.userAgent ?? 'certrotor (upstream feed watcher)';
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
      const response = await this.fetchImpl(url, {
        signal: controller.signal,
        redirect: 'follow',
        headers: {
          'user-agent': this.userAgent,
          accept: 'application/json, application/atom+xml, application/rss+xml, text/xml;q=0.9, */*;q=0.5',
        },
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new OperationError('fetch feed', url, `HTTP ${response.status}`);
      }
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > this.maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw new OperationError(
          'fetch feed',
          url,
          `body of ${declared} bytes exceeds the ${this.maxBytes}-byte limit`,
        );
      }
      return await this.readCapped(url, response, controller);
    } catch (error) {
      if (error instanceof OperationError) throw error;
      if (controller.signal.aborted) {
        throw new OperationError('fetch feed', url, `timed out after ${this.timeoutMs} ms`, { cause: error });
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
      throw new OperationError('fetch feed', url, `request failed (${why})`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  private async readCapped(url: string, response: Response, controller: AbortController): Promise<string> {
    if (!response.body) return '';
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > this.maxBytes) {
        controller.abort();
        await reader.cancel().catch(() => undefined);
        throw new OperationError('fetch feed', url, `body exceeds the ${this.maxBytes}-byte limit`);
      }
      chunks.push(value);
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
