import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidParameter } from '../../lib/errors.js';
import { parseSecurityOpt } from './security-opt.js';

describe('parseSecurityOpt', () => {
  it('accepts what dockerd accepts', () => {
    assert.deepEqual(parseSecurityOpt(null), { noNewPrivileges: false, labelOpts: [], deprecated: [] });
    const o = parseSecurityOpt(['no-new-privileges', 'label=disable', 'label:user:u', 'label=role:r', 'label=type:t',
      'label=level:s0', 'apparmor=unconfined', 'seccomp=unconfined', 'disable']);
    assert.equal(o.noNewPrivileges, true);
    assert.deepEqual(o.labelOpts, ['disable', 'user:u', 'role:r', 'type:t', 'level:s0', 'disable']);
    assert.equal(o.apparmorProfile, 'unconfined');
    assert.equal(o.seccompProfile, 'unconfined');
    assert.deepEqual(o.deprecated, ['label:user:u']);
    assert.equal(parseSecurityOpt(['no-new-privileges=true', 'no-new-privileges=false']).noNewPrivileges, false);
    assert.equal(parseSecurityOpt(['no-new-privileges:1']).noNewPrivileges, true);
    assert.equal(parseSecurityOpt(['seccomp:/p.json']).seccompProfile, '/p.json');
    // The value may itself hold '=' (JSON sent by the CLI).
    assert.equal(parseSecurityOpt(['seccomp={"a":"b=c"}']).seccompProfile, '{"a":"b=c"}');
  });
  it('rejects with dockerd messages', () => {
    const bad = (opt: string, msg: string) => assert.throws(() => parseSecurityOpt([opt]),
      (e: Error) => e instanceof InvalidParameter && e.message === msg);
    bad('foo', 'invalid --security-opt 1: "foo"');
    bad('foo=bar', 'invalid --security-opt 2: "foo=bar"');
    bad('foo:bar', 'invalid --security-opt 2: "foo:bar"');
    bad('no-new-privileges=maybe', 'invalid --security-opt 2: "no-new-privileges=maybe"');
  });
});
