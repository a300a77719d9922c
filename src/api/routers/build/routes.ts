import { post, type Route } from '../../router.js';
import type { BuildBackend } from './backend.js';
import { build, prune } from './handlers.js';

export const routes = (b: BuildBackend): Route[] => [
  post('/build', build(b)),
  post('/build/prune', prune(b)),
];
