import { get, post, type Route } from '../../router.js';
import type { ExecBackend } from './backend.js';
import { create, resize, start } from './handlers.js';

export const routes = (b: ExecBackend): Route[] => [
  post('/containers/:id/exec', create(b)),
  post('/exec/:id/start', start(b)),
  post('/exec/:id/resize', resize(b)),
  get('/exec/:id/json', (req) => b.inspect(req.params.id!)),
];
