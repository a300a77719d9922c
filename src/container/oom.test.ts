import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oomKills } from './oom.js';

test('oom kills are read from cgroup v1 memory.oom_control and v2 memory.events', async () => {
  const root = await mkdtemp(join(tmpdir(), 'oom-'));
  try {
    await mkdir(join(root, 'memory/berth/a'), { recursive: true });
    await writeFile(join(root, 'memory/berth/a/memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    await mkdir(join(root, 'berth/b'), { recursive: true });
    await writeFile(join(root, 'berth/b/memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    assert.equal(await oomKills('/berth/a', root), 2);
    assert.equal(await oomKills('/berth/b', root), 1);
    assert.equal(await oomKills('/berth/none', root), 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
