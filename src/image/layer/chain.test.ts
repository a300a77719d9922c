import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chainId, chainIds } from './chain.js';

test('chain IDs: the first is its diff ID, the next hash parent and diff', () => {
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  assert.equal(chainId(undefined, a), a);
  const ab = `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
  assert.equal(chainId(a, b), ab);
  assert.deepEqual(chainIds([a, b]), [a, ab]);
  assert.deepEqual(chainIds([]), []);
});
