import { del, get, post, type Route } from '../../router.js';
import type { VolumesBackend } from './backend.js';
import { create, inspect, list, prune, remove } from './handlers.js';

export const routes = (b: VolumesBackend): Route[] => [
  get('/volumes', list(b)),
  get('/volumes/:name', inspect(b)),
  post('/volumes/create', create(b)),
  post('/volumes/prune', prune(b)),
  del('/volumes/:name', remove(b)),
];
