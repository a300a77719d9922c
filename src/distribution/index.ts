import type { Readable } from 'node:stream';
import type { Log } from '../lib/log.js';
import { InvalidParameter, Unauthorized } from '../lib/errors.js';
import type { PullTarget, PushSource } from '../image/index.js';
import {
  isDigest, parseNormalizedNamed, tagNameOnly, trimNamed, withDigest, withTag, type Reference,
} from '../image/reference/reference.js';
import { decodeAuthHeader, normalize, type AuthConfig } from './registry/auth.js';
import { FallbackError, Session, TokenError, statusText } from './registry/client.js';
import { DOCKER_HUB, Hosts } from './registry/hosts.js';
import { hostPlatform, parseManifest, type Platform } from './manifest.js';
import { Metadata } from './metadata.js';
import { Progress, type JsonMessage } from './progress.js';
import { Puller, translate } from './pull.js';
import { Pusher } from './push.js';
import { Repository } from './repository.js';

export type { AuthConfig } from './registry/auth.js';
export type { JsonMessage } from './progress.js';
export { decodeAuthHeader } from './registry/auth.js';

export interface DistributionOptions {
  target: PullTarget;
  source: PushSource;
  /** `image/<driver>/distribution` under the data root. */
  metadataRoot: string;
  /** Where layers wait when the graph driver cannot apply them before their parent. */
  tmpDir: string;
  insecureRegistries: string[];
  registryMirrors: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  maxDownloadAttempts: number;
  /** Default: /etc/docker/certs.d and /etc/berth/certs.d. */
  certsDirs?: string[];
  log: Log;
}

/** `GET /distribution/{name}/json`. */
export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Platform[];
}

/**
 * The distribution subsystem's front door: pull, push, login and inspect against registries.
 * Pull and push answer with a jsonmessage stream once the first message is ready; an error
 * before that rejects (so the API sends a status), one after it travels in the stream.
 */
export class Distribution {
  readonly #hosts: Hosts;
  readonly #puller: Puller;
  readonly #pusher: Pusher;
  readonly #log: Log;

  constructor(o: DistributionOptions) {
    this.#log = o.log;
    this.#hosts = new Hosts({
      insecure: o.insecureRegistries, mirrors: o.registryMirrors,
      certsDirs: o.certsDirs ?? ['/etc/docker/certs.d', '/etc/berth/certs.d'],
    });
    const metadata = new Metadata(o.metadataRoot);
    this.#puller = new Puller({
      hosts: this.#hosts, target: o.target, metadata, tmpDir: o.tmpDir,
      maxDownloads: o.maxConcurrentDownloads || 3, maxAttempts: Math.max(1, o.maxDownloadAttempts || 5), log: o.log,
    });
    this.#pusher = new Pusher({ hosts: this.#hosts, source: o.source, metadata, maxUploads: o.maxConcurrentUploads || 5, log: o.log });
  }

  /**
   * docker pull: `fromImage` with an optional `tag` (a tag or a digest). A name with neither
   * pulls every tag of the repository, as dockerd does.
   */
  pull(opts: { fromImage: string; tag?: string; platform?: string; auth?: AuthConfig; signal?: AbortSignal }): Promise<Readable> {
    let ref = parseNormalizedNamed(opts.fromImage);
    if (opts.tag) ref = isDigest(opts.tag) ? withDigest(trimNamed(ref), opts.tag) : withTag(ref, opts.tag);
    const want = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
    return this.#stream((p) => this.#puller.pull(ref, { auth: opts.auth, signal: opts.signal }, p, want));
  }

  /** docker push: one tag, or every tag of the repository when `tag` is empty. */
  push(name: string, opts: { tag?: string; auth?: AuthConfig; signal?: AbortSignal }): Promise<Readable> {
    let ref = parseNormalizedNamed(name);
    if (opts.tag) ref = withTag(ref, opts.tag);
    if (ref.digest) throw new InvalidParameter('cannot push a digest reference');
    return this.#stream((p) => this.#pusher.push(ref, { auth: opts.auth, signal: opts.signal }, p));
  }

  async #stream(work: (p: Progress) => Promise<void>): Promise<Readable> {
    const p = new Progress();
    const done = work(p).then(() => p.end(), (err: unknown) => {
      if (!p.flushed) throw err;
      this.#log.info({ err: (err as Error).message }, 'transfer failed');
      p.error((err as Error).message);
      p.end();
    });
    await Promise.race([p.started, done]);
    done.catch(() => {});
    return p.stream;
  }

  /**
   * docker login: the registry's `/v2/` must answer 200 with these credentials (through a
   * token from its realm when it asks for one). Wrong ones are a 401 in dockerd's words.
   */
  async login(input: AuthConfig): Promise<{ Status: string; IdentityToken?: string }> {
    const auth = normalize(input);
    const domain = registryHost(auth.serveraddress ?? '');
    let last: Error | undefined;
    for (const ep of await this.#hosts.endpoints(domain)) {
      let s: Session;
      try {
        s = await Session.open(ep, auth);
      } catch (err) {
        if (err instanceof FallbackError) { last = err; continue; }
        throw err;
      }
      let status: number;
      try {
        status = await s.login();
      } catch (err) {
        if (err instanceof TokenError) throw new Unauthorized(`Get "${ep.url}/v2/": ${err.message}`);
        throw err;
      }
      if (status === 200) return { Status: 'Login Succeeded', ...(s.refreshToken ? { IdentityToken: s.refreshToken } : {}) };
      throw new Unauthorized(`login attempt to ${ep.url}/v2/ failed with status: ${status} ${statusText(status)}`);
    }
    throw new Unauthorized(last?.message ?? `cannot reach ${domain}`);
  }

  /** docker manifest/buildx's inspect: the descriptor a name resolves to and its platforms. */
  async inspect(name: string, auth?: AuthConfig): Promise<DistributionInspect> {
    const ref = tagNameOnly(parseNormalizedNamed(name));
    let repo: Repository;
    try {
      repo = await Repository.open(this.#hosts, trimNamed(ref), auth, ['pull']);
      const m = await repo.manifest(ref.digest ?? ref.tag!);
      const parsed = parseManifest(m.body, m.contentType);
      if (parsed.kind === 'schema1') throw new InvalidParameter('schema 1 manifests are not supported');
      const Descriptor = { mediaType: parsed.mediaType, digest: m.digest, size: m.body.length };
      if (parsed.kind === 'list') {
        return { Descriptor, Platforms: parsed.manifests.filter((d) => d.platform).map((d) => d.platform!) };
      }
      const { body } = await repo.blob(parsed.config.digest);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { architecture?: string; os?: string; variant?: string; 'os.version'?: string };
      const platform: Platform = { architecture: cfg.architecture ?? '', os: cfg.os ?? '' };
      if (cfg.variant) platform.variant = cfg.variant;
      if (cfg['os.version']) platform['os.version'] = cfg['os.version'];
      return { Descriptor, Platforms: [platform] };
    } catch (err) {
      throw translate(err, ref);
    }
  }

  async close(): Promise<void> {
    await this.#hosts.close();
  }
}

/** `os[/arch[/variant]]` of the `platform` query parameter. */
export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !p)) throw new InvalidParameter(`"${s}": unknown operating system or architecture: invalid argument`);
  const host = hostPlatform();
  const p: Platform = { os: parts[0]!, architecture: parts[1] ?? host.architecture };
  if (parts[2]) p.variant = parts[2];
  else if (!parts[1] && host.variant) p.variant = host.variant;
  return p;
}

/** The registry host of a login's server address (`https://index.docker.io/v1/` → docker.io). */
export function registryHost(server: string): string {
  let s = server.trim();
  if (!s) return DOCKER_HUB;
  s = s.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === 'registry-1.docker.io' || s === DOCKER_HUB) return DOCKER_HUB;
  return s;
}

/** Messages are JSON lines on the wire. */
export function jsonLine(m: JsonMessage): string {
  return JSON.stringify(m) + '\n';
}

/** Decodes the auth header; exported for the API layer. */
export function authFromHeader(header: string | string[] | undefined): AuthConfig | undefined {
  return decodeAuthHeader(Array.isArray(header) ? header[0] : header);
}

export type { Reference };
