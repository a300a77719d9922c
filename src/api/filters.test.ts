import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameter } from '../lib/errors.js';
import { Filters, parseFilters } from './filters.js';

const invalid = (message: string | RegExp) => (e: unknown) => {
  assert.ok(e instanceof InvalidParameter, `expected InvalidParameter, got ${String(e)}`);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};

test('empty or missing parameter means no filters', () => {
  assert.equal(parseFilters(undefined).size, 0);
  assert.equal(parseFilters('').size, 0);
  assert.equal(parseFilters('{}').size, 0);
  assert.equal(parseFilters('null').size, 0);
});

test('current form {"key":{"value":true}}', () => {
  const f = parseFilters('{"label":{"a=b":true,"c":true},"status":{"running":true}}');
  assert.deepEqual(f.keys().sort(), ['label', 'status']);
  assert.deepEqual(f.get('label').sort(), ['a=b', 'c']);
  assert.deepEqual(f.get('nope'), []);
  assert.equal(f.has('status'), true);
  assert.equal(f.has('name'), false);
});

test('legacy form {"key":["value"]}', () => {
  const f = parseFilters('{"dangling":["true"],"label":["x","y=z"]}');
  assert.deepEqual(f.get('dangling'), ['true']);
  assert.deepEqual(f.get('label').sort(), ['x', 'y=z']);
});

test('invalid JSON and wrong shapes are InvalidParameter', () => {
  assert.throws(() => parseFilters('{"label":'), invalid(/^invalid filter: /));
  assert.throws(() => parseFilters('[1,2]'), invalid(/^invalid filter/));
  assert.throws(() => parseFilters('{"a":{"x":"yes"}}'), invalid(/^invalid filter/));
  // One document, one form: Go tries each form on the whole.
  assert.throws(() => parseFilters('{"a":{"x":true},"b":["y"]}'), invalid(/^invalid filter/));
});

test('a key with no values is present but filters nothing', () => {
  const f = parseFilters('{"status":{}}');
  assert.equal(f.has('status'), true);
  assert.equal(f.match('status', 'exited'), true);
});

test('validate names the first unknown key as dockerd does', () => {
  const f = parseFilters('{"status":{"running":true},"colour":{"red":true}}');
  assert.throws(() => f.validate(['status', 'label']), invalid("invalid filter 'colour'"));
  assert.doesNotThrow(() => f.validate(['status', 'colour']));
});

test('match and exactMatch: true without a filter, else one value equals', () => {
  const f = new Filters({ status: ['running', 'paused'] });
  assert.equal(f.match('status', 'running'), true);
  assert.equal(f.match('status', 'exited'), false);
  assert.equal(f.match('status', 'run'), false);
  assert.equal(f.exactMatch('name', 'anything'), true);
  assert.equal(f.uniqueExactMatch('status', 'running'), false);
  assert.equal(new Filters({ id: ['x'] }).uniqueExactMatch('id', 'x'), true);
});

test('a false flag keeps the key but never matches, as in Go', () => {
  const f = parseFilters('{"status":{"running":false}}');
  assert.equal(f.match('status', 'running'), false);
});

test('fuzzyMatch accepts a value as prefix', () => {
  const f = new Filters({ container: ['abc1'] });
  assert.equal(f.fuzzyMatch('container', 'abc123'), true);
  assert.equal(f.fuzzyMatch('container', 'abc1'), true);
  assert.equal(f.fuzzyMatch('container', 'ab'), false);
  assert.equal(f.fuzzyMatch('image', 'whatever'), true);
});

test('regexMatch is dockerd Match: exact or unanchored pattern; bad patterns only match exactly', () => {
  const f = new Filters({ name: ['^web-\\d+$', '(('] });
  assert.equal(f.regexMatch('name', 'web-12'), true);
  assert.equal(f.regexMatch('name', 'db-1'), false);
  assert.equal(f.regexMatch('name', '(('), true);
  assert.equal(new Filters({ name: ['eb'] }).regexMatch('name', 'web'), true);
});

test('matchKVList: label=key and label=key=value, all must hold', () => {
  const labels = { env: 'prod', tier: 'web', empty: '' };
  assert.equal(new Filters({ label: ['env'] }).matchKVList('label', labels), true);
  assert.equal(new Filters({ label: ['env=prod'] }).matchKVList('label', labels), true);
  assert.equal(new Filters({ label: ['env=dev'] }).matchKVList('label', labels), false);
  assert.equal(new Filters({ label: ['env=prod', 'tier=web'] }).matchKVList('label', labels), true);
  assert.equal(new Filters({ label: ['env=prod', 'nope'] }).matchKVList('label', labels), false);
  assert.equal(new Filters({ label: ['empty='] }).matchKVList('label', labels), true);
  assert.equal(new Filters({ label: ['a=b=c'] }).matchKVList('label', { a: 'b=c' }), true);
  assert.equal(new Filters({ label: ['env'] }).matchKVList('label', {}), false);
  assert.equal(new Filters({ label: ['toString'] }).matchKVList('label', { x: '1' }), false);
  assert.equal(new Filters().matchKVList('label', {}), true);
});

test('bool: undefined when absent, true/1, false/0, else invalid', () => {
  assert.equal(new Filters().bool('dangling'), undefined);
  assert.equal(new Filters({ dangling: ['true'] }).bool('dangling'), true);
  assert.equal(new Filters({ dangling: ['1'] }).bool('dangling'), true);
  assert.equal(new Filters({ dangling: ['0'] }).bool('dangling'), false);
  assert.throws(() => new Filters({ dangling: ['yes'] }).bool('dangling'), invalid("invalid filter 'dangling=yes'"));
  assert.throws(() => new Filters({ dangling: ['true', 'false'] }).bool('dangling'), invalid(/^invalid filter 'dangling=/));
});

test('toJSON writes the current form and parses back', () => {
  const f = new Filters({ label: ['a=b'], status: ['exited', 'dead'] });
  const json = JSON.stringify(f);
  assert.deepEqual(JSON.parse(json), { label: { 'a=b': true }, status: { exited: true, dead: true } });
  assert.deepEqual(parseFilters(json).toJSON(), f.toJSON());
});
