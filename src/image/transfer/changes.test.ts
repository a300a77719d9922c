import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from './changes.js';

test('changes apply the config instructions', () => {
  const c = applyChanges({ Env: ['A=0'] }, [
    'CMD ["/bin/app", "-v"]', 'ENTRYPOINT /entry --flag', 'ENV A=1 B="two words"', 'LABEL team=x',
    'EXPOSE 80 53/udp', 'USER nobody', 'WORKDIR /srv', 'VOLUME /data', 'STOPSIGNAL SIGINT', 'ONBUILD RUN true',
  ]);
  assert.deepEqual(c.Cmd, ['/bin/app', '-v']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/entry --flag']);
  assert.deepEqual(c.Env, ['A=1', 'B=two words']);
  assert.deepEqual(c.Labels, { team: 'x' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(c.User, 'nobody');
  assert.equal(c.WorkingDir, '/srv');
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.OnBuild, ['RUN true']);
  assert.deepEqual(applyChanges({}, ['ENV K v w']).Env, ['K=v w']);
});

test('changes refuse instructions that are not config changes', () => {
  assert.throws(() => applyChanges({}, ['RUN echo']), /run is not a valid change command/);
  assert.throws(() => applyChanges({}, ['COPY a b']), /copy is not a valid change command/);
  assert.throws(() => applyChanges({}, ['EXPOSE abc']), /invalid containerPort: abc/);
  assert.throws(() => applyChanges({}, ['USER']), /USER requires exactly one argument/);
});
