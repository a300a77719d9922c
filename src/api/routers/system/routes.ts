import { get, type Route } from '../../router.js';
import type { SystemBackend } from './backend.js';
import { events, ping } from './handlers.js';

export const routes = (b: SystemBackend): Route[] => [
  get('/_ping', ping(b)),
  get('/version', () => b.version()),
  get('/info', () => b.info()),
  get('/events', events(b)),
  get('/system/df', () => b.diskUsage()),
];
