import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkUlimit, parseUlimit, ramInBytes, ulimitNames } from './units.js';

describe('ramInBytes (go-units)', () => {
  it('reads binary units, case-insensitive, with optional i and b', () => {
    const M = 1024 * 1024;
    assert.equal(ramInBytes('1024'), 1024);
    assert.equal(ramInBytes('64m'), 64 * M);
    assert.equal(ramInBytes('64M'), 64 * M);
    assert.equal(ramInBytes('64MB'), 64 * M);
    assert.equal(ramInBytes('64MiB'), 64 * M);
    assert.equal(ramInBytes('64mib'), 64 * M);
    assert.equal(ramInBytes('64 m'), 64 * M);
    assert.equal(ramInBytes('1k'), 1024);
    assert.equal(ramInBytes('1g'), 1024 ** 3);
    assert.equal(ramInBytes('2t'), 2 * 1024 ** 4);
    assert.equal(ramInBytes('1p'), 1024 ** 5);
    assert.equal(ramInBytes('1.5k'), 1536);
    assert.equal(ramInBytes('10b'), 10);
  });

  it('refuses what go-units refuses', () => {
    for (const bad of ['', 'abc', '-1', '64x', '64 mb b', 'm']) {
      assert.throws(() => ramInBytes(bad), { message: `invalid size: '${bad}'` });
    }
    assert.throws(() => ramInBytes('1.2.3'), { message: 'strconv.ParseFloat: parsing "1.2.3": invalid syntax' });
  });
});

describe('parseUlimit (go-units)', () => {
  it('reads soft and optional hard', () => {
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
    assert.deepEqual(parseUlimit('nproc=512'), { Name: 'nproc', Soft: 512, Hard: 512 });
    assert.deepEqual(parseUlimit('memlock=-1:-1'), { Name: 'memlock', Soft: -1, Hard: -1 });
    assert.deepEqual(parseUlimit('core=100:-1'), { Name: 'core', Soft: 100, Hard: -1 });
  });

  it('knows every go-units name', () => {
    assert.deepEqual([...ulimitNames].sort(), [
      'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
      'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
    ]);
    for (const n of ulimitNames) assert.equal(parseUlimit(`${n}=1`).Name, n);
  });

  it('refuses with go-units messages', () => {
    assert.throws(() => parseUlimit('nofile=2048:1024'), { message: 'ulimit soft limit must be less than or equal to hard limit: 2048 > 1024' });
    assert.throws(() => parseUlimit('nofile'), { message: 'invalid ulimit argument: nofile' });
    assert.throws(() => parseUlimit('bogus=1'), { message: 'invalid ulimit type: bogus' });
    assert.throws(() => parseUlimit('nofile=1:2:3'), { message: 'too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`' });
    assert.throws(() => parseUlimit('nofile=x'), { message: 'strconv.ParseInt: parsing "x": invalid syntax' });
    assert.throws(() => parseUlimit('nofile=1:y'), { message: 'strconv.ParseInt: parsing "y": invalid syntax' });
  });

  it('checkUlimit lets -1 as hard mean unlimited', () => {
    assert.deepEqual(checkUlimit({ Name: 'nofile', Soft: 5, Hard: -1 }), { Name: 'nofile', Soft: 5, Hard: -1 });
    assert.throws(() => checkUlimit({ Name: 'nofile', Soft: 5, Hard: 4 }), /5 > 4/);
  });
});
