import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidParameter } from '../../lib/errors.js';
import { readInRoot, resolveInRoot, resolveUser } from './user.js';

let base: string;
before(async () => { base = await mkdtemp(join(tmpdir(), 'berth-user-')); });
after(async () => { await rm(base, { recursive: true, force: true }); });

async function rootfs(name: string, files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
  const root = join(base, name);
  await mkdir(join(root, 'etc'), { recursive: true });
  for (const [p, text] of Object.entries(files)) await writeFile(join(root, p), text);
  for (const [p, target] of Object.entries(links)) await symlink(target, join(root, p));
  return root;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n  \nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:100::/home/bob:/bin/sh\n';
const GROUP = 'root:x:0:\nusers:x:100:alice\nalice:x:1000:\nwheel:x:10:alice,bob\ndocker:x:999:\n';

describe('resolveUser', () => {
  it('resolves names, ids and groups', async () => {
    const r = await rootfs('std', { 'etc/passwd': PASSWD, 'etc/group': GROUP });
    assert.deepEqual(await resolveUser(r, ''), { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(await resolveUser(r, 'alice'), { uid: 1000, gid: 1000, additionalGids: [1000, 100, 10] });
    assert.deepEqual(await resolveUser(r, '1001'), { uid: 1001, gid: 100, additionalGids: [100, 10] });
    assert.deepEqual(await resolveUser(r, 'alice:docker'), { uid: 1000, gid: 999, additionalGids: [999] });
    assert.deepEqual(await resolveUser(r, 'bob:10'), { uid: 1001, gid: 10, additionalGids: [10] });
    assert.deepEqual(await resolveUser(r, '4242:4343'), { uid: 4242, gid: 4343, additionalGids: [4343] });
    assert.deepEqual(await resolveUser(r, '4242'), { uid: 4242, gid: 0, additionalGids: [0] });
    assert.deepEqual(await resolveUser(r, 'bob', ['docker', '5000']), { uid: 1001, gid: 100, additionalGids: [100, 10, 999, 5000] });
  });
  it('fails on unknown names with runc messages', async () => {
    const r = await rootfs('std2', { 'etc/passwd': PASSWD, 'etc/group': GROUP });
    await assert.rejects(resolveUser(r, 'carol'), (e: Error) =>
      e instanceof InvalidParameter && e.message === 'unable to find user carol: no matching entries in passwd file');
    await assert.rejects(resolveUser(r, 'alice:nogroup'), /unable to find group nogroup: no matching entries in group file/);
    await assert.rejects(resolveUser(r, 'alice', ['nogroup']), /Unable to find group nogroup/);
    await assert.rejects(resolveUser(r, '4294967296'), /uids and gids must be in range/);
  });
  it('takes numeric ids without passwd or group files', async () => {
    const r = await rootfs('empty', {});
    assert.deepEqual(await resolveUser(r, '10:20'), { uid: 10, gid: 20, additionalGids: [20] });
    assert.deepEqual(await resolveUser(r, ''), { uid: 0, gid: 0, additionalGids: [0] });
    await assert.rejects(resolveUser(r, 'root'), /unable to find user root: no matching entries in passwd file/);
  });
  it('never follows a symlink out of the root', async () => {
    // The host has a root user and a "root" group; the container must not see them.
    const abs = await rootfs('abs', {}, { 'etc/passwd': '/etc/passwd', 'etc/group': '/etc/group' });
    await assert.rejects(resolveUser(abs, 'root'), /unable to find user root: no matching entries in passwd file/);
    assert.deepEqual(await resolveUser(abs, '0'), { uid: 0, gid: 0, additionalGids: [0] });
    const rel = await rootfs('rel', {}, { 'etc/passwd': '../../../../../../../../etc/passwd' });
    await assert.rejects(resolveUser(rel, 'root'), /no matching entries in passwd file/);
    // A directory link to the host's /etc resolves to the container's own /etc.
    const dir = join(base, 'dir');
    await mkdir(join(dir, 'real'), { recursive: true });
    await writeFile(join(dir, 'real', 'passwd'), 'web:x:33:33::/:/bin/sh\n');
    await symlink('/real', join(dir, 'etc'));
    assert.deepEqual(await resolveUser(dir, 'web'), { uid: 33, gid: 33, additionalGids: [33] });
    // An absolute link inside the container resolves against the container root.
    const inside = await rootfs('inside', { 'etc/passwd.real': 'svc:x:77:77::/:/bin/sh\n' }, { 'etc/passwd': '/etc/passwd.real' });
    assert.deepEqual(await resolveUser(inside, 'svc'), { uid: 77, gid: 77, additionalGids: [77] });
  });
});

describe('resolveInRoot', () => {
  it('keeps paths inside the root', async () => {
    const r = await rootfs('scope', { 'etc/f': 'x' }, { 'etc/up': '../../..', 'etc/loop': 'loop' });
    assert.equal(await resolveInRoot(r, '/etc/up/etc/f'), join(r, 'etc/f'));
    assert.equal(await resolveInRoot(r, '/../../etc/f'), join(r, 'etc/f'));
    assert.equal(await resolveInRoot(r, '/etc/loop'), undefined);
    assert.equal(await readInRoot(r, '/etc/up/etc/f'), 'x');
    assert.equal(await readInRoot(r, '/etc'), undefined);
  });
});
