import { Readable } from 'node:stream';
import type { Request } from '../../request.js';
import { bool, int } from '../../request.js';
import { created, hijacked, noContent, Reply, StreamReply } from '../../reply.js';
import { parseFilters } from '../../filters.js';
import { InvalidParameter } from '../../../lib/errors.js';
import { parseTimestamp } from '../../../events/index.js';
import type { ContainerConfig, CreateBody, HostConfig } from '../../../types/container.js';
import type { ContainersBackend } from './backend.js';
import { decompressStream } from '../../../archive/compression.js';
import { encodePathStat } from '../../../container/archive-path.js';

export const create = (b: ContainersBackend) => async (req: Request) => {
  const body = await req.json<CreateBody>();
  if (!body) throw new InvalidParameter('config cannot be empty in order to create a container');
  return created(await b.create(body, req.query.name));
};

export const list = (b: ContainersBackend) => (req: Request) =>
  b.list({ all: bool(req.query.all), limit: int(req.query.limit, 'limit', -1), size: bool(req.query.size), filters: parseFilters(req.query.filters) });

const timeout = (req: Request) => (req.query.t === undefined || req.query.t === '' ? undefined : int(req.query.t, 't', 10));

export const start = (b: ContainersBackend) => async (req: Request) => { await b.start(req.params.id!); return noContent(); };
export const stop = (b: ContainersBackend) => async (req: Request) => { await b.stop(req.params.id!, timeout(req)); return noContent(); };
export const restart = (b: ContainersBackend) => async (req: Request) => { await b.restart(req.params.id!, timeout(req)); return noContent(); };
export const kill = (b: ContainersBackend) => async (req: Request) => { await b.kill(req.params.id!, req.query.signal); return noContent(); };
export const remove = (b: ContainersBackend) => async (req: Request) => {
  await b.remove(req.params.id!, { force: bool(req.query.force), volumes: bool(req.query.v) });
  return noContent();
};

/** The head goes out at once (the CLI waits for it before starting); the body at the exit. */
export const wait = (b: ContainersBackend) => (req: Request) => {
  const { code } = b.wait(req.params.id!, req.query.condition ?? '');
  async function* body() {
    yield JSON.stringify({ StatusCode: await code, Error: null }) + '\n';
  }
  return new StreamReply(Readable.from(body()));
};

export const resize = (b: ContainersBackend) => async (req: Request) => {
  await b.resize(req.params.id!, int(req.query.h, 'h', 0), int(req.query.w, 'w', 0));
  return new Reply(200);
};
export const pause = (b: ContainersBackend) => async (req: Request) => { await b.pause(req.params.id!); return noContent(); };
export const unpause = (b: ContainersBackend) => async (req: Request) => { await b.unpause(req.params.id!); return noContent(); };
export const rename = (b: ContainersBackend) => async (req: Request) => {
  await b.rename(req.params.id!, req.query.name ?? '');
  return noContent();
};

export const update = (b: ContainersBackend) => async (req: Request) => {
  const body = await req.json<HostConfig>();
  if (!body) throw new InvalidParameter('update config cannot be empty');
  return b.update(req.params.id!, body);
};

export const commit = (b: ContainersBackend) => async (req: Request) => {
  const ref = req.query.container;
  if (!ref) throw new InvalidParameter('No container name or ID supplied');
  const body = await req.json<ContainerConfig>();
  const config = body && Object.keys(body).length ? body : undefined;
  const repo = req.query.repo ?? '';
  const res = await b.commit(ref, {
    repo, tag: req.query.tag ?? '', author: req.query.author ?? '', comment: req.query.comment ?? '',
    changes: req.searchParams.getAll('changes').filter((c) => c !== ''),
    // The API's default is to pause; only an explicit false does not.
    pause: req.query.pause === undefined || req.query.pause === '' ? true : bool(req.query.pause),
    ...(config ? { config } : {}),
  });
  return created(res);
};

export const exportTar = (b: ContainersBackend) => async (req: Request) =>
  new StreamReply(await b.export(req.params.id!), 'application/x-tar');

const PATH_STAT = 'X-Docker-Container-Path-Stat';
const archivePathOf = (req: Request) => {
  const path = req.query.path;
  if (!path) throw new InvalidParameter('Path cannot be empty');
  return path;
};

export const statArchive = (b: ContainersBackend) => async (req: Request) =>
  new Reply(200, undefined, { [PATH_STAT]: encodePathStat(await b.statPath(req.params.id!, archivePathOf(req))) });

export const getArchive = (b: ContainersBackend) => async (req: Request) => {
  const { stat, tar } = await b.archive(req.params.id!, archivePathOf(req));
  return new StreamReply(tar, 'application/x-tar', 200, { [PATH_STAT]: encodePathStat(stat) });
};

export const putArchive = (b: ContainersBackend) => async (req: Request) => {
  await b.extract(req.params.id!, archivePathOf(req), await decompressStream(req.body), {
    noOverwriteDirNonDir: bool(req.query.noOverwriteDirNonDir), copyUIDGID: bool(req.query.copyUIDGID),
  });
  return new Reply(200);
};

export const attach = (b: ContainersBackend) => async (req: Request) => {
  b.exists(req.params.id!);
  const conn = req.hijack();
  await b.attach(req.params.id!, conn, {
    stdin: bool(req.query.stdin), stdout: bool(req.query.stdout), stderr: bool(req.query.stderr),
    logs: bool(req.query.logs), stream: bool(req.query.stream),
    ...(req.query.detachKeys ? { detachKeys: req.query.detachKeys } : {}),
  });
  return hijacked;
};

export const logs = (b: ContainersBackend) => (req: Request) => {
  const stdout = bool(req.query.stdout);
  const stderr = bool(req.query.stderr);
  if (!stdout && !stderr) throw new InvalidParameter('Bad parameters: you must choose at least one stream');
  const tail = !req.query.tail || req.query.tail === 'all' ? 'all' as const : int(req.query.tail, 'tail', -1);
  const now = new Date();
  const since = req.query.since && req.query.since !== '0' ? parseTimestamp(req.query.since, now) : undefined;
  const until = req.query.until && req.query.until !== '0' ? parseTimestamp(req.query.until, now) : undefined;
  const { tty, stream } = b.logs(req.params.id!, {
    follow: bool(req.query.follow), tail: tail === -1 ? 'all' : tail, stdout, stderr,
    timestamps: bool(req.query.timestamps), signal: req.signal,
    ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}),
  });
  return new StreamReply(stream, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
};
