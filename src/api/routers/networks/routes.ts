import { del, get, post, type Route } from '../../router.js';
import { parseFilters } from '../../filters.js';
import { noContent } from '../../reply.js';
import { Forbidden, InvalidParameter } from '../../../lib/errors.js';
import type { NetworkResource } from '../../../network/bridge.js';

/** What the /networks routes need from the network subsystem. */
export interface NetworkBackend {
  list(): Promise<NetworkResource[]>;
  inspect(ref: string): Promise<NetworkResource>;
}

const PREDEFINED = ['bridge', 'host', 'none'];

export const routes = (b: NetworkBackend): Route[] => [
  get('/networks', async (req) => {
    const f = parseFilters(req.query.filters);
    f.validate(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
    for (const t of f.get('type')) {
      if (t !== 'custom' && t !== 'builtin') throw new InvalidParameter(`invalid filter: 'type'='${t}'`);
    }
    const all = await b.list();
    return all.filter((n) =>
      (!f.has('name') || f.match('name', n.Name))
      && (!f.has('id') || f.match('id', n.Id))
      && (!f.has('driver') || f.exactMatch('driver', n.Driver))
      && (!f.has('scope') || f.exactMatch('scope', n.Scope))
      && (!f.has('label') || f.matchKVList('label', n.Labels))
      && (!f.has('type') || f.exactMatch('type', PREDEFINED.includes(n.Name) ? 'builtin' : 'custom'))
      && (!f.has('dangling') || f.bool('dangling') !== true))
      .map((n) => ({ ...n, Containers: {} }));
  }),
  get('/networks/:id', (req) => b.inspect(req.params.id!)),
  del('/networks/:id', async (req) => {
    const n = await b.inspect(req.params.id!);
    if (PREDEFINED.includes(n.Name)) throw new Forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
    return noContent();
  }),
  post('/networks/create', async (req) => {
    const body = (await req.json<{ Name?: string }>()) ?? {};
    if (PREDEFINED.includes(body.Name ?? '')) throw new Forbidden(`operation is not permitted on predefined ${body.Name} network `);
    throw new InvalidParameter('user-defined networks are not supported by this berthd yet');
  }),
  post('/networks/:id/connect', async (req) => {
    await b.inspect(req.params.id!);
    throw new InvalidParameter('connecting a container to a network is not supported by this berthd yet');
  }),
  post('/networks/:id/disconnect', async (req) => {
    await b.inspect(req.params.id!);
    throw new InvalidParameter('disconnecting a container from a network is not supported by this berthd yet');
  }),
  post('/networks/prune', () => ({ NetworksDeleted: null })),
];
