import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameConfig } from './cache.js';

test('sameConfig compares as dockerd\'s cache: commands, env, labels, ports, volumes; not WorkingDir', () => {
  const base = { Cmd: ['/bin/sh', '-c', '#(nop) ENV A=1'], Env: ['A=1'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} }, WorkingDir: '/x' };
  assert.ok(sameConfig(base, { ...base }));
  assert.ok(sameConfig(base, { ...base, WorkingDir: '/other' }));
  assert.ok(!sameConfig(base, { ...base, Cmd: ['/bin/sh', '-c', '#(nop) ENV A=2'] }));
  assert.ok(!sameConfig(base, { ...base, Env: ['A=1', 'B=2'] }));
  assert.ok(!sameConfig(base, { ...base, Labels: { a: 'c' } }));
  assert.ok(!sameConfig(base, { ...base, ExposedPorts: { '81/tcp': {} } }));
  assert.ok(!sameConfig(base, { ...base, Volumes: { '/v': {} } }));
  assert.ok(!sameConfig(base, { ...base, OpenStdin: true }), 'an OpenStdin config never matches');
  assert.ok(!sameConfig(undefined, base));
});
