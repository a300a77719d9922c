import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Filters } from '../api/filters.js';
import type { EventMessage } from '../types/events.js';
import { familiarName, include } from './filter.js';

function ev(Type: string, Action: string, ID: string, Attributes: Record<string, string> = {}, scope: 'local' | 'swarm' = 'local'): EventMessage {
  return { Type, Action, Actor: { ID, Attributes }, scope, time: 0, timeNano: 0 };
}

const ctr = ev('container', 'start', 'f00dcafe1234', { name: 'web', image: 'busybox:latest', env: 'prod' });
const img = ev('image', 'tag', 'sha256:' + 'a'.repeat(64), { name: 'docker.io/library/alpine:3.19' });
const net = ev('network', 'connect', 'n123', { name: 'backend', container: 'f00dcafe1234', type: 'bridge' });
const vol = ev('volume', 'create', 'data', { driver: 'local' });
const dmn = ev('daemon', 'reload', 'DAEMONID', { name: 'host1' });
const pick = (f: Record<string, string[]>, evs = [ctr, img, net, vol, dmn]) =>
  evs.filter((e) => include(new Filters(f), e)).map((e) => e.Type);

test('no filters pass everything', () => {
  assert.deepEqual(pick({}), ['container', 'image', 'network', 'volume', 'daemon']);
});

test('type matches exactly', () => {
  assert.deepEqual(pick({ type: ['container', 'volume'] }), ['container', 'volume']);
  assert.deepEqual(pick({ type: ['contain'] }), []);
});

test('event matches the action exactly', () => {
  assert.deepEqual(pick({ event: ['start'] }), ['container']);
  assert.deepEqual(pick({ event: ['sta'] }), []);
});

test('exec_start, exec_create and health_status match actions with a detail as prefix', () => {
  const exec = ev('container', 'exec_start: sh -c ls', 'c1');
  const health = ev('container', 'health_status: healthy', 'c1');
  assert.equal(include(new Filters({ event: ['exec_start'] }), exec), true);
  assert.equal(include(new Filters({ event: ['health_status'] }), health), true);
  assert.equal(include(new Filters({ event: ['health_status'] }), exec), false);
  // Without one of those names in the filter, the match stays exact.
  assert.equal(include(new Filters({ event: ['exec'] }), exec), false);
});

test('container matches the ID by prefix or the name, and excludes other actors', () => {
  assert.deepEqual(pick({ container: ['f00d'] }), ['container']);
  assert.deepEqual(pick({ container: ['f00dcafe1234'] }), ['container']);
  assert.deepEqual(pick({ container: ['web'] }), ['container']);
  assert.deepEqual(pick({ container: ['nope'] }), []);
});

test('network, volume and daemon match their actor by ID or name', () => {
  assert.deepEqual(pick({ network: ['backend'] }), ['network']);
  assert.deepEqual(pick({ network: ['n1'] }), ['network']);
  assert.deepEqual(pick({ volume: ['data'] }), ['volume']);
  assert.deepEqual(pick({ daemon: ['host1'] }), ['daemon']);
  assert.deepEqual(pick({ daemon: ['DAEMONID'] }), ['daemon']);
});

test('plugin, node, service, secret and config match by ID or name', () => {
  for (const type of ['plugin', 'node', 'service', 'secret', 'config']) {
    const e = ev(type, 'create', 'id42', { name: `${type}-name` });
    assert.equal(include(new Filters({ [type]: ['id4'] }), e), true, type);
    assert.equal(include(new Filters({ [type]: [`${type}-name`] }), e), true, type);
    assert.equal(include(new Filters({ [type]: ['other'] }), e), false, type);
  }
});

test('image matches container image and image name, with or without tag', () => {
  assert.deepEqual(pick({ image: ['busybox:latest'] }), ['container']);
  assert.deepEqual(pick({ image: ['busybox'] }), ['container']);
  assert.deepEqual(pick({ image: ['alpine'] }), ['image']);
  assert.deepEqual(pick({ image: ['docker.io/library/alpine:3.19'] }), ['image']);
  assert.deepEqual(pick({ image: ['sha256:' + 'a'.repeat(64)] }), ['image']);
  assert.deepEqual(pick({ image: ['busybox:1.36'] }), []);
});

test('label matches actor attributes: key, key=value, all of them', () => {
  assert.deepEqual(pick({ label: ['env'] }), ['container']);
  assert.deepEqual(pick({ label: ['env=prod'] }), ['container']);
  assert.deepEqual(pick({ label: ['env=dev'] }), []);
  assert.deepEqual(pick({ label: ['env=prod', 'name=web'] }), ['container']);
  assert.deepEqual(pick({ label: ['env=prod', 'missing'] }), []);
});

test('scope matches exactly', () => {
  const swarm = ev('service', 'create', 's1', {}, 'swarm');
  assert.deepEqual(pick({ scope: ['swarm'] }, [ctr, swarm]), ['service']);
  assert.deepEqual(pick({ scope: ['local'] }, [ctr, swarm]), ['container']);
});

test('keys combine with AND, values of one key with OR', () => {
  const die = ev('container', 'die', 'f00dcafe1234', { name: 'web', image: 'busybox' });
  const other = ev('container', 'die', 'beef', { name: 'db', image: 'busybox' });
  const f = new Filters({ type: ['container'], event: ['start', 'die'], container: ['web'] });
  assert.deepEqual([ctr, die, other, net].map((e) => include(f, e)), [true, true, false, false]);
});

test('familiarName strips tag, digest and the default registry', () => {
  assert.equal(familiarName('busybox:latest'), 'busybox');
  assert.equal(familiarName('docker.io/library/busybox:1.36'), 'busybox');
  assert.equal(familiarName('index.docker.io/library/busybox'), 'busybox');
  assert.equal(familiarName('docker.io/me/app:v1'), 'me/app');
  assert.equal(familiarName('library/busybox'), 'busybox');
  assert.equal(familiarName('localhost:5000/a/b:t'), 'localhost:5000/a/b');
  assert.equal(familiarName('registry.example/x@sha256:' + 'b'.repeat(64)), 'registry.example/x');
  assert.equal(familiarName('sha256:' + 'c'.repeat(64)), 'sha256:' + 'c'.repeat(64));
  assert.equal(familiarName('BusyBox'), 'BusyBox');
});
