/**
 * Posts chat messages to a Slack incoming webhook. Primary course: wait for this webhook's pacing slot
 * (one message per second per webhook URL, shared by every notifier in the process), POST the Block Kit
 * JSON, and report the outcome. 429 waits for `Retry-After`; 5xx, timeouts and network errors are retried
 * with exponential backoff and jitter up to a bounded number of attempts; 400/403/404/410 (and other 4xx)
 * are permanent: not retried, reported with Slack's own reason (`channel_not_found`, `invalid_payload`…).
 *
 * The webhook URL is a credential: it never appears in an outcome, error or log line; only its origin does.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { ChatMessage, Clock, DeliveryOutcome, Notifier, RandomSource } from '../../domain/ports';
import { InvalidInputError } from '../../domain/errors';
import { proxyRouteFor } from './proxy';

export type Sleep = (ms: number) => Promise<void>;

export interface SlackWebhookOptions {
  /** The incoming webhook URL (`https://hooks.slack.com/services/…`). A secret. */
  readonly webhookUrl: string;
  /** Name in reports, e.g. the channel name from configuration. @default `slack` */
  readonly name?: string;
  /** Minimum spacing between two messages to the same webhook URL. @default 1000 */
  readonly minIntervalMs?: number;
  /** Attempts per message, including the first. @default 5 */
  readonly maxAttempts?: number;
  /** First backoff delay after a 5xx or network error; doubles per attempt. @default 500 */
  readonly baseDelayMs?: number;
  /** Upper bound for one backoff delay. @default 30000 */
  readonly maxDelayMs?: number;
  /** A `Retry-After` longer than this gives up (the message goes to the dead-letter path) instead of blocking. @default 60000 */
  readonly maxRetryAfterMs?: number;
  /** Per-request timeout (connect + response). @default 10000 */
  readonly timeoutMs?: number;
  /** @default real time */
  readonly clock?: Clock;
  /** @default setTimeout */
  readonly sleep?: Sleep;
  /** Jitter source, [0, 1). @default Math.random */
  readonly random?: RandomSource;
  /** Pacing registry; notifiers sharing one pace each other per URL. @default the process-wide registry */
  readonly pacer?: WebhookPacer;
  /** HTTP agent. @default Node's global agent for the scheme, or a CONNECT tunnel through the proxy */
  readonly agent?: http.Agent;
  /** Where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Extra trust roots (PEM) for the webhook's TLS, e.g. a TLS-inspecting proxy's CA. @default the system store */
  readonly ca?: readonly string[];
  /** Aborts a request in flight (a command that stops waiting for Slack). @default none */
  readonly signal?: AbortSignal;
}

const MAX_BODY_CHARS = 300;

/**
 * Serialises sends per webhook URL and spaces them by at least `minIntervalMs`. One registry per process
 * by default, so two notifiers built for the same webhook (two handlers, two routes) still pace each other.
 */
export class WebhookPacer {
  private readonly lanes = new Map<string, { tail: Promise<void>; nextAt: number }>();

  /** Runs `task` when it is this URL's turn; `task` receives a function that reserves the next slot. */
  async run<T>(
    url: string,
    task: (slot: {
      wait: (clock: Clock, sleep: Sleep, intervalMs: number) => Promise<void>;
      holdUntil: (at: number) => void;
    }) => Promise<T>,
  ): Promise<T> {
    let lane = this.lanes.get(url);
    if (!lane) {
      lane = { tail: Promise.resolve(), nextAt: -Infinity };
      this.lanes.set(url, lane);
    }
    const current = lane;
    const previous = current.tail;
    let release!: () => void;
    current.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await task({
        wait: async (clock, sleep, intervalMs) => {
          const delay = current.nextAt - clock().getTime();
          if (delay > 0) await sleep(delay);
          current.nextAt = clock().getTime() + intervalMs;
        },
        holdUntil: (at) => {
          current.nextAt = Math.max(current.nextAt, at);
        },
      });
    } finally {
      release();
    }
  }
}

const processPacer = new WebhookPacer();

/** `https://hooks.slack.com/services/T/B/X` → `https://hooks.slack.com/…`: what may appear in text. */
export function redactWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return '[webhook]';
  }
}

interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string;
}

export class SlackWebhookNotifier implements Notifier {
  readonly name: string;
  private readonly url: URL;
  private readonly minIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: RandomSource;
  private readonly pacer: WebhookPacer;
  private readonly agent?: http.Agent;
  /** Plain-HTTP requests through a proxy go to the proxy with the absolute URL. */
  private readonly viaProxy?: http.RequestOptions;
  private readonly signal?: AbortSignal;
  private readonly secrets: readonly string[];
  private readonly where: string;

  constructor(options: SlackWebhookOptions) {
    let url: URL;
    try {
      url = new URL(options.webhookUrl);
    } catch {
      throw new InvalidInputError(`slack webhook for ${options.name ?? 'slack'}: not a valid URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new InvalidInputError(
        `slack webhook ${redactWebhookUrl(options.webhookUrl)}: must be an http(s) URL`,
      );
    }
    this.url = url;
    const route = options.agent
      ? undefined
      : proxyRouteFor(url, options.env ?? process.env, options.ca ? { ca: [...options.ca] } : {});
    if (route?.viaProxy) this.viaProxy = route.viaProxy;
    const agent =
      options.agent ??
      route?.agent ??
      (options.ca && url.protocol === 'https:' ? new https.Agent({ ca: [...options.ca] }) : undefined);
    if (agent) this.agent = agent;
    if (options.signal) this.signal = options.signal;
    this.name = options.name ?? 'slack';
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.clock = options.clock ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.pacer = options.pacer ?? processPacer;
    this.where = `slack webhook ${redactWebhookUrl(options.webhookUrl)}`;
    // Everything that identifies the webhook beyond its host is scrubbed from any text we pass on.
    this.secrets = [url.href, url.pathname + url.search, url.pathname]
      .filter((s) => s.length > 1)
      .sort((a, b) => b.length - a.length);
  }

  async send(message: ChatMessage): Promise<DeliveryOutcome> {
    const body = JSON.stringify({ text: message.text, blocks: message.blocks });
    return this.pacer.run(this.url.href, async (slot) => {
      let attempts = 0;
      let lastStatus: number | undefined;
      let lastError = 'not attempted';
      while (attempts < this.maxAttempts) {
        await slot.wait(this.clock, this.sleep, this.minIntervalMs);
        attempts += 1;
        let result: HttpResult;
        try {
          result = await this.post(body);
        } catch (error) {
          lastStatus = undefined;
          lastError = `${this.where}: ${this.scrub(error instanceof Error ? error.message : String(error))}`;
          if (attempts < this.maxAttempts) await this.sleep(this.backoff(attempts));
          continue;
        }
        lastStatus = result.status;
        if (result.status >= 200 && result.status < 300) {
          return { ok: true, status: result.status, attempts };
        }
        const reason =
          this.scrub(result.body.trim().slice(0, MAX_BODY_CHARS)) || http.STATUS_CODES[result.status] || '';
        lastError = `${this.where}: HTTP ${result.status} ${reason}`.trimEnd();
        if (result.status === 429) {
          const waitMs = parseRetryAfter(result.retryAfter, this.clock()) ?? this.minIntervalMs;
          if (waitMs > this.maxRetryAfterMs || attempts >= this.maxAttempts) {
            slot.holdUntil(this.clock().getTime() + waitMs);
            return {
              ok: false,
              status: 429,
              attempts,
              retryAfterMs: waitMs,
              error:
                waitMs > this.maxRetryAfterMs
                  ? `${lastError} (Retry-After ${Math.ceil(waitMs / 1000)}s exceeds ${Math.ceil(this.maxRetryAfterMs / 1000)}s)`
                  : `${lastError} (Retry-After ${Math.ceil(waitMs / 1000)}s; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
            };
          }
          // Slack's limit is per webhook: every sender to this URL waits, not only this message.
          slot.holdUntil(this.clock().getTime() + waitMs);
          continue;
        }
        if (result.status >= 500 || result.status === 408) {
          if (attempts < this.maxAttempts) await this.sleep(this.backoff(attempts));
          continue;
        }
        // 400 invalid_payload, 403 invalid_token, 404 channel_not_found, 410 channel_is_archived…: retrying cannot help.
        if (result.status >= 400 && result.status < 500) {
          return { ok: false, status: result.status, attempts, permanent: true, error: lastError };
        }
        // 1xx/3xx: a webhook never answers this way; treat as a fault worth a retry.
        if (attempts < this.maxAttempts) await this.sleep(this.backoff(attempts));
      }
      return {
        ok: false,
        ...(lastStatus !== undefined ? { status: lastStatus } : {}),
        attempts,
        error: `${lastError} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
      };
    });
  }

  /** Exponential backoff with equal jitter: half fixed, half random, so retries from many senders spread. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('/…');
    return out;
  }

  private post(body: string): Promise<HttpResult> {
    const transport = this.url.protocol === 'https:' && !this.viaProxy ? https : http;
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    };
    const options: http.RequestOptions = {
      method: 'POST',
      ...(this.viaProxy
        ? { ...this.viaProxy, headers: { ...this.viaProxy.headers, ...headers } }
        : { headers }),
      ...(this.agent ? { agent: this.agent } : {}),
      ...(this.signal ? { signal: this.signal } : {}),
      timeout: this.timeoutMs,
    };
    return new Promise<HttpResult>((resolve, reject) => {
      const send = (onResponse: (response: http.IncomingMessage) => void): http.ClientRequest =>
        this.viaProxy ? http.request(options, onResponse) : transport.request(this.url, options, onResponse);
      const request = send((response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          // Only the start of the body matters (Slack answers with one word); drain the rest.
          if (size < 4096) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
          });
        });
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`no response within ${this.timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}

/** `Retry-After` as seconds (Slack's form) or an HTTP date; milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
