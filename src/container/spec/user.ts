import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidParameter } from '../../lib/errors.js';

/**
 * The process user of a container: `User` ("", "name", "uid", "name:group", "uid:gid") looked
 * up in the container's own /etc/passwd and /etc/group, as runc's libcontainer/user does for
 * dockerd. The root filesystem is not trusted: both files are found by resolving symlinks as if
 * chrooted into it, so a link can never lead to a file of the host.
 */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The primary gid first, then supplementary groups, as dockerd 20.10 lists them. */
  additionalGids: number[];
}

const MAX_ID = 2 ** 31 - 1;
const MAX_LINKS = 255;

/**
 * Resolves `path` inside `root` following symlinks as a chroot would ('/' and '..' stop at the
 * root), and returns the host path of the result. undefined when a component does not exist
 * or there are too many links.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const queue = posix.normalize(`/${path}`).split('/').filter((p) => p !== '');
  const done: string[] = [];
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let st;
    try {
      st = await lstat(host);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) return undefined;
    const target = await readlink(host);
    if (target.startsWith('/')) done.length = 0;
    queue.unshift(...target.split('/').filter((p) => p !== ''));
  }
  return join(root, ...done);
}

/** Reads a file of the container's root; undefined when it cannot be opened (missing, a loop, a directory). */
export async function readInRoot(root: string, path: string): Promise<string | undefined> {
  const host = await resolveInRoot(root, path);
  if (host === undefined) return undefined;
  let fh;
  try {
    // O_NOFOLLOW: the last component was checked above; a symlink swapped in since is refused.
    fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

interface PasswdEntry { name: string; uid: number; gid: number }
interface GroupEntry { name: string; gid: number; members: string[] }

/** Go's strconv.Atoi for our purposes: an optional sign and decimal digits. */
function atoi(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const p = line.split(':');
    out.push({ name: p[0] ?? '', uid: atoi(p[2] ?? '') ?? 0, gid: atoi(p[3] ?? '') ?? 0 });
  }
  return out;
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const p = line.split(':');
    const list = p[3] ?? '';
    out.push({ name: p[0] ?? '', gid: atoi(p[2] ?? '') ?? 0, members: list === '' ? [] : list.split(',') });
  }
  return out;
}

function checkRange(id: number): number {
  if (id < 0 || id > MAX_ID) throw new InvalidParameter(`uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

/**
 * Resolves a user spec against the container's root. `groupAdd` is HostConfig.GroupAdd: group
 * names or numeric gids added to the supplementary groups.
 */
export async function resolveUser(root: string, spec: string, groupAdd: readonly string[] = []): Promise<ResolvedUser> {
  const passwdText = await readInRoot(root, '/etc/passwd');
  const groupText = await readInRoot(root, '/etc/group');
  const [userArg = '', groupArg = ''] = spec.split(':');
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);
  let uid = 0;
  let gid = 0;
  let sgids: number[] = [];

  const users = parsePasswd(passwdText ?? '').filter((u) => {
    if (userArg === '') return u.uid === 0;
    if (uidArg !== undefined) return u.uid === uidArg;
    return u.name === userArg;
  });
  let matchedName = '';
  if (users.length > 0) {
    matchedName = users[0]!.name;
    uid = users[0]!.uid;
    gid = users[0]!.gid;
  } else if (userArg !== '') {
    if (uidArg === undefined) throw new InvalidParameter(`unable to find user ${userArg}: no matching entries in passwd file`);
    uid = checkRange(uidArg);
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = parseGroup(groupText ?? '').filter((g) => {
      if (groupArg === '') return g.members.includes(matchedName);
      if (gidArg !== undefined) return g.gid === gidArg;
      return g.name === groupArg;
    });
    if (groupArg !== '') {
      if (groups.length > 0) gid = groups[0]!.gid;
      else if (gidArg === undefined) throw new InvalidParameter(`unable to find group ${groupArg}: no matching entries in group file`);
      else gid = checkRange(gidArg);
    } else {
      sgids = groups.map((g) => g.gid);
    }
  }

  const added: number[] = [];
  if (groupAdd.length > 0) {
    const groups = parseGroup(groupText ?? '');
    for (const ag of groupAdd) {
      const g = groups.find((x) => x.name === ag || String(x.gid) === ag);
      let id: number;
      if (g) id = g.gid;
      else {
        const n = atoi(ag);
        if (n === undefined) throw new InvalidParameter(`Unable to find group ${ag}`);
        id = checkRange(n);
      }
      if (!added.includes(id)) added.push(id);
    }
  }
  return { uid, gid, additionalGids: [gid, ...sgids, ...added] };
}
