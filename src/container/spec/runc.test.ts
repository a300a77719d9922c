import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildSpec } from './build.js';

const run = promisify(execFile);
const CGROUP_PARENT = '/berth-spec-test';

async function which(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
}

/** cgroup directories runc made for `id` under every hierarchy (v1 controllers and v2). */
async function removeCgroups(id: string): Promise<string[]> {
  const left: string[] = [];
  const hierarchies = await readdir('/sys/fs/cgroup').catch(() => []);
  const bases = ['/sys/fs/cgroup', ...hierarchies.map((h) => join('/sys/fs/cgroup', h))];
  for (const base of bases) {
    for (const dir of [join(base, CGROUP_PARENT, id), join(base, CGROUP_PARENT)]) {
      try {
        await rmdir(dir);
        if (dir.endsWith(id)) left.push(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EBUSY' && code !== 'ENOTEMPTY') throw err;
      }
    }
  }
  return left;
}

const skip = process.getuid?.() !== 0 ? 'needs root' : undefined;

describe('runc', { skip }, () => {
  it('runs a busybox container from the generated spec', async (t) => {
    if (!(await which('runc'))) return t.skip('runc not installed');
    const dir = await mkdtemp(join(tmpdir(), 'berth-runc-'));
    const id = `berth-spec-${process.pid}-${Date.now()}`;
    const rootfs = join(dir, 'rootfs');
    try {
      for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp']) await mkdir(join(rootfs, d), { recursive: true });
      await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
      await symlink('busybox', join(rootfs, 'bin/sh'));
      const files = { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
      await writeFile(files.hosts, '127.0.0.1 localhost\n');
      await writeFile(files.hostname, 'spectest\n');
      await writeFile(files.resolvConf, '');
      const spec = await buildSpec({
        id,
        rootfs,
        config: { Hostname: 'spectest', Entrypoint: ['/bin/busybox'], Cmd: ['echo', 'hi'], Tty: false, Env: ['A=1'] },
        hostConfig: { NetworkMode: 'none', Memory: 64 << 20, PidsLimit: 64, CpuShares: 512,
          Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }], SecurityOpt: ['no-new-privileges'] },
        files,
        cgroupsPath: `${CGROUP_PARENT}/${id}`,
      });
      assert.ok(spec.linux.seccomp, 'the default seccomp profile is in force');
      await writeFile(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
      const { stdout, stderr } = await run('runc', ['run', '--bundle', dir, id], { timeout: 30000 });
      assert.equal(stdout, 'hi\n', stderr);

      // Inside: the hostname, the namespaces and the user are what the spec says.
      const id2 = `${id}-2`;
      spec.process.args = ['/bin/busybox', 'sh', '-c', 'hostname; id -u; cat /etc/hosts; grep -c . /proc/self/status >/dev/null && echo ok'];
      spec.linux.cgroupsPath = `${CGROUP_PARENT}/${id2}`;
      await writeFile(join(dir, 'config.json'), JSON.stringify(spec));
      try {
        const out = await run('runc', ['run', '--bundle', dir, id2], { timeout: 30000 });
        assert.equal(out.stdout, 'spectest\n0\n127.0.0.1 localhost\nok\n');
      } finally {
        await run('runc', ['delete', '-f', id2]).catch(() => undefined);
        assert.deepEqual(await removeCgroups(id2), []);
      }
    } finally {
      await run('runc', ['delete', '-f', id]).catch(() => undefined);
      const left = await removeCgroups(id);
      const mounts = await readFile('/proc/self/mountinfo', 'utf8');
      await rm(dir, { recursive: true, force: true });
      assert.deepEqual(left, [], 'runc delete removed the cgroups');
      assert.ok(!mounts.includes(dir), 'no mount left under the bundle');
    }
  });
});
