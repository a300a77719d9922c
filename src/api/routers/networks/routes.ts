import { del, get, post, type Route } from '../../router.js';
import { parseFilters } from '../../filters.js';
import { created, noContent } from '../../reply.js';
import { InvalidParameter } from '../../../lib/errors.js';
import type { NetworkCreate } from '../../../network/index.js';
import type { EndpointSettings } from '../../../types/container.js';
import type { NetworkBackend } from './backend.js';
import { listFilter, pruneFilter } from './handlers.js';

export type { NetworkBackend } from './backend.js';

export const routes = (b: NetworkBackend): Route[] => [
  get('/networks', async (req) => {
    const keep = listFilter(parseFilters(req.query.filters));
    return (await b.list()).filter(keep).map((n) => ({ ...n, Containers: {} }));
  }),
  get('/networks/:id', (req) => b.inspect(req.params.id!)),
  del('/networks/:id', async (req) => {
    await b.removeNetwork(req.params.id!);
    return noContent();
  }),
  post('/networks/create', async (req) => {
    const body = await req.json<NetworkCreate>();
    if (!body || typeof body !== 'object') throw new InvalidParameter('invalid JSON: request body is empty');
    return created(await b.createNetwork(body));
  }),
  post('/networks/:id/connect', async (req) => {
    const body = (await req.json<{ Container?: string; EndpointConfig?: EndpointSettings | null }>()) ?? {};
    if (!body.Container) throw new InvalidParameter('no container specified');
    await b.connect(req.params.id!, body.Container, body.EndpointConfig ?? undefined);
    return undefined;
  }),
  post('/networks/:id/disconnect', async (req) => {
    const body = (await req.json<{ Container?: string; Force?: boolean }>()) ?? {};
    if (!body.Container) throw new InvalidParameter('no container specified');
    await b.disconnect(req.params.id!, body.Container, !!body.Force);
    return undefined;
  }),
  post('/networks/prune', async (req) => {
    const keep = pruneFilter(parseFilters(req.query.filters));
    const deleted = await b.prune(keep);
    return { NetworksDeleted: deleted.length ? deleted : null };
  }),
];
