import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../lib/errors.js';
import { checkKernel, checkRoot } from './system.js';

describe('checkRoot', () => {
  it('passes for uid 0', () => {
    assert.doesNotThrow(() => checkRoot(0));
  });
  it('refuses any other uid', () => {
    for (const uid of [1, 1000, 65534]) {
      assert.throws(() => checkRoot(uid), (err: unknown) => err instanceof ConfigError && err.message === 'berthd needs to be run as root');
    }
  });
});

describe('checkKernel', () => {
  it('is quiet from 3.10 on', () => {
    for (const r of ['3.10.0', '3.10.0-1160.el7.x86_64', '4.19.0-18-amd64', '6.1.0-13-amd64', '10.0']) assert.equal(checkKernel(r), undefined, r);
  });
  it('warns on older kernels', () => {
    assert.equal(
      checkKernel('3.9.11-generic'),
      'You are running linux kernel version 3.9.11-generic, which might be unstable running Berth. Please upgrade your kernel to 3.10.0 or newer.',
    );
    assert.match(checkKernel('2.6.32') as string, /version 2\.6\.32,/);
  });
  it('says nothing about a release it cannot read', () => {
    assert.equal(checkKernel('weird'), undefined);
  });
  it('reads the running kernel by default', () => {
    assert.ok(checkKernel() === undefined || typeof checkKernel() === 'string');
  });
});
