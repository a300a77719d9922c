import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goValue, parseGoBool, parseGoInt } from './go-text.js';

describe('goValue (%v of decoded JSON)', () => {
  it('prints scalars as Go does', () => {
    assert.equal(goValue('/a'), '/a');
    assert.equal(goValue(true), 'true');
    assert.equal(goValue(null), '<nil>');
    assert.equal(goValue(3), '3');
    assert.equal(goValue(1.5), '1.5');
    assert.equal(goValue(100000), '100000');
    assert.equal(goValue(1000000), '1e+06');
    assert.equal(goValue(123456789), '1.23456789e+08');
    assert.equal(goValue(0.00001), '1e-05');
  });

  it('prints slices as [a b] and maps sorted as map[k:v]', () => {
    assert.equal(goValue(['a', 'b']), '[a b]');
    assert.equal(goValue({ b: '2', a: 1 }), 'map[a:1 b:2]');
    assert.equal(goValue([{ base: '10.0.0.0/8', size: 24 }]), '[map[base:10.0.0.0/8 size:24]]');
  });
});

describe('parseGoInt', () => {
  it('reads decimal and, with base 0, prefixed numbers', () => {
    assert.equal(parseGoInt('42'), 42);
    assert.equal(parseGoInt('-1'), -1);
    assert.equal(parseGoInt('+7'), 7);
    assert.equal(parseGoInt('0x10', 0), 16);
    assert.equal(parseGoInt('010', 0), 8);
    assert.equal(parseGoInt('0o10', 0), 8);
    assert.equal(parseGoInt('0b101', 0), 5);
    assert.equal(parseGoInt('0', 0), 0);
  });

  it('fails with strconv wording', () => {
    assert.throws(() => parseGoInt('abc'), { message: 'strconv.ParseInt: parsing "abc": invalid syntax' });
    assert.throws(() => parseGoInt(''), { message: 'strconv.ParseInt: parsing "": invalid syntax' });
    assert.throws(() => parseGoInt('0x10'), { message: 'strconv.ParseInt: parsing "0x10": invalid syntax' });
    assert.throws(() => parseGoInt('1.5'), /invalid syntax/);
    assert.throws(() => parseGoInt('99999999999999999999'), { message: 'strconv.ParseInt: parsing "99999999999999999999": value out of range' });
  });
});

describe('parseGoBool', () => {
  it('accepts strconv.ParseBool spellings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(f), false);
  });

  it('refuses anything else', () => {
    assert.throws(() => parseGoBool('yes'), { message: 'strconv.ParseBool: parsing "yes": invalid syntax' });
  });
});
