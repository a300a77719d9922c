import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import type { AuthConfig, Challenge } from './auth.js';
import { hasCredentials, parseChallenges } from './auth.js';
import type { Endpoint } from './hosts.js';

/**
 * A session with one registry endpoint for one set of credentials: it pings `/v2/` once to
 * learn the auth challenge, then signs each request for the scopes it needs (a bearer token
 * from the challenge's realm, cached per scope set until it expires, or basic credentials).
 *
 * Words: a "scope" is `repository:<path>:<actions>` as token servers read it; an "errcode"
 * error is the registry's JSON error body (`{"errors":[{"code","message"}]}`).
 */
export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { text(): Promise<string>; json(): Promise<unknown>; arrayBuffer(): Promise<ArrayBuffer>; dump(): Promise<void> };
}

/** The endpoint could not be reached or is not a registry: try the next one. */
export class FallbackError extends Error {}

/** The registry answered with an error status. */
export class RegistryError extends Error {
  constructor(readonly status: number, readonly codes: Array<{ code: string; message: string }>, message: string) {
    super(message);
  }
  has(code: string): boolean { return this.codes.some((c) => c.code === code); }
  get unauthorized(): boolean { return this.status === 401 || this.has('UNAUTHORIZED') || this.has('DENIED'); }
}

/** The token server refused the credentials, or gave no token. */
export class TokenError extends Error {}

interface Token { value: string; expires: number }

const USER_AGENT = 'docker/20.10.24 go/go1.19 git-commit/berth kernel/linux os/linux arch/amd64';

export class Session {
  readonly endpoint: Endpoint;
  readonly #auth: AuthConfig | undefined;
  readonly #signal: AbortSignal | undefined;
  #challenge: Challenge | undefined;
  readonly #tokens = new Map<string, Promise<Token>>();
  /** A refresh token the token server handed out (login keeps it as IdentityToken). */
  refreshToken: string | undefined;

  private constructor(endpoint: Endpoint, auth: AuthConfig | undefined, signal: AbortSignal | undefined) {
    this.endpoint = endpoint;
    this.#auth = auth;
    this.#signal = signal;
  }

  get challenge(): Challenge | undefined { return this.#challenge; }
  get hasCredentials(): boolean { return hasCredentials(this.#auth); }

  /** Pings the endpoint; a connection failure or a non-registry answer is a FallbackError. */
  static async open(endpoint: Endpoint, auth: AuthConfig | undefined, signal?: AbortSignal): Promise<Session> {
    const s = new Session(endpoint, auth, signal);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${endpoint.url}/v2/`, {
        method: 'GET', dispatcher: endpoint.dispatcher, signal, headers: { 'user-agent': USER_AGENT },
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new FallbackError(`Get "${endpoint.url}/v2/": ${describe(err)}`, { cause: err });
    }
    await res.body.dump();
    if (res.statusCode === 401) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      s.#challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    } else if (res.statusCode !== 200) {
      throw new FallbackError(`Get "${endpoint.url}/v2/": unexpected status ${res.statusCode}`);
    }
    return s;
  }

  /** The URL of a path under the endpoint, or an absolute Location the registry gave. */
  url(pathOrUrl: string): string {
    return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.endpoint.url}${pathOrUrl}`;
  }

  /**
   * One request, signed for `scopes`. The body of the answer is the caller's to read or dump.
   * A 401 with a bearer challenge asking for more scope is retried once with a new token.
   */
  async request(method: string, path: string, opts: {
    scopes: string[]; headers?: Record<string, string>; body?: Readable | Buffer | string; signal?: AbortSignal;
  }): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...opts.headers };
    const auth = await this.authorization(opts.scopes);
    if (auth) headers.authorization = auth;
    const res = await request(this.url(path), {
      method: method as Dispatcher.HttpMethod, headers, body: opts.body ?? null,
      dispatcher: this.endpoint.dispatcher, signal: opts.signal ?? this.#signal,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body as unknown as Response['body'] };
  }

  /** The Authorization header for these scopes, or undefined (anonymous, no challenge). */
  async authorization(scopes: string[]): Promise<string | undefined> {
    const c = this.#challenge;
    const a = this.#auth;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!a?.username && !a?.password) return undefined;
      return `Basic ${Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64')}`;
    }
    if (a?.registrytoken) return `Bearer ${a.registrytoken}`;
    const key = [...scopes].sort().join(' ');
    let t = this.#tokens.get(key);
    if (t) {
      const tok = await t.catch(() => undefined);
      if (!tok || tok.expires <= Date.now()) t = undefined;
    }
    if (!t) {
      t = this.#fetchToken(scopes, false);
      this.#tokens.set(key, t);
      t.catch(() => this.#tokens.delete(key));
    }
    return `Bearer ${(await t).value}`;
  }

  /**
   * Asks the challenge's realm for a token: with the refresh (identity) token by POST when
   * there is one, else by GET with basic credentials, or anonymously. `offline` asks for a
   * refresh token too (login does).
   */
  async #fetchToken(scopes: string[], offline: boolean): Promise<Token> {
    const c = this.#challenge!;
    const a = this.#auth;
    const realm = c.params.realm;
    if (!realm) throw new TokenError('no realm specified for token auth challenge');
    const service = c.params.service ?? '';
    let res: Dispatcher.ResponseData;
    const refresh = this.refreshToken ?? a?.identitytoken;
    try {
      if (refresh) {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, service, client_id: 'docker', access_type: offline ? 'offline' : 'online' });
        if (scopes.length) form.set('scope', scopes.join(' '));
        res = await request(realm, {
          method: 'POST', dispatcher: this.endpoint.dispatcher, signal: this.#signal,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': USER_AGENT }, body: form.toString(),
        });
      } else {
        const u = new URL(realm);
        if (service) u.searchParams.set('service', service);
        for (const s of scopes) u.searchParams.append('scope', s);
        const headers: Record<string, string> = { 'user-agent': USER_AGENT };
        if (a?.username) {
          u.searchParams.set('account', a.username);
          headers.authorization = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
          if (offline) { u.searchParams.set('offline_token', 'true'); u.searchParams.set('client_id', 'docker'); }
        }
        res = await request(u.toString(), { method: 'GET', headers, dispatcher: this.endpoint.dispatcher, signal: this.#signal });
      }
    } catch (err) {
      throw new TokenError(`Get "${realm}": ${describe(err)}`, { cause: err });
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new TokenError(tokenFailure(res.statusCode, text));
    let body: { token?: string; access_token?: string; expires_in?: number; refresh_token?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new TokenError('unable to decode token response');
    }
    const value = body.access_token || body.token;
    if (!value) throw new TokenError('authorization server did not include a token in the response');
    if (body.refresh_token) this.refreshToken = body.refresh_token;
    const lifetime = Math.max(60, body.expires_in ?? 60) * 1000;
    return { value, expires: Date.now() + lifetime - 5_000 };
  }

  /** Login: a token with a refresh token asked for, then `/v2/` with it must answer 200. */
  async login(): Promise<number> {
    const c = this.#challenge;
    if (c?.scheme === 'bearer' && !this.#auth?.registrytoken) {
      const tok = await this.#fetchToken([], true);
      this.#tokens.set('', Promise.resolve(tok));
    }
    const res = await this.request('GET', '/v2/', { scopes: [] });
    await res.body.dump();
    return res.status;
  }
}

function tokenFailure(status: number, text: string): string {
  let detail = '';
  try {
    const j = JSON.parse(text) as { details?: string; errors?: Array<{ code: string; message: string }> };
    if (j.errors?.length) return errcodeMessage(j.errors);
    detail = j.details ?? '';
  } catch {
    detail = text.trim();
  }
  if (status === 401) return `unauthorized: ${detail || 'authentication required'}`;
  if (status === 403) return `denied: ${detail || 'requested access to the resource is denied'}`;
  return `token auth attempt for registry failed with status: ${status} ${statusText(status)}`;
}

/** distribution's errcode.Errors text: one error as `code: message`, several as a list. */
export function errcodeMessage(errors: Array<{ code: string; message: string; detail?: unknown }>): string {
  const one = (e: { code: string; message: string }) => `${e.code.toLowerCase().replace(/_/g, ' ')}: ${e.message}`;
  if (errors.length === 1) return one(errors[0]!);
  return `errors:\n${errors.map((e) => one(e) + '\n').join('')}`;
}

/** Reads an error answer into a RegistryError (the body is consumed). */
export async function registryError(res: Response): Promise<RegistryError> {
  const text = await res.body.text().catch(() => '');
  let codes: Array<{ code: string; message: string }> = [];
  try {
    const j = JSON.parse(text) as { errors?: Array<{ code: string; message: string }> };
    if (Array.isArray(j.errors)) codes = j.errors.filter((e) => e && typeof e.code === 'string');
  } catch { /* not JSON */ }
  if (codes.length) return new RegistryError(res.status, codes, errcodeMessage(codes));
  if (res.status === 401) return new RegistryError(401, [{ code: 'UNAUTHORIZED', message: 'authentication required' }], 'unauthorized: authentication required');
  if (text.trim()) return new RegistryError(res.status, [], `error parsing HTTP ${res.status} response body: invalid character looking for beginning of value: ${JSON.stringify(text.trim().slice(0, 200))}`);
  return new RegistryError(res.status, [], `received unexpected HTTP status: ${res.status} ${statusText(res.status)}`);
}

export function statusText(status: number): string {
  const t: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
    416: 'Requested Range Not Satisfiable', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
    503: 'Service Unavailable', 504: 'Gateway Timeout',
  };
  return t[status] ?? '';
}

/** A network error as Go's net/http would word it, as near as Node lets us. */
export function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? e?.code;
  if (code === 'ECONNREFUSED') return 'dial tcp: connect: connection refused';
  // A body cut short: Go's io.ErrUnexpectedEOF, as dockerd reports a broken transfer.
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || /other side closed|premature close/i.test(e?.message ?? '')) return 'unexpected EOF';
  if (code === 'ENOTFOUND') return 'dial tcp: lookup: no such host';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/.test(e?.message ?? '')) {
    return 'http: server gave HTTP response to HTTPS client';
  }
  return e?.cause?.message ?? e?.message ?? String(err);
}
