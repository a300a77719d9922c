import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, match, get, head, del } from './router.js';
import { splitVersion, compareVersions, checkVersion } from './version.js';
import { bool, int } from './request.js';

const routes = compile([
  get('/containers/:id/json', () => 'inspect'),
  del('/containers/:id', () => 'remove'),
  get('/images/*name/json', () => 'image'),
  get('/_ping', () => 'ping'),
  head('/only-head', () => 'head'),
]);

test('match binds parameters and decodes them', () => {
  const m = match(routes, 'GET', '/containers/a%2Fb/json');
  assert.equal(m?.route.pattern, '/containers/:id/json');
  assert.deepEqual(m?.params, { id: 'a/b' });
  assert.equal(match(routes, 'DELETE', '/containers/abc')?.params.id, 'abc');
  assert.equal(match(routes, 'POST', '/containers/abc'), undefined);
  assert.equal(match(routes, 'GET', '/containers/abc/json/extra'), undefined);
});

test('HEAD falls back to GET', () => {
  assert.equal(match(routes, 'HEAD', '/_ping')?.route.pattern, '/_ping');
  assert.equal(match(routes, 'HEAD', '/only-head')?.route.method, 'HEAD');
});

test('splitVersion', () => {
  assert.deepEqual(splitVersion('/v1.41/info'), { version: '1.41', path: '/info' });
  assert.deepEqual(splitVersion('/info'), { version: '1.41', path: '/info' });
  assert.deepEqual(splitVersion('/v1.24'), { version: '1.24', path: '/' });
  assert.deepEqual(splitVersion('/volumes/v1.2'), { version: '1.41', path: '/volumes/v1.2' });
});

test('compareVersions is numeric, not lexical', () => {
  assert.equal(compareVersions('1.9', '1.10'), -1);
  assert.equal(compareVersions('1.41', '1.41'), 0);
  assert.equal(compareVersions('1.41', '1.4'), 1);
  assert.doesNotThrow(() => checkVersion('1.24'));
  assert.doesNotThrow(() => checkVersion('1.41'));
  assert.throws(() => checkVersion('1.23'), /too old/);
  assert.throws(() => checkVersion('1.42'), /too new/);
});

test('bool and int read query values as dockerd does', () => {
  for (const v of ['1', 'true', 'True', 'yes']) assert.equal(bool(v), true, v);
  for (const v of [undefined, '', '0', 'false', 'no', 'none']) assert.equal(bool(v), false, String(v));
  assert.equal(int(undefined, 't', 10), 10);
  assert.equal(int('-5', 't', 10), -5);
  assert.throws(() => int('x', 't', 10), /invalid value for t: x/);
});
