import { del, get, head, post, put, type Route } from '../../router.js';
import type { ContainersBackend } from './backend.js';
import { bool } from '../../request.js';
import { StreamReply } from '../../reply.js';
import { parseFilters } from '../../filters.js';
import { attach, commit, create, exportTar, getArchive, putArchive, statArchive, kill, list, logs, pause, remove, rename, resize, restart, start, stop, unpause, update, wait } from './handlers.js';

export const routes = (b: ContainersBackend): Route[] => [
  post('/containers/create', create(b)),
  get('/containers/json', list(b)),
  get('/containers/:id/json', (req) => b.inspect(req.params.id!, bool(req.query.size))),
  post('/containers/prune', (req) => b.prune(parseFilters(req.query.filters))),
  get('/containers/:id/logs', logs(b)),
  post('/containers/:id/start', start(b)),
  post('/containers/:id/stop', stop(b)),
  post('/containers/:id/restart', restart(b)),
  post('/containers/:id/kill', kill(b)),
  post('/containers/:id/wait', wait(b)),
  post('/containers/:id/attach', attach(b)),
  post('/containers/:id/resize', resize(b)),
  head('/containers/:id/archive', statArchive(b)),
  get('/containers/:id/archive', getArchive(b)),
  put('/containers/:id/archive', putArchive(b)),
  get('/containers/:id/stats', (req) => new StreamReply(b.stats(req.params.id!, {
    // stream defaults to true; one-shot only counts without streaming.
    stream: req.query.stream === undefined || req.query.stream === '' ? true : bool(req.query.stream),
    oneShot: bool(req.query['one-shot']), signal: req.signal,
  }))),
  get('/containers/:id/top', (req) => b.top(req.params.id!, req.query.ps_args ?? '')),
  post('/containers/:id/pause', pause(b)),
  post('/containers/:id/unpause', unpause(b)),
  post('/containers/:id/rename', rename(b)),
  post('/containers/:id/update', update(b)),
  post('/commit', commit(b)),
  get('/containers/:id/export', exportTar(b)),
  get('/containers/:id/changes', (req) => b.changes(req.params.id!)),
  del('/containers/:id', remove(b)),
];
