import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCreateBody, checkHostConfig } from './body.js';

test('wrong JSON types in a create body are refused with Go decoder wording', () => {
  assert.throws(() => checkCreateBody([]), { message: 'json: cannot unmarshal array into Go value of type container.Config' });
  assert.throws(() => checkCreateBody({ Image: 5 }), { message: 'json: cannot unmarshal number into Go struct field Config.Image of type string' });
  assert.throws(() => checkCreateBody({ Image: 'b', Env: [5] }), { message: 'json: cannot unmarshal number into Go struct field Config.Env of type string' });
  assert.throws(() => checkCreateBody({ Image: 'b', HostConfig: [] }), /Go struct field Config.HostConfig of type struct/);
  assert.throws(() => checkCreateBody({ Image: 'b', HostConfig: { Memory: 'x' } }), /HostConfig.Memory of type int64/);
  assert.throws(() => checkCreateBody({ Image: 'b', HostConfig: { CpuShares: 1e400 } }), /HostConfig.CpuShares of type int64/);
  assert.throws(() => checkHostConfig({ RestartPolicy: { Name: 5 } }), /RestartPolicy.Name of type string/);
  assert.throws(() => checkHostConfig({ PortBindings: { '80/tcp': [{ HostPort: 80 }] } }), /PortBinding.HostPort of type string/);
});

test('well-typed bodies pass, and Cmd may be a plain string as a Go strslice allows', () => {
  checkCreateBody({ Image: 'busybox', Cmd: 'ls', Env: ['A=1'], Labels: { a: 'b' }, HostConfig: { Memory: 1 << 20, Binds: null, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } } });
  checkHostConfig({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '81/tcp': null }, Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }] });
});
