import { Readable, Transform } from 'node:stream';
import type { Request } from '../../request.js';
import { bool } from '../../request.js';
import { Reply, StreamReply } from '../../reply.js';
import { parseFilters } from '../../filters.js';
import { InvalidParameter } from '../../../lib/errors.js';
import type { ImagesBackend, ProgressMessage } from './backend.js';

const jsonLines = (items: object[]) => Readable.from(items.map((i) => JSON.stringify(i) + '\n'));

/** Renders progress as the CLI expects it: the bar text beside the numbers. */
function withBar(m: ProgressMessage): object {
  if (!m.progressDetail) return m;
  const { current, total } = m.progressDetail;
  const width = 50;
  const filled = total > 0 ? Math.min(width, Math.round((current / total) * width)) : width;
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
  return { ...m, progress: `[${bar}] ${humanSize(current)}/${humanSize(total)}` };
}

export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(3).replace(/\.?0+$/, '')}${units[i]}`;
}

export const list = (b: ImagesBackend) => (req: Request) => {
  const filters = parseFilters(req.query.filters);
  // The old `filter` parameter (API < 1.28) is a reference filter.
  if (req.query.filter) filters.add('reference', req.query.filter);
  return b.list({ all: bool(req.query.all), filters });
};

export const tag = (b: ImagesBackend) => async (req: Request) => {
  await b.tag(req.params.name!, req.query.repo ?? '', req.query.tag ?? '');
  return new Reply(201);
};

export const remove = (b: ImagesBackend) => (req: Request) =>
  b.remove(req.params.name!, { force: bool(req.query.force), prune: !bool(req.query.noprune) });

export const prune = (b: ImagesBackend) => (req: Request) => b.prune(parseFilters(req.query.filters));

export const load = (b: ImagesBackend) => async (req: Request) => {
  const messages = await b.load(req.body, req.signal);
  const quiet = bool(req.query.quiet);
  const out = quiet ? messages.filter((m) => m.stream) : messages.map(withBar);
  return new StreamReply(jsonLines(out));
};

export const save = (b: ImagesBackend) => (req: Request) => {
  const names = req.searchParams.getAll('names');
  if (req.params.name) names.unshift(req.params.name);
  if (names.length === 0) throw new InvalidParameter('no image names given');
  return new StreamReply(b.save(names), 'application/x-tar');
};

/** jsonmessage objects to JSON lines. */
const toJsonLines = () => new Transform({
  writableObjectMode: true,
  transform(m: object, _e, cb) { cb(null, JSON.stringify(m) + '\n'); },
});

const authHeader = (req: Request) => {
  const h = req.headers['x-registry-auth'];
  return Array.isArray(h) ? h[0] : h;
};

/** POST /images/create: pull (fromImage) or import (fromSrc). */
export const create = (b: ImagesBackend) => async (req: Request) => {
  const src = req.query.fromSrc;
  if (req.query.fromImage !== undefined && src === undefined) {
    const messages = await b.pull({
      fromImage: req.query.fromImage, tag: req.query.tag ?? '', platform: req.query.platform ?? '',
      auth: authHeader(req), signal: req.signal,
    });
    return new StreamReply(messages.pipe(toJsonLines()));
  }
  if (src === undefined) throw new InvalidParameter('fromImage or fromSrc is required');
  if (src !== '-') throw new InvalidParameter('importing from a URL is not supported: use fromSrc=-');
  const id = await b.import(req.body, {
    repo: req.query.repo ?? '', tag: req.query.tag ?? '', message: req.query.message ?? '',
    changes: req.searchParams.getAll('changes'), signal: req.signal,
  });
  return new StreamReply(jsonLines([{ status: id }]));
};

/** POST /images/{name}/push. */
export const push = (b: ImagesBackend) => async (req: Request) => {
  const messages = await b.push(req.params.name!, { tag: req.query.tag ?? '', auth: authHeader(req), signal: req.signal });
  return new StreamReply(messages.pipe(toJsonLines()));
};
