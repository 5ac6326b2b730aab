/**
 * An ACME client (RFC 8555) over node:https: the directory, nonces (a `badNonce` answer is retried
 * with the fresh nonce it carries), accounts with optional External Account Binding, orders with a
 * `profile` and ARI's `replaces`, authorizations, challenges, finalisation with a CSR, the
 * certificate chain, and renewal information (RFC 9773).
 *
 * The CA's pacing is honoured: `Retry-After` on polls, and on `rateLimited` or 503 answers a wait of
 * the given length when it is short (`maxRetryAfterMs`), else an error naming when to retry.
 * Trust for the ACME server's TLS: the system store plus NODE_EXTRA_CA_CERTS, or `caPem`.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KeyObject } from 'node:crypto';
import { OperationError } from '../../../domain/errors';
import { type FlattenedJws, externalAccountBinding, signJws } from './jws';

export interface AcmeDirectory {
  readonly newNonce: string;
  readonly newAccount: string;
  readonly newOrder: string;
  readonly revokeCert?: string;
  readonly keyChange?: string;
  readonly renewalInfo?: string;
  readonly meta?: {
    readonly termsOfService?: string;
    readonly externalAccountRequired?: boolean;
    readonly profiles?: Record<string, string>;
  };
}

export interface AcmeIdentifier {
  readonly type: 'dns' | 'ip';
  readonly value: string;
}

export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

export interface AcmeOrder {
  readonly status: OrderStatus;
  readonly identifiers: readonly AcmeIdentifier[];
  readonly authorizations: readonly string[];
  readonly finalize: string;
  readonly certificate?: string;
  readonly profile?: string;
  readonly error?: AcmeProblem;
}

export interface AcmeChallenge {
  readonly type: string;
  readonly url: string;
  readonly token: string;
  readonly status: 'pending' | 'processing' | 'valid' | 'invalid';
  readonly error?: AcmeProblem;
}

export interface AcmeAuthorization {
  readonly identifier: AcmeIdentifier;
  readonly status: 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
  readonly challenges: readonly AcmeChallenge[];
  readonly wildcard?: boolean;
}

export interface AcmeProblem {
  readonly type?: string;
  readonly detail?: string;
  readonly subproblems?: readonly AcmeProblem[];
}

export interface RenewalInfo {
  readonly suggestedWindow: { readonly start: string; readonly end: string };
  readonly explanationURL?: string;
}

export interface AcmeClientOptions {
  readonly directoryUrl: string;
  readonly accountKey: KeyObject;
  /** Extra trust anchors for the ACME server's TLS. @default the system store (+ NODE_EXTRA_CA_CERTS) */
  readonly caPem?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Longest `Retry-After` waited in process; longer ones fail with the time to retry. @default 60000 */
  readonly maxRetryAfterMs?: number;
  /** Polls of an order or authorization before giving up. @default 60 */
  readonly maxPolls?: number;
  /** Poll interval when the server gives no `Retry-After`. @default 1000 */
  readonly pollIntervalMs?: number;
  readonly timeoutMs?: number;
}

interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** An ACME error answer, with its problem type (`urn:ietf:params:acme:error:…`). */
export class AcmeError extends OperationError {
  constructor(
    operation: string,
    resource: string,
    readonly status: number,
    readonly problem: AcmeProblem,
    readonly retryAfterMs?: number,
  ) {
    super(
      operation,
      resource,
      `${status} ${problem.type ?? 'error'}${problem.detail ? `: ${problem.detail}` : ''}${
        retryAfterMs !== undefined ? ` (retry after ${Math.ceil(retryAfterMs / 1000)}s)` : ''
      }`,
    );
  }

  is(type: string): boolean {
    return this.problem.type === `urn:ietf:params:acme:error:${type}`;
  }
}

const MAX_NONCE_RETRIES = 5;

export class AcmeClient {
  private directory: AcmeDirectory | undefined;
  private readonly nonces: string[] = [];
  private accountUrl: string | undefined;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AcmeClientOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async getDirectory(): Promise<AcmeDirectory> {
    if (this.directory) return this.directory;
    const response = await this.http('GET', this.options.directoryUrl);
    if (response.status !== 200) throw this.failure('directory', this.options.directoryUrl, response);
    this.directory = JSON.parse(response.body.toString('utf8')) as AcmeDirectory;
    if (!this.directory.newNonce || !this.directory.newAccount || !this.directory.newOrder)
      throw new OperationError('acme:directory', this.options.directoryUrl, 'not an ACME directory');
    return this.directory;
  }

  /** Registers the account (or finds it: newAccount with an existing key returns it). Returns its URL. */
  async account(input: {
    readonly email?: string;
    readonly eab?: { readonly keyId: string; readonly hmacKey: string };
  }): Promise<string> {
    if (this.accountUrl) return this.accountUrl;
    const dir = await this.getDirectory();
    const payload = {
      termsOfServiceAgreed: true,
      ...(input.email ? { contact: [`mailto:${input.email}`] } : {}),
      ...(input.eab
        ? {
            externalAccountBinding: externalAccountBinding(
              this.options.accountKey,
              input.eab,
              dir.newAccount,
            ),
          }
        : {}),
    };
    const response = await this.post('newAccount', dir.newAccount, payload, { useJwk: true });
    const location = header(response, 'location');
    if (!location) throw new OperationError('acme:newAccount', dir.newAccount, 'no account URL returned');
    this.accountUrl = location;
    return location;
  }

  async newOrder(input: {
    readonly identifiers: readonly AcmeIdentifier[];
    readonly profile?: string;
    readonly replaces?: string;
  }): Promise<{ url: string; order: AcmeOrder }> {
    const dir = await this.getDirectory();
    const response = await this.post('newOrder', dir.newOrder, {
      identifiers: input.identifiers,
      ...(input.profile ? { profile: input.profile } : {}),
      ...(input.replaces ? { replaces: input.replaces } : {}),
    });
    const url = header(response, 'location');
    if (!url) throw new OperationError('acme:newOrder', dir.newOrder, 'no order URL returned');
    return { url, order: json<AcmeOrder>(response) };
  }

  async getOrder(url: string): Promise<AcmeOrder> {
    return json<AcmeOrder>(await this.post('order', url, undefined));
  }

  async getAuthorization(url: string): Promise<AcmeAuthorization> {
    return json<AcmeAuthorization>(await this.post('authorization', url, undefined));
  }

  /** Tells the CA the challenge is ready to be validated. */
  async respondToChallenge(url: string): Promise<AcmeChallenge> {
    return json<AcmeChallenge>(await this.post('challenge', url, {}));
  }

  async finalize(order: AcmeOrder, csrDer: Buffer): Promise<AcmeOrder> {
    return json<AcmeOrder>(
      await this.post('finalize', order.finalize, { csr: csrDer.toString('base64url') }),
    );
  }

  /** The PEM chain, leaf first. */
  async downloadCertificate(url: string): Promise<string> {
    const response = await this.post('certificate', url, undefined, {
      accept: 'application/pem-certificate-chain',
    });
    return response.body.toString('utf8');
  }

  /** Polls an authorization until it is no longer pending (Retry-After honoured). */
  async waitForAuthorization(url: string): Promise<AcmeAuthorization> {
    return this.poll(url, 'authorization', (a: AcmeAuthorization) => a.status !== 'pending');
  }

  /** Polls an order until `done` holds (Retry-After honoured). */
  async waitForOrder(url: string, done: (order: AcmeOrder) => boolean): Promise<AcmeOrder> {
    return this.poll(url, 'order', done);
  }

  /** ARI (RFC 9773): the CA's suggested renewal window, or undefined when the CA offers none. */
  async renewalInfo(certId: string): Promise<RenewalInfo | undefined> {
    const dir = await this.getDirectory();
    if (!dir.renewalInfo) return undefined;
    const url = `${dir.renewalInfo.replace(/\/$/, '')}/${certId}`;
    const response = await this.http('GET', url);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure('renewalInfo', url, response);
    const info = JSON.parse(response.body.toString('utf8')) as Partial<RenewalInfo>;
    const window = info.suggestedWindow;
    if (!window || Number.isNaN(Date.parse(window.start)) || Number.isNaN(Date.parse(window.end)))
      throw new OperationError('acme:renewalInfo', url, 'the answer holds no valid suggestedWindow');
    return info as RenewalInfo;
  }

  private async poll<T>(url: string, what: string, done: (value: T) => boolean): Promise<T> {
    const maxPolls = this.options.maxPolls ?? 60;
    for (let i = 0; ; i++) {
      const response = await this.post(what, url, undefined);
      const value = json<T>(response);
      if (done(value)) return value;
      if (i + 1 >= maxPolls)
        throw new OperationError(`acme:${what}`, url, `still not done after ${maxPolls} polls`);
      await this.sleep(Math.min(retryAfterMs(response) ?? this.options.pollIntervalMs ?? 1000, this.maxWait));
    }
  }

  private get maxWait(): number {
    return this.options.maxRetryAfterMs ?? 60_000;
  }

  /** A signed POST; `payload` undefined is POST-as-GET. Retries badNonce, and short rate limits. */
  private async post(
    what: string,
    url: string,
    payload: unknown,
    options: { readonly useJwk?: boolean; readonly accept?: string } = {},
  ): Promise<HttpResponse> {
    let attempts = 0;
    for (;;) {
      attempts++;
      const nonce = await this.nonce();
      const kid = options.useJwk ? undefined : await this.requireAccount();
      const body: FlattenedJws = signJws(
        this.options.accountKey,
        { url, nonce, ...(kid ? { kid } : {}) },
        payload,
      );
      const response = await this.http('POST', url, JSON.stringify(body), {
        'content-type': 'application/jose+json',
        ...(options.accept ? { accept: options.accept } : {}),
      });
      if (response.status < 400) return response;
      const error = this.failure(what, url, response);
      if (error.is('badNonce') && attempts < MAX_NONCE_RETRIES) continue;
      if ((error.is('rateLimited') || response.status === 503) && attempts < 3) {
        const wait = error.retryAfterMs;
        if (wait !== undefined && wait <= this.maxWait) {
          await this.sleep(wait);
          continue;
        }
      }
      throw error;
    }
  }

  private async requireAccount(): Promise<string> {
    if (!this.accountUrl)
      throw new OperationError('acme', this.options.directoryUrl, 'no account: call account() first');
    return this.accountUrl;
  }

  private async nonce(): Promise<string> {
    const cached = this.nonces.pop();
    if (cached) return cached;
    const dir = await this.getDirectory();
    const response = await this.http('HEAD', dir.newNonce);
    const nonce = header(response, 'replay-nonce');
    if (!nonce) throw new OperationError('acme:newNonce', dir.newNonce, 'no Replay-Nonce returned');
    this.nonces.length = 0;
    return nonce;
  }

  private failure(what: string, url: string, response: HttpResponse): AcmeError {
    let problem: AcmeProblem = {};
    try {
      problem = JSON.parse(response.body.toString('utf8')) as AcmeProblem;
    } catch {
      problem = { detail: response.body.toString('utf8').slice(0, 200) };
    }
    return new AcmeError(`acme:${what}`, url, response.status, problem, retryAfterMs(response));
  }

  private http(
    method: string,
    url: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<HttpResponse> {
    const target = new URL(url);
    const send = target.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = send(
        target,
        {
          method,
          headers: {
            'user-agent': 'certrotor',
            ...headers,
            ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
          },
          ...(this.options.caPem && target.protocol === 'https:' ? { ca: this.options.caPem } : {}),
          timeout: this.options.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const nonce = res.headers['replay-nonce'];
            if (typeof nonce === 'string' && nonce !== '') this.nonces.push(nonce);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 30_000} ms`)),
      );
      req.on('error', (error) =>
        reject(
          new OperationError(`acme:${method}`, url, error.message.split('\n')[0] ?? 'request failed', {
            cause: error,
          }),
        ),
      );
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json<T>(response: HttpResponse): T {
  return JSON.parse(response.body.toString('utf8')) as T;
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date. */
export function retryAfterMs(response: Pick<HttpResponse, 'headers'>, now = Date.now()): number | undefined {
  const value = header(response as HttpResponse, 'retry-after');
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
