import { del, get, post, type Route } from '../../router.js';
import type { ImagesBackend } from './backend.js';
import { create, list, load, prune, push, remove, save, tag } from './handlers.js';

export const routes = (b: ImagesBackend): Route[] => [
  get('/images/json', list(b)),
  get('/images/get', save(b)),
  post('/images/load', load(b)),
  post('/images/create', create(b)),
  post('/images/prune', prune(b)),
  get('/images/*name/json', (req) => b.inspect(req.params.name!)),
  get('/images/*name/history', (req) => b.history(req.params.name!)),
  get('/images/*name/get', save(b)),
  post('/images/*name/tag', tag(b)),
  post('/images/*name/push', push(b)),
  del('/images/*name', remove(b)),
];
