import { PassThrough } from 'node:stream';
import type { Request } from '../../request.js';
import { bool, int } from '../../request.js';
import { StreamReply } from '../../reply.js';
import { InvalidParameter, NotImplemented } from '../../../lib/errors.js';
import type { BuildBackend, BuildMessage, BuildRequest } from './backend.js';

function json<T>(value: string | undefined, what: string, dflt: T): T {
  if (value === undefined || value === '') return dflt;
  try {
    return JSON.parse(value) as T;
  } catch (err) {
    throw new InvalidParameter(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** X-Registry-Config: base64url of a JSON map from registry to credentials; unreadable means none, as dockerd. */
function registryConfig(header: string | string[] | undefined): Record<string, Record<string, unknown>> {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return {};
  try {
    const v = JSON.parse(Buffer.from(h.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    return v && typeof v === 'object' ? v as Record<string, Record<string, unknown>> : {};
  } catch {
    return {};
  }
}

/** One jsonmessage as Go's streamformatter writes it: HTML characters escaped, CRLF after. */
export function goJsonLine(m: unknown): string {
  return JSON.stringify(m).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\r\n';
}

/** Parses the query of POST /build as dockerd's newImageBuildOptions. */
export function buildRequest(req: Request, experimental: boolean): BuildRequest {
  const q = req.query;
  if (req.searchParams.getAll('securityopt').length) {
    throw new InvalidParameter('The daemon on this platform does not support setting security options on build');
  }
  const isolation = q.isolation ?? '';
  if (isolation !== '' && isolation !== 'default') throw new InvalidParameter(`Unsupported isolation: "${isolation}"`);
  const ulimits = json<Array<{ Name: string; Soft: number; Hard: number }> | null>(q.ulimits, 'error reading ulimit settings', []);
  const buildArgs = json<Record<string, string | null>>(q.buildargs, 'error reading build args', {});
  const labels = json<Record<string, string>>(q.labels, 'error reading labels', {});
  const cacheFrom = json<string[]>(q.cachefrom, 'error reading cache-from', []);
  // `outputs` is read and, as by dockerd's classic builder, not used.
  json<unknown>(q.outputs, 'error reading outputs', []);
  const version = q.version ?? '';
  if (version !== '' && version !== '1' && version !== '2') throw new InvalidParameter(`invalid version "${version}"`);
  if (version === '2') throw new InvalidParameter('BuildKit is not supported by this daemon: use the classic builder (version=1)');
  if (bool(q.squash) && !experimental) throw new InvalidParameter('squash is only supported with experimental mode');
  // With experimental on, dockerd squashes; this builder cannot yet, and says so rather than ignore it.
  if (bool(q.squash)) throw new NotImplemented('squash is not supported by this daemon\'s builder yet');
  const extraHosts = req.searchParams.getAll('extrahosts').flatMap((h) => h.split(',')).filter(Boolean);
  return {
    context: req.body,
    remote: q.remote ?? '',
    dockerfile: q.dockerfile ?? '',
    tags: req.searchParams.getAll('t').filter(Boolean),
    quiet: bool(q.q),
    noCache: bool(q.nocache),
    // rm defaults to true (API >= 1.12) when the parameter is absent; forcerm implies it.
    rm: bool(q.forcerm) || q.rm === undefined || q.rm === '' ? true : bool(q.rm),
    forceRm: bool(q.forcerm),
    pull: bool(q.pull),
    buildArgs: buildArgs ?? {},
    labels: labels ?? {},
    target: q.target ?? '',
    networkMode: q.networkmode ?? '',
    extraHosts,
    memory: int(q.memory, 'memory', 0),
    memorySwap: int(q.memswap, 'memswap', 0),
    cpuShares: int(q.cpushares, 'cpushares', 0),
    cpusetCpus: q.cpusetcpus ?? '',
    cpusetMems: q.cpusetmems ?? '',
    cpuPeriod: int(q.cpuperiod, 'cpuperiod', 0),
    cpuQuota: int(q.cpuquota, 'cpuquota', 0),
    shmSize: int(q.shmsize, 'shmsize', 0),
    ulimits: ulimits ?? [],
    cgroupParent: q.cgroupparent ?? '',
    cacheFrom: cacheFrom ?? [],
    platform: q.platform ?? '',
    squash: bool(q.squash),
    registryConfig: registryConfig(req.headers['x-registry-config']),
    wantAux: !req.versionBelow?.('1.30'),
    signal: req.signal,
  };
}

/**
 * POST /build. The status is decided by the first message: an error before any output (a
 * Dockerfile that does not parse, a missing base image before its step printed) is an error
 * response; once output went out, errors travel in the stream as errorDetail.
 */
export const build = (b: BuildBackend) => async (req: Request) => {
  const opts = buildRequest(req, b.experimental);
  const out = new PassThrough();
  let started: (() => void) | undefined;
  const first = new Promise<void>((r) => { started = r; });
  const emit = async (m: BuildMessage) => {
    started?.();
    if (!out.write(goJsonLine(m))) await new Promise<void>((r) => { out.once('drain', r); out.once('close', r); });
  };
  const result = b.build(opts, emit).then(() => null, (err: unknown) => err as Error);
  const early = await Promise.race([first.then(() => undefined), result]);
  if (early instanceof Error) throw early;
  void result.then((err) => {
    if (err) {
      const code = (err as { code?: unknown }).code;
      const detail = typeof code === 'number' ? { code, message: err.message } : { message: err.message };
      out.write(goJsonLine({ errorDetail: detail, error: err.message }));
    }
    out.end();
  });
  return new StreamReply(out);
};

export const prune = (b: BuildBackend) => () => b.prune();
