import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidParameter } from '../../lib/errors.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './caps.js';
import { defaultProfile } from './seccomp-default.js';
import { loadProfile, toOci } from './seccomp.js';

const host = { arch: 'amd64', kernel: '5.10.0-21-amd64' };
const names = (s: ReturnType<typeof toOci>) => s!.syscalls!.flatMap((c) => c.names);

describe('default seccomp profile', () => {
  it('is an allow-list for x86_64 with EPERM by default', () => {
    const s = toOci(defaultProfile, [...DEFAULT_CAPABILITIES], host)!;
    assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(s.defaultErrnoRet, 1);
    assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const all = names(s);
    for (const n of ['read', 'write', 'open', 'openat', 'close', 'stat', 'fstat', 'newfstatat', 'mmap', 'munmap', 'brk',
      'rt_sigaction', 'ioctl', 'execve', 'execveat', 'exit_group', 'wait4', 'kill', 'getpid', 'socket', 'epoll_wait',
      'futex', 'nanosleep', 'clock_gettime', 'getdents64', 'fcntl', 'dup2', 'pipe2', 'chdir', 'mkdir', 'unlink',
      'chown', 'setuid', 'prctl', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'getrandom', 'uname',
      'sysinfo', 'clone', 'chroot']) {
      assert.ok(all.includes(n), n);
    }
    for (const n of ['mount', 'umount2', 'reboot', 'init_module', 'bpf', 'ptrace', 'kexec_load', 'setns', 'unshare']) {
      assert.ok(!all.includes(n) || n === 'ptrace', n);
    }
    // clone3 answers ENOSYS so that libc falls back to clone.
    assert.deepEqual(s.syscalls!.find((c) => c.names.includes('clone3')), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    // Plain clone is allowed only without namespace flags.
    const clone = s.syscalls!.find((c) => c.names.includes('clone'))!;
    assert.deepEqual(clone.args, [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    assert.ok(!all.includes('s390_runtime_instr') && !all.includes('breakpoint'));
  });
  it('follows capabilities and the kernel version', () => {
    const admin = names(toOci(defaultProfile, [...ALL_CAPABILITIES], host));
    for (const n of ['mount', 'umount2', 'bpf', 'setns', 'unshare', 'reboot', 'init_module', 'clone3']) assert.ok(admin.includes(n), n);
    const adminClone3 = toOci(defaultProfile, [...ALL_CAPABILITIES], host)!.syscalls!.find((c) => c.names.includes('clone3'))!;
    assert.equal(adminClone3.action, 'SCMP_ACT_ALLOW');
    assert.ok(names(toOci(defaultProfile, [...DEFAULT_CAPABILITIES], host)).includes('ptrace'));
    assert.ok(!names(toOci(defaultProfile, [...DEFAULT_CAPABILITIES], { arch: 'amd64', kernel: '4.4.0' })).includes('ptrace'));
    assert.ok(!names(toOci(defaultProfile, [...DEFAULT_CAPABILITIES], { arch: 'arm64', kernel: '5.10' })).includes('arch_prctl'));
  });
});

describe('custom profiles', () => {
  it('loads JSON bodies and files, and converts names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-seccomp-'));
    try {
      const body = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: null }, { name: 'personality', action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }, { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_PTRACE'] } }] };
      await writeFile(join(dir, 'p.json'), JSON.stringify(body));
      for (const p of [await loadProfile(join(dir, 'p.json')), await loadProfile(JSON.stringify(body))]) {
        assert.deepEqual(toOci(p, [...DEFAULT_CAPABILITIES], host), {
          defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'],
          syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
            { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }],
        });
      }
      await assert.rejects(loadProfile('{nope'), (e: Error) => e instanceof InvalidParameter && /^Decoding seccomp profile failed/.test(e.message));
      await assert.rejects(loadProfile(join(dir, 'missing.json')), InvalidParameter);
      assert.throws(() => toOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'a', names: ['b'], action: 'SCMP_ACT_ERRNO' }] }, [], host),
        /'name' and 'names' were specified/);
      assert.throws(() => toOci({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] }, [], host),
        /'architectures' and 'archMap'/);
      assert.equal(toOci({ defaultAction: '', syscalls: [] }, [], host), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
