import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Filters } from '../../filters.js';
import type { NetworkResource } from '../../../network/index.js';
import { listFilter, pruneFilter } from './handlers.js';
import { routes, type NetworkBackend } from './routes.js';

const net = (name: string, o: Partial<NetworkResource> = {}): NetworkResource => ({
  Name: name, Id: `${name}`.padEnd(64, '0'), Created: '2026-01-01T00:00:00Z', Scope: 'local', Driver: 'bridge', EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false,
  ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {}, ...o,
});
const all = [net('bridge', { Containers: { c1: { Name: 'x', EndpointID: 'e', MacAddress: '', IPv4Address: '', IPv6Address: '' } } }),
  net('host', { Driver: 'host' }), net('none', { Driver: 'null' }), net('mine', { Labels: { team: 'a' } }),
  net('busy', { Containers: { c2: { Name: 'y', EndpointID: 'e', MacAddress: '', IPv4Address: '', IPv6Address: '' } } })];
const names = (f: Record<string, string[]>) => all.filter(listFilter(new Filters(f))).map((n) => n.Name);

test('list filters: type, dangling, label, driver', () => {
  assert.deepEqual(names({ type: ['custom'] }), ['mine', 'busy']);
  assert.deepEqual(names({ type: ['builtin'] }), ['bridge', 'host', 'none']);
  assert.deepEqual(names({ dangling: ['true'] }), ['mine']);
  assert.deepEqual(names({ dangling: ['false'] }), ['bridge', 'host', 'none', 'busy']);
  assert.deepEqual(names({ label: ['team=a'] }), ['mine']);
  assert.deepEqual(names({ driver: ['null'] }), ['none']);
  assert.throws(() => names({ type: ['other'] }), /invalid filter: 'type'='other'/);
  assert.throws(() => names({ dangling: ['maybe'] }), /invalid filter 'dangling=maybe'/);
  assert.throws(() => names({ colour: ['x'] }), /invalid filter 'colour'/);
});

test('prune filters: until and label', () => {
  const now = Date.parse('2026-01-02T00:00:00Z');
  assert.equal(pruneFilter(new Filters({ until: ['12h'] }), now)(net('a')), true);
  assert.equal(pruneFilter(new Filters({ until: ['2025-12-31T00:00:00Z'] }), now)(net('a')), false);
  assert.equal(pruneFilter(new Filters({ 'label!': ['team'] }), now)(net('a', { Labels: { team: 'x' } })), false);
});

test('routes: create answers 201, list hides Containers, connect passes the endpoint config', async () => {
  const calls: unknown[] = [];
  const b: NetworkBackend = {
    list: async () => all, inspect: async (ref) => net(ref),
    createNetwork: async (body) => { calls.push(body); return { Id: 'x'.repeat(64), Warning: '' }; },
    removeNetwork: async () => {}, prune: async () => [],
    connect: async (n, c, e) => { calls.push([n, c, e]); }, disconnect: async () => {},
  };
  const table = routes(b);
  const find = (method: string, path: string) => table.find((r) => r.method === method && r.pattern === path)!;
  const req = (o: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown }) =>
    ({ params: o.params ?? {}, query: o.query ?? {}, json: async () => o.body }) as never;
  const created = await find('POST', '/networks/create').handler(req({ body: { Name: 'n1' } })) as { status: number };
  assert.equal(created.status, 201);
  const list = await find('GET', '/networks').handler(req({})) as NetworkResource[];
  assert.ok(list.every((n) => Object.keys(n.Containers).length === 0));
  await find('POST', '/networks/:id/connect').handler(req({ params: { id: 'n1' }, body: { Container: 'c', EndpointConfig: { Aliases: ['a'] } } }));
  assert.deepEqual(calls, [{ Name: 'n1' }, ['n1', 'c', { Aliases: ['a'] }]]);
  await assert.rejects(async () => find('POST', '/networks/:id/disconnect').handler(req({ params: { id: 'n1' }, body: {} })), /no container specified/);
});
