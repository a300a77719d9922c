import { get, post, type Route } from '../../router.js';
import type { DistributionBackend } from './backend.js';
import { inspect, login } from './handlers.js';

export const routes = (b: DistributionBackend): Route[] => [
  post('/auth', login(b)),
  get('/distribution/*name/json', inspect(b)),
];
