import { readFile, readdir } from 'node:fs/promises';

/**
 * What the benchmark reads from /proc. A "process ref" is a pid together with its start
 * time (field 22 of /proc/<pid>/stat), so a pid reused by an unrelated process is never
 * mistaken for one we are waiting on.
 */
export interface ProcessRef {
  pid: number;
  startTime: string;
}

interface Stat {
  pid: number;
  ppid: number;
  state: string;
  startTime: string;
}

async function stat(pid: number): Promise<Stat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0]!, ppid: Number(rest[1]), startTime: rest[19]! };
}

export async function ref(pid: number): Promise<ProcessRef | undefined> {
  const s = await stat(pid);
  return s && s.state !== 'Z' ? { pid, startTime: s.startTime } : undefined;
}

/** True while the process runs; a zombie counts as gone. */
export async function running(p: ProcessRef): Promise<boolean> {
  const s = await stat(p.pid);
  return s !== undefined && s.state !== 'Z' && s.startTime === p.startTime;
}

/** All live descendants of `root` (not `root` itself), found by walking ppid links. */
export async function descendants(root: number): Promise<ProcessRef[]> {
  const names = await readdir('/proc');
  const stats = (await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => stat(Number(n)))))
    .filter((s): s is Stat => s !== undefined && s.state !== 'Z');
  const children = new Map<number, Stat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const out: ProcessRef[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push({ pid: c.pid, startTime: c.startTime });
      queue.push(c.pid);
    }
  }
  return out;
}

/** Resident set size in bytes (VmRSS), or 0 when the process is gone. */
export async function rssBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

export async function comm(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
}

export function signal(p: ProcessRef, sig: NodeJS.Signals): void {
  try { process.kill(p.pid, sig); } catch { /* already gone */ }
}

/** Waits until every process has exited; returns those still running at the deadline. */
export async function waitGone(procs: ProcessRef[], timeoutMs: number): Promise<ProcessRef[]> {
  const deadline = Date.now() + timeoutMs;
  let left = procs;
  for (;;) {
    const alive = await Promise.all(left.map(running));
    left = left.filter((_, i) => alive[i]);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Mount points at or under `dir`, deepest first, as listed in /proc/self/mountinfo. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = text.split('\n').filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}
