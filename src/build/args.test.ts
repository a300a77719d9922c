import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildArgs } from './args.js';

test('only declared args reach the environment, options win over defaults, ENV wins over ARG', () => {
  const a = new BuildArgs({ FROM_CLI: 'cli', UNUSED: 'x', HTTP_PROXY: 'http://proxy:3128' });
  a.addArg('FROM_CLI', 'default');
  a.addArg('WITH_DEFAULT', 'dflt');
  a.addArg('NO_VALUE', undefined);
  assert.deepEqual(a.filterAllowed([]).sort(), ['FROM_CLI=cli', 'HTTP_PROXY=http://proxy:3128', 'WITH_DEFAULT=dflt']);
  assert.deepEqual(a.filterAllowed(['WITH_DEFAULT=from-env']).sort(), ['FROM_CLI=cli', 'HTTP_PROXY=http://proxy:3128']);
  // The proxy args are not recorded in RUN's command unless declared.
  assert.equal(a.recorded('HTTP_PROXY=http://proxy:3128'), false);
  assert.equal(a.recorded('FROM_CLI=cli'), true);
  assert.deepEqual(a.unused(), ['UNUSED']);
});

test('meta args: usable in FROM, and in a stage that declares them again without a value', () => {
  const a = new BuildArgs({ VERSION: '2' });
  a.addMetaArg('VERSION', '1');
  a.addMetaArg('BASE', 'busybox');
  assert.deepEqual(a.metaEnv(), ['VERSION=2', 'BASE=busybox']);
  a.resetStage();
  assert.deepEqual(a.filterAllowed([]), []);
  a.addArg('BASE', undefined);
  assert.deepEqual(a.filterAllowed([]), ['BASE=busybox']);
  a.resetStage();
  assert.deepEqual(a.filterAllowed([]), [], 'a new stage starts with no args');
  assert.deepEqual(a.unused(), []);
});
