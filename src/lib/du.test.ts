import { test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directorySize } from './du.js';

test('directorySize counts regular files once, hard links once, not directories', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'du-'));
  try {
    await mkdir(join(dir, 'a/b'), { recursive: true });
    await writeFile(join(dir, 'a/one'), Buffer.alloc(100));
    await writeFile(join(dir, 'a/b/two'), Buffer.alloc(50));
    await link(join(dir, 'a/one'), join(dir, 'hard'));
    await symlink('a/one', join(dir, 'sym'));
    assert.equal(await directorySize(dir), 150 + 'a/one'.length);
    assert.equal(await directorySize(join(dir, 'missing')), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
