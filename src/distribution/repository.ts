import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import type { Reference } from '../image/reference/reference.js';
import type { AuthConfig } from './registry/auth.js';
import { FallbackError, RegistryError, Session, TokenError, registryError, type Response } from './registry/client.js';
import type { Endpoint, Hosts } from './registry/hosts.js';
import { ACCEPT } from './manifest.js';

/**
 * One repository of one registry, reached through the first endpoint that answers, with the
 * requests pull and push make: manifests, blobs, uploads, mounts, tags.
 */
export class Repository {
  readonly session: Session;
  readonly ref: Reference;
  readonly #actions: string;

  private constructor(session: Session, ref: Reference, actions: string[]) {
    this.session = session;
    this.ref = ref;
    this.#actions = actions.join(',');
  }

  /** Path of the repository inside the registry (`library/busybox`). */
  get path(): string { return this.ref.path; }
  get scope(): string { return `repository:${this.ref.path}:${this.#actions}`; }
  get #base(): string { return `/v2/${this.ref.path}`; }

  /**
   * Opens the repository on the first endpoint of its registry that answers the ping (the
   * HTTP fallback of insecure registries, mirrors before Docker Hub).
   */
  static async open(hosts: Hosts, ref: Reference, auth: AuthConfig | undefined, actions: string[], signal?: AbortSignal,
    endpoints?: Endpoint[]): Promise<Repository> {
    let last: Error | undefined;
    // A push never goes to a mirror (dockerd's push endpoints leave them out).
    const push = actions.includes('push');
    for (const ep of endpoints ?? (await hosts.endpoints(ref.domain)).filter((e) => !(push && e.mirror))) {
      try {
        return new Repository(await Session.open(ep, auth, signal), ref, actions);
      } catch (err) {
        if (!(err instanceof FallbackError)) throw err;
        last = err;
      }
    }
    throw new SystemError(last?.message ?? `no endpoint for ${ref.domain}`);
  }

  async #req(method: string, path: string, opts: { headers?: Record<string, string>; body?: Readable | Buffer | string; scopes?: string[]; signal?: AbortSignal } = {}): Promise<Response> {
    const url = this.session.url(path);
    try {
      return await this.session.request(method, path, { scopes: opts.scopes ?? [this.scope], headers: opts.headers, body: opts.body, signal: opts.signal });
    } catch (err) {
      if (err instanceof TokenError) throw new RegistryError(401, [{ code: 'UNAUTHORIZED', message: err.message }], `${goMethod(method)} "${url}": ${err.message}`);
      throw err;
    }
  }

  /** An error answer, worded as dockerd words a registry error (`Head "url": ...` for 401). */
  async #fail(res: Response, method: string, path: string): Promise<RegistryError> {
    const err = await registryError(res);
    if (res.status === 401 && this.session.challenge?.scheme === 'basic' && !this.session.hasCredentials) {
      return new RegistryError(401, err.codes, `${goMethod(method)} "${this.session.url(path)}": no basic auth credentials`);
    }
    return err;
  }

  /** GET a manifest by tag or digest; checks the bytes against a requested digest. */
  async manifest(tagOrDigest: string): Promise<{ body: Buffer; contentType: string | undefined; digest: string }> {
    const path = `${this.#base}/manifests/${tagOrDigest}`;
    const res = await this.#req('GET', path, { headers: { accept: ACCEPT } });
    if (res.status !== 200) throw await this.#fail(res, 'GET', path);
    const body = Buffer.from(await res.body.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (tagOrDigest.includes(':') && tagOrDigest !== digest) {
      throw new InvalidParameter(`manifest verification failed for digest ${tagOrDigest}`);
    }
    const ct = res.headers['content-type'];
    return { body, contentType: Array.isArray(ct) ? ct[0] : ct, digest };
  }

  /** GET a blob; the body streams (redirects to blob storage followed). */
  async blob(digest: string, signal?: AbortSignal): Promise<{ body: Readable; length: number | undefined }> {
    const path = `${this.#base}/blobs/${digest}`;
    const res = await this.#req('GET', path, { signal });
    if (res.status !== 200) {
      const err = await this.#fail(res, 'GET', path);
      if (res.status === 404) throw new NotFound(`blob ${digest} not found: ${err.message}`);
      throw err;
    }
    const len = Number(res.headers['content-length']);
    return { body: res.body, length: Number.isFinite(len) ? len : undefined };
  }

  /** HEAD a blob: its size when the repository has it. */
  async stat(digest: string): Promise<number | undefined> {
    const path = `${this.#base}/blobs/${digest}`;
    const res = await this.#req('HEAD', path);
    await res.body.dump();
    if (res.status === 200) return Number(res.headers['content-length']) || 0;
    if (res.status === 404) return undefined;
    throw new RegistryError(res.status, [], `${goMethod('HEAD')} "${this.session.url(path)}": unexpected status ${res.status}`);
  }

  /** Tries a cross-repository mount; true when the registry mounted the blob. */
  async mount(digest: string, from: string): Promise<boolean> {
    const path = `${this.#base}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const res = await this.#req('POST', path, { scopes: [this.scope, `repository:${from}:pull`] });
    await res.body.dump();
    if (res.status === 201) return true;
    if (res.status === 202) {
      // The registry started an upload instead: cancel it.
      const loc = header(res, 'location');
      if (loc) await this.#req('DELETE', loc).then((r) => r.body.dump()).catch(() => {});
      return false;
    }
    return false;
  }

  /**
   * Uploads a blob: POST starts the upload, PATCH streams the body (chunked transfer), PUT
   * with the digest commits it. `digest` resolves once the body has been read whole.
   */
  async upload(body: Readable, digest: () => string, signal?: AbortSignal): Promise<void> {
    const start = `${this.#base}/blobs/uploads/`;
    let res = await this.#req('POST', start, { signal });
    if (res.status !== 202) throw await this.#fail(res, 'POST', start);
    await res.body.dump();
    let loc = header(res, 'location');
    if (!loc) throw new SystemError('registry did not return an upload location');
    res = await this.#req('PATCH', loc, { headers: { 'content-type': 'application/octet-stream' }, body, signal });
    if (res.status !== 202) throw await this.#fail(res, 'PATCH', loc);
    await res.body.dump();
    loc = header(res, 'location') ?? loc;
    const put = `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest())}`;
    res = await this.#req('PUT', put, { headers: { 'content-length': '0' }, signal });
    if (res.status !== 201) throw await this.#fail(res, 'PUT', put);
    await res.body.dump();
  }

  /** A small blob in one request (POST, then PUT with the body and its digest). */
  async uploadWhole(data: Buffer, digest: string, signal?: AbortSignal): Promise<void> {
    const start = `${this.#base}/blobs/uploads/`;
    let res = await this.#req('POST', start, { signal });
    if (res.status !== 202) throw await this.#fail(res, 'POST', start);
    await res.body.dump();
    const loc = header(res, 'location');
    if (!loc) throw new SystemError('registry did not return an upload location');
    const put = `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    res = await this.#req('PUT', put, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) }, body: data, signal });
    if (res.status !== 201) throw await this.#fail(res, 'PUT', put);
    await res.body.dump();
  }

  async putManifest(tagOrDigest: string, body: Buffer, mediaType: string): Promise<string> {
    const path = `${this.#base}/manifests/${tagOrDigest}`;
    const res = await this.#req('PUT', path, { headers: { 'content-type': mediaType, 'content-length': String(body.length) }, body });
    if (res.status !== 201) throw await this.#fail(res, 'PUT', path);
    await res.body.dump();
    return header(res, 'docker-content-digest') ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }

  /** Every tag of the repository (pull --all-tags), following the Link pages. */
  async tags(): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `${this.#base}/tags/list`;
    while (path) {
      const res = await this.#req('GET', path);
      if (res.status !== 200) throw await this.#fail(res, 'GET', path);
      const body = (await res.body.json()) as { tags?: string[] | null };
      out.push(...(body.tags ?? []));
      const link = header(res, 'link');
      const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      path = m ? m[1] : undefined;
    }
    return out;
  }
}

function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function goMethod(m: string): string {
  return m.charAt(0) + m.slice(1).toLowerCase();
}
