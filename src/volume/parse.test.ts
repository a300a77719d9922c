import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeTmpfsOptions, parseBind, parseMountSpec, parseVolumesFrom, tmpfsData, validMode } from './parse.js';

test('parseBind: names, host paths, modes as dockerd reads -v', () => {
  const named = parseBind('data:/srv/:ro,nocopy');
  assert.deepEqual([named.Type, named.Name, named.Destination, named.RW, named.CopyData, named.Relabel], ['volume', 'data', '/srv', false, false, 'ro,nocopy']);
  const host = parseBind('/host//dir/:/x:rshared');
  assert.deepEqual([host.Type, host.Source, host.Propagation, host.RW], ['bind', '/host/dir', 'rshared', true]);
  const anon = parseBind('/just/a/path');
  assert.deepEqual([anon.Type, anon.Name, anon.Destination], ['volume', '', '/just/a/path']);
  assert.equal(parseBind('v:/x', 'plug').Driver, 'plug');
  assert.throws(() => parseBind('a:b:c:d'), { message: "invalid volume specification: 'a:b:c:d'" });
  assert.throws(() => parseBind(':/x'), { message: "invalid volume specification: ':/x'" });
  assert.throws(() => parseBind('/x:ro'), { message: "invalid volume specification: '/x:ro'" });
  assert.throws(() => parseBind('/a:/b:bogus'), { message: 'invalid mode: bogus' });
  assert.throws(() => parseBind('/a:/b:ro,rw'), { message: 'invalid mode: ro,rw' });
  assert.throws(() => parseBind('/a:/'), { message: "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'" });
  assert.throws(() => parseBind('/a:rel'), { message: "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute" });
  assert.equal(validMode('z,ro,rprivate,nocopy,cached'), true);
});

test('parseMountSpec and volumes-from specs', () => {
  assert.throws(() => parseMountSpec({ Type: 'bind', Source: '/definitely/not/here', Target: '/x' }),
    { message: 'invalid mount config for type "bind": bind source path does not exist: /definitely/not/here' });
  assert.throws(() => parseMountSpec({ Type: 'tmpfs', Source: 'x', Target: '/x' }), { message: 'invalid mount config for type "tmpfs": field Source must not be specified' });
  assert.throws(() => parseMountSpec({ Type: 'volume', Target: '' }), { message: 'invalid mount config for type "volume": field Target must not be empty' });
  assert.throws(() => parseMountSpec({ Type: 'npipe', Target: '/x' }), { message: 'invalid mount config for type "npipe": mount type unknown' });
  assert.deepEqual(parseVolumesFrom('c1:ro'), { id: 'c1', mode: 'ro' });
  assert.deepEqual(parseVolumesFrom('c1'), { id: 'c1', mode: 'rw' });
  assert.throws(() => parseVolumesFrom('c1:nocopy'), { message: 'invalid mode: nocopy' });
  assert.throws(() => parseVolumesFrom(''), { message: 'volumes-from specification cannot be an empty string' });
});

test('tmpfs options: --mount sizes in units, defaults merged with the user\'s', () => {
  assert.equal(tmpfsData({ SizeBytes: 3 * 1024 * 1024, Mode: 0o1777 }, true), 'ro,mode=1777,size=3m');
  assert.equal(tmpfsData({ SizeBytes: 1500 }, false), 'size=1500');
  assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', 'exec', 'size=1m', 'size=2m', 'shared']),
    ['nosuid', 'nodev', 'exec', 'size=2m', 'shared']);
});
