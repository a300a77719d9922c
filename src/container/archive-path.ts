/**
 * The path side of `docker cp` (GET/HEAD/PUT /containers/{id}/archive), as dockerd 20.10's
 * daemon/archive.go: every path is resolved inside the container's root filesystem, symlinks
 * followed in the scope of that root and `..` clamped at it (pkg/symlink FollowSymlinkInScope),
 * so no link in a container can point the daemon at a host file.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { readTar } from '../archive/reader.js';
import { decompressStream } from '../archive/compression.js';
import { tarStream, type TarWriter } from '../archive/writer.js';
import type { TarType } from '../archive/header.js';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';

const MAX_SYMLINKS = 255;

function isNotExist(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The host path of container path `path` under `root`, every symlink followed inside the root
 * and `..` clamped at it. Components that do not exist are appended as they are.
 */
export async function resolveInScope(root: string, path: string): Promise<string> {
  const done: string[] = [];
  const todo = path.split('/');
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, c);
    let st: Stats;
    try {
      st = await fsp.lstat(host);
    } catch (err) {
      if (!isNotExist(err)) throw err;
      done.push(c);
      continue;
    }
    if (!st.isSymbolicLink()) {
      done.push(c);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SystemError(`too many links in ${posix.join('/', path)}`);
    const target = await fsp.readlink(host);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/'));
  }
  return posix.join(root, ...done);
}

/** The container path as dockerd sees it: absolute, cleaned, a trailing "/" or "/." kept. */
function absContainerPath(path: string): string {
  let abs = posix.join('/', path);
  if (path.endsWith('/.') && abs !== '/') abs += '/.';
  else if (path.endsWith('/') && abs !== '/') abs += '/';
  return abs;
}

/** Splits like Go's filepath.Split: dir keeps its trailing '/'. */
function splitPath(p: string): [string, string] {
  const i = p.lastIndexOf('/');
  return [p.slice(0, i + 1), p.slice(i + 1)];
}

/** dockerd's container.ResolvePath: the directory followed in scope, the last element not. */
async function resolvePath(root: string, path: string): Promise<{ resolved: string; abs: string }> {
  const abs = absContainerPath(path);
  const [dir, base] = splitPath(abs);
  const resolvedDir = await resolveInScope(root, dir);
  return { resolved: base === '' ? resolvedDir + '/' : `${resolvedDir}/${base}`, abs };
}

export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits, as dockerd encodes them. */
  mode: number;
  /** RFC 3339 with nanoseconds, as Go's time.Time marshals. */
  mtime: string;
  linkTarget: string;
}

/** Go's os.FileMode from a Node Stats. */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m |= 1 << 23; // setuid
  if (st.mode & 0o2000) m |= 1 << 22; // setgid
  if (st.mode & 0o1000) m |= 1 << 20; // sticky
  if (st.isDirectory()) m |= 1 << 31;
  else if (st.isSymbolicLink()) m |= 1 << 27;
  else if (st.isFIFO()) m |= 1 << 25;
  else if (st.isSocket()) m |= 1 << 24;
  else if (st.isBlockDevice()) m |= 1 << 26;
  else if (st.isCharacterDevice()) m |= (1 << 26) | (1 << 21);
  return m >>> 0;
}

function rfc3339Nano(st: Stats): string {
  const ns = (st as Stats & { mtimeNs?: bigint }).mtimeNs ?? BigInt(Math.round(st.mtimeMs * 1e6));
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const base = new Date(Number(secs) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

function notFound(path: string, container: string): NotFound {
  return new NotFound(`Could not find the file ${path} in container ${container}`);
}

async function lstatBig(p: string): Promise<Stats> {
  const st = (await fsp.lstat(p, { bigint: true })) as unknown as Stats & { mtimeNs: bigint };
  const small = await fsp.lstat(p);
  return Object.assign(small, { mtimeNs: st.mtimeNs });
}

/**
 * How the container sees a path given relative to `root`: `root` is a mount's source seen at
 * container path `at` (a volume or bind mount), and `path` is the path the client asked for.
 * Names, messages and link targets are the container's.
 */
export interface SeenAs {
  path: string;
  at: string;
}

/**
 * HEAD /containers/{id}/archive: stat of `path` in the container whose root is `root`. A
 * symlink is not followed; its target, resolved in the container, is `linkTarget`.
 * `container` names the container in the 404 message.
 */
export async function statPath(root: string, path: string, container = '', seen: SeenAs = { path, at: '/' }): Promise<ContainerPathStat> {
  const { resolved, abs } = await resolvePath(root, path);
  let st: Stats;
  try {
    st = await lstatBig(resolved);
  } catch (err) {
    if (isNotExist(err)) throw notFound(seen.path, container);
    throw err;
  }
  let linkTarget = '';
  if (st.isSymbolicLink()) {
    const host = await resolveInScope(root, abs);
    linkTarget = posix.join(seen.at, posix.relative(root, host));
  }
  const shown = absContainerPath(seen.path);
  const name = shown === '/' ? '/' : posix.basename(shown.replace(/\/\.?$/, '')) || '/';
  return { name, size: st.size, mode: goFileMode(st), mtime: rfc3339Nano(st), linkTarget };
}

/** The X-Docker-Container-Path-Stat header value: base64 (URL alphabet) of the JSON. */
export function encodePathStat(stat: ContainerPathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function tarType(st: Stats): TarType | undefined {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return undefined; // sockets are not archived
}

const S_IF: Record<string, number> = { dir: 0o040000, file: 0o100000, symlink: 0o120000, fifo: 0o010000, char: 0o020000, block: 0o060000 };

async function addTree(w: TarWriter, hostPath: string, name: string, seen: Map<string, string>): Promise<void> {
  const st = await fsp.lstat(hostPath);
  const type = tarType(st);
  if (!type) return;
  const base = {
    mode: (st.mode & 0o7777) | S_IF[type]!,
    uid: st.uid,
    gid: st.gid,
    mtime: st.mtime,
  };
  if (type === 'file' && st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = seen.get(key);
    if (first !== undefined) {
      await w.addEntry({ ...base, name, type: 'link', linkname: first, size: 0 });
      return;
    }
    seen.set(key, name);
  }
  if (type === 'file') {
    // O_NOFOLLOW: the entry was lstat'ed as a regular file; never open whatever replaced it
    const fh = await fsp.open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      await w.addEntry({ ...base, name, type, size: st.size }, fh.createReadStream({ autoClose: false, end: Math.max(0, st.size - 1), start: 0 }));
    } finally {
      await fh.close();
    }
    return;
  }
  if (type === 'symlink') {
    await w.addEntry({ ...base, name, type, linkname: await fsp.readlink(hostPath) });
    return;
  }
  if (type === 'char' || type === 'block') {
    const rdev = st.rdev;
    await w.addEntry({ ...base, name, type, devmajor: Math.floor(rdev / 256) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) });
    return;
  }
  if (type === 'fifo') {
    await w.addEntry({ ...base, name, type });
    return;
  }
  await w.addEntry({ ...base, name: name.endsWith('/') ? name : `${name}/`, type: 'dir' });
  const entries = (await fsp.readdir(hostPath)).sort();
  for (const e of entries) await addTree(w, posix.join(hostPath, e), `${name === '/' ? '' : name.replace(/\/$/, '')}/${e}`, seen);
}

/**
 * GET /containers/{id}/archive: the stat (for the header) and a tar of `path`. Entry names
 * start with the base name of the requested path; a trailing "/." archives a directory's
 * contents ("./x"); the last element, if a symlink, is archived as the link unless the path
 * ends in "/", which follows it (in the container's scope).
 */
export async function archivePath(root: string, path: string, container = '', seen: SeenAs = { path, at: '/' }): Promise<{ stat: ContainerPathStat; tar: Readable }> {
  const stat = await statPath(root, path, container, seen);
  const { resolved } = await resolvePath(root, path);
  const hostPath = resolved.replace(/\/\.?$/, '') || root;
  const shown = absContainerPath(seen.path);
  // dockerd rebases the root's entries on "/" ("/", "/bin/", ...), which the CLI expects.
  let rebase: string;
  if (shown.endsWith('/.')) rebase = '.';
  else if (shown === '/') rebase = '/';
  else rebase = posix.basename(shown.replace(/\/$/, ''));
  if (!hostPath.startsWith(root)) throw new SystemError('path resolved outside the container root');
  const tar = tarStream(async (w) => {
    await addTree(w, hostPath, rebase, new Map());
  });
  return { stat, tar };
}

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory, or the reverse (noOverwriteDirNonDir). */
  noOverwriteDirNonDir?: boolean;
  /** Keep the archive's uid/gid (copyUIDGID); otherwise everything is owned by 0:0. */
  copyUIDGID?: boolean;
  /**
   * Called with the destination's container path once it is known to be a directory, every
   * symlink in it followed (dockerd checks read-only volumes and root there); may throw.
   */
  check?: (resolved: string) => void;
}

/** strerror(3) of the errno codes an extraction meets, as Go prints them. */
const STRERROR: Record<string, string> = {
  EBUSY: 'device or resource busy', EROFS: 'read-only file system', EACCES: 'permission denied',
  EPERM: 'operation not permitted', ENOSPC: 'no space left on device', EEXIST: 'file exists',
  ENOTDIR: 'not a directory', EISDIR: 'is a directory', ENOENT: 'no such file or directory',
  EXDEV: 'invalid cross-device link', ENOTEMPTY: 'directory not empty', EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many levels of symbolic links', EINVAL: 'invalid argument', EMLINK: 'too many links',
};
/** Go's names of the calls (os.RemoveAll unlinks with unlinkat, os.Chtimes is "chtimes"). */
const GO_OP: Record<string, string> = { unlink: 'unlinkat', rmdir: 'unlinkat', rm: 'unlinkat', utime: 'chtimes', lutime: 'chtimes', futime: 'chtimes' };

/**
 * A filesystem error met while unpacking, worded as dockerd's untar child reports it: the
 * container's path (it runs chrooted there), never the host's.
 */
function untarError(err: unknown, root: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e.code !== 'string' || !e.syscall || err instanceof SystemError || err instanceof NotFound) return err;
  const inRoot = e.path ? posix.relative(root, e.path) : '';
  const shown = e.path && inRoot !== '..' && !inRoot.startsWith('../') ? posix.join('/', inRoot) : '';
  const why = STRERROR[e.code] ?? e.code.toLowerCase();
  return new SystemError(`Error processing tar file(exit status 1): ${GO_OP[e.syscall] ?? e.syscall} ${shown}: ${why}`, { cause: err });
}

/**
 * PUT /containers/{id}/archive: extracts `tar` into directory `path` of the container. The
 * destination is resolved in the container's scope (a symlink to a directory is followed) and
 * must be an existing directory; each entry's parent is resolved in scope too, and an entry
 * whose name leaves the destination, or a hard link pointing out of it, is refused. A gzip (or
 * bzip2/xz/zstd) compressed tar is accepted, as dockerd's Untar accepts it.
 */
export async function extractToPath(root: string, path: string, input: Readable, opts: ExtractOptions = {}, container = '', seen: SeenAs = { path, at: '/' }): Promise<void> {
  const abs = absContainerPath(path);
  const dest = await resolveInScope(root, abs);
  let st: Stats;
  try {
    st = await fsp.lstat(dest);
  } catch (err) {
    if (isNotExist(err)) throw notFound(seen.path, container);
    throw err;
  }
  if (!st.isDirectory()) throw new InvalidParameter('extraction point is not a directory');
  opts.check?.(posix.join('/', posix.relative(root, dest)));
  try {
    await unpack(root, dest, input, opts, seen);
  } catch (err) {
    throw untarError(err, root);
  }
}

async function unpack(root: string, dest: string, input: Readable, opts: ExtractOptions, seen: SeenAs): Promise<void> {
  // Entries are checked against the destination relative to `root`; messages name it as the container does.
  const destC = posix.join('/', posix.relative(root, dest));
  const shownDest = posix.join(seen.at, destC);
  const dirTimes: Array<[string, Date]> = [];
  for await (const entry of readTar(await decompressStream(input))) {
    const h = entry.header;
    const rel = posix.normalize(h.name).replace(/\/$/, '');
    const inDest = posix.join(destC, rel);
    const r = posix.relative(destC, inDest);
    if (r === '..' || r.startsWith('../')) throw new SystemError(`"${h.name}" is outside of "${shownDest}"`);
    if (r === '' && h.type === 'dir') continue; // "." itself
    const [pdir, base] = splitPath(inDest);
    const parent = await resolveInScope(root, pdir);
    await fsp.mkdir(parent, { recursive: true });
    // mkdir created real directories below an in-scope path; check the parent is still in scope
    if (!(parent + '/').startsWith(root.endsWith('/') ? root : root + '/') && parent !== root) {
      throw new SystemError(`"${h.name}" is outside of "${shownDest}"`);
    }
    const target = posix.join(parent, base);
    let existing: Stats | undefined;
    try {
      existing = await fsp.lstat(target);
    } catch (err) {
      if (!isNotExist(err)) throw err;
    }
    if (existing) {
      if (opts.noOverwriteDirNonDir && existing.isDirectory() && h.type !== 'dir') {
        throw new SystemError(`cannot overwrite directory "${posix.join(seen.at, inDest)}" with non-directory "${shownDest}"`);
      }
      if (opts.noOverwriteDirNonDir && !existing.isDirectory() && h.type === 'dir') {
        throw new SystemError(`cannot overwrite non-directory "${posix.join(seen.at, inDest)}" with directory "${shownDest}"`);
      }
      // A file that is a mount point (a bound file, /etc/hosts) cannot be unlinked: EBUSY, as in dockerd.
      if (!existing.isDirectory()) await fsp.unlink(target);
      else if (h.type !== 'dir') await fsp.rm(target, { recursive: true, force: true });
    }
    const perm = h.mode & 0o7777;
    switch (h.type) {
      case 'dir':
        if (!existing?.isDirectory()) await fsp.mkdir(target, { mode: perm });
        break;
      case 'file': {
        const fh = await fsp.open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, perm);
        try {
          for await (const chunk of entry.body) await fh.write(chunk as Buffer);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'symlink':
        await fsp.symlink(h.linkname, target);
        break;
      case 'link': {
        const linkC = posix.join(destC, posix.normalize(h.linkname));
        const lr = posix.relative(destC, linkC);
        if (lr === '..' || lr.startsWith('../') || posix.isAbsolute(h.linkname)) {
          throw new SystemError(`invalid hardlink "${h.name}" -> "${h.linkname}"`);
        }
        const [ldir, lbase] = splitPath(linkC);
        const src = posix.join(await resolveInScope(root, ldir), lbase);
        const srcSt = await fsp.lstat(src);
        if (srcSt.isDirectory()) throw new SystemError(`invalid hardlink "${h.name}" -> "${h.linkname}"`);
        await fsp.link(src, target);
        break;
      }
      default:
        // devices and fifos: mknod is not reachable from Node; skipped
        continue;
    }
    const uid = opts.copyUIDGID ? h.uid : 0;
    const gid = opts.copyUIDGID ? h.gid : 0;
    await fsp.lchown(target, uid, gid);
    if (h.type !== 'symlink') await fsp.chmod(target, perm);
    if (h.type === 'dir') dirTimes.push([target, h.mtime]);
    else if (h.type !== 'symlink') await fsp.utimes(target, h.mtime, h.mtime);
    else await fsp.lutimes(target, h.mtime, h.mtime);
  }
  for (const [p, t] of dirTimes.reverse()) await fsp.utimes(p, t, t);
}
