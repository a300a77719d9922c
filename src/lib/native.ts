import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

/**
 * The few syscalls Node lacks, from native/berth.c (built by scripts/build-native). Calls are
 * synchronous: each is one short syscall. Errors carry Node-style `code` values ('ENOENT').
 */
export interface Native {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** undefined when the attribute is absent or the filesystem has none. */
  lgetxattr(path: string, name: string): Buffer | undefined;
  llistxattr(path: string): string[];
  /** With `cwd`, the mount runs in a child that changes there first (relative overlay paths). */
  mount(source: string, target: string, fstype: string, flags: number, data: string, cwd: string): void;
  umount2(target: string, flags: number): void;
  /**
   * Gives memory back to the kernel: V8's low-memory collection (full, compacting, its emptied
   * pages freed), then glibc's malloc_trim(0). Blocks for the collection: call it when quiet.
   */
  releaseMemory(): boolean;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const native: Native = createRequire(import.meta.url)(join(root, 'build', 'Release', 'berth.node')) as Native;

/** Flags from <sys/mount.h>. */
export const MS = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, BIND: 4096, REC: 16384, PRIVATE: 1 << 18 } as const;
export const MNT_DETACH = 2;
/** File type bits of st_mode. */
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
