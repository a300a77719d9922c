import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * How many processes of the cgroup the kernel's OOM killer has killed: `oom_kill` in
 * memory.oom_control (cgroup v1) or memory.events (v2). Read after the task exits and
 * before it is deleted (runc removes the cgroup at delete). 0 when unknown.
 */
export async function oomKills(cgroupsPath: string, root = CGROUP_ROOT): Promise<number> {
  const rel = cgroupsPath.replace(/^\/+/, '');
  for (const file of [join(root, 'memory', rel, 'memory.oom_control'), join(root, rel, 'memory.events')]) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  }
  return 0;
}
