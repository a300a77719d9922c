import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from '../../request.js';
import { Reply } from '../../reply.js';
import type { VolumesBackend } from './backend.js';
import { checkCreateBody, create, list, remove } from './handlers.js';

/** A backend that records what the handlers ask of it. */
function fake() {
  const seen: unknown[] = [];
  const b: VolumesBackend = {
    list: async (f) => { seen.push(['list', f.toJSON()]); return { Volumes: [], Warnings: null }; },
    get: async (name) => { seen.push(['get', name]); throw new Error('unused'); },
    create: async (name, driver, o) => {
      seen.push(['create', name, driver, o]);
      return { Driver: driver || 'local', Labels: o.labels, Mountpoint: '/m', Name: name, Options: o.options, Scope: 'local' };
    },
    remove: async (name, o) => { seen.push(['remove', name, o]); },
    prune: async () => ({ VolumesDeleted: [], SpaceReclaimed: 0 }),
  };
  return { b, seen };
}

function req(o: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown }): Request {
  return { params: {}, query: {}, json: async () => o.body, ...o } as unknown as Request;
}

test('create: 201 with the volume; the body checked as Go decodes VolumeCreateBody', async () => {
  const { b, seen } = fake();
  const r = await create(b)(req({ body: { Name: 'v1', Driver: 'local', DriverOpts: { type: 'tmpfs' }, Labels: { a: 'b' } } }));
  assert.ok(r instanceof Reply);
  assert.equal(r.status, 201);
  assert.deepEqual(seen, [['create', 'v1', 'local', { options: { type: 'tmpfs' }, labels: { a: 'b' } }]]);
  assert.throws(() => checkCreateBody(undefined), { message: 'got EOF while reading request body' });
  assert.throws(() => checkCreateBody([]), { message: 'json: cannot unmarshal array into Go value of type volume.VolumeCreateBody' });
  assert.throws(() => checkCreateBody({ Labels: { a: 1 } }), { message: 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Labels of type string' });
  assert.throws(() => checkCreateBody({ DriverOpts: 'x' }), { message: 'json: cannot unmarshal string into Go struct field VolumeCreateBody.DriverOpts of type map[string]string' });
  assert.deepEqual(checkCreateBody(null), { Name: '', Driver: '', DriverOpts: null, Labels: null });
});

test('remove: 204, force read as dockerd\'s BoolValue; list passes the filters', async () => {
  const { b, seen } = fake();
  const r = await remove(b)(req({ params: { name: 'v1' }, query: { force: '1' } }));
  assert.equal((r as Reply).status, 204);
  await list(b)(req({ query: { filters: '{"dangling":["true"]}' } }));
  assert.deepEqual(seen, [['remove', 'v1', { force: true }], ['list', { dangling: { true: true } }]]);
});
