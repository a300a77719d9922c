import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Conflict, InvalidParameter, SystemError } from '../../lib/errors.js';
import { familiarString, parseNormalizedNamed as p, referenceString } from './reference.js';
import { REPOSITORIES_FILE, ReferenceStore, ReferenceStoreLoadError } from './store.js';

const id = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const ID1 = id(1);
const ID2 = id(2);
const DGST = `sha256:${'d'.repeat(64)}`;
const DGST2 = `sha256:${'e'.repeat(64)}`;

let root: string;
let seq = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-refstore-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory per test, under the one temp root removed at the end. */
async function freshPath(): Promise<string> {
  const dir = join(root, `t${seq++}`);
  await mkdir(dir);
  return join(dir, REPOSITORIES_FILE);
}

async function readStoreFile(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

describe('ReferenceStore: open', () => {
  it('creates an empty repositories.json, with its directory, mode 0600', async () => {
    const path = join(root, `t${seq++}`, 'image', 'overlay2', REPOSITORIES_FILE);
    const store = await ReferenceStore.open(path);
    assert.equal(store.path, path);
    assert.equal(await readFile(path, 'utf8'), '{"Repositories":{}}');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(store.all(), []);
  });

  it('reads a file as dockerd writes it', async () => {
    const path = await freshPath();
    await writeFile(
      path,
      JSON.stringify({
        Repositories: {
          busybox: { 'busybox:latest': ID1, [`busybox@${DGST}`]: ID1 },
          'localhost:5000/x/y': { 'localhost:5000/x/y:1': ID2 },
        },
      }),
    );
    const store = await ReferenceStore.open(path);
    assert.equal(store.get(p('busybox')), ID1);
    assert.equal(store.get(p(`busybox@${DGST}`)), ID1);
    assert.equal(store.get(p('localhost:5000/x/y:1')), ID2);
    assert.deepEqual(store.references(ID1).map(familiarString), ['busybox:latest', `busybox@${DGST}`]);
  });

  it('keeps entries it cannot parse in the file, without serving them', async () => {
    const path = await freshPath();
    await writeFile(path, JSON.stringify({ Repositories: { busybox: { 'busybox:latest': ID1, 'Not A Ref': ID1 }, empty: null } }));
    const store = await ReferenceStore.open(path);
    assert.deepEqual(store.references(ID1).map(familiarString), ['busybox:latest']);
    assert.deepEqual(store.referencesByName(p('busybox')).map((a) => familiarString(a.ref)), ['busybox:latest']);
    await store.add(p('busybox:2'), ID2);
    assert.deepEqual(await readStoreFile(path), {
      Repositories: { busybox: { 'Not A Ref': ID1, 'busybox:2': ID2, 'busybox:latest': ID1 } },
    });
  });

  it('reads a missing or null "Repositories" as empty', async () => {
    for (const content of ['{}', '{"Repositories":null}']) {
      const path = await freshPath();
      await writeFile(path, content);
      const store = await ReferenceStore.open(path);
      assert.deepEqual(store.all(), []);
    }
  });

  it('refuses a corrupt or foreign file with ReferenceStoreLoadError', async () => {
    for (const content of ['', '{"Repositories":', '[]', 'null', '{"Repositories":[]}', '{"Repositories":{"busybox":"x"}}', '{"Repositories":{"busybox":{"busybox:latest":1}}}']) {
      const path = await freshPath();
      await writeFile(path, content);
      await assert.rejects(ReferenceStore.open(path), (err: unknown) => {
        assert.ok(err instanceof ReferenceStoreLoadError, String(err));
        assert.ok(err instanceof SystemError);
        assert.match(err.message, /^reference store: .*repositories\.json is not a valid reference store: /);
        return true;
      });
      // The file is left as it was, for the caller to decide.
      assert.equal(await readFile(path, 'utf8'), content);
    }
  });

  it('refuses an unreadable path with ReferenceStoreLoadError', async () => {
    const path = await freshPath();
    await mkdir(path);
    await assert.rejects(ReferenceStore.open(path), (err: unknown) => {
      assert.ok(err instanceof ReferenceStoreLoadError);
      assert.match(err.message, /^reference store: cannot read .*: EISDIR/);
      return true;
    });
  });
});

describe('ReferenceStore: tags', () => {
  it('adds, gets and writes a tag in dockerd\'s format', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('busybox:latest'), ID1);
    assert.equal(store.get(p('busybox:latest')), ID1);
    assert.equal(store.get(p('busybox')), ID1, 'no tag means :latest');
    assert.equal(store.get(p('docker.io/library/busybox:latest')), ID1);
    assert.equal(store.get(p('busybox:other')), undefined);
    assert.equal(await readFile(path, 'utf8'), `{"Repositories":{"busybox":{"busybox:latest":"${ID1}"}}}`);
  });

  it('stores a name without tag as :latest', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('foo/bar'), ID1);
    assert.deepEqual(await readStoreFile(path), { Repositories: { 'foo/bar': { 'foo/bar:latest': ID1 } } });
    assert.equal(store.get(p('foo/bar:latest')), ID1);
  });

  it('keys other registries by their full name', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('localhost:5000/x/y:1'), ID1);
    await store.add(p('quay.io/a/b'), ID1);
    assert.deepEqual(await readStoreFile(path), {
      Repositories: {
        'localhost:5000/x/y': { 'localhost:5000/x/y:1': ID1 },
        'quay.io/a/b': { 'quay.io/a/b:latest': ID1 },
      },
    });
  });

  it('refuses to move a tag without force, even to the same image, as dockerd', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('busybox'), ID1);
    for (const target of [ID2, ID1]) {
      await assert.rejects(store.add(p('busybox:latest'), target), (err: unknown) => {
        assert.ok(err instanceof Conflict);
        assert.equal(
          err.message,
          `Conflict: Tag busybox:latest is already set to image ${ID1}, if you want to replace it, please use the force option`,
        );
        return true;
      });
    }
    assert.equal(store.get(p('busybox')), ID1);
  });

  it('moves a tag with force', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('busybox'), ID1);
    await store.add(p('busybox:1'), ID1);
    await store.add(p('busybox'), ID2, true);
    assert.equal(store.get(p('busybox')), ID2);
    assert.deepEqual(store.references(ID1).map(familiarString), ['busybox:1']);
    assert.deepEqual(store.references(ID2).map(familiarString), ['busybox:latest']);
    assert.deepEqual(await readStoreFile(path), { Repositories: { busybox: { 'busybox:1': ID1, 'busybox:latest': ID2 } } });
  });

  it('a tag moved with force to the image it points at already leaves the file as it is', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('busybox'), ID1);
    const before = await stat(path);
    const text = await readFile(path, 'utf8');
    await store.add(p('busybox'), ID1, true);
    const after = await stat(path);
    assert.equal(after.ino, before.ino, 'not replaced');
    assert.equal(await readFile(path, 'utf8'), text);
    assert.equal(store.get(p('busybox')), ID1);
    assert.deepEqual(store.references(ID1).map(familiarString), ['busybox:latest']);
    // Moving it elsewhere still writes.
    await store.add(p('busybox'), ID2, true);
    assert.notEqual((await stat(path)).ino, before.ino);
    assert.deepEqual(await readStoreFile(path), { Repositories: { busybox: { 'busybox:latest': ID2 } } });
    assert.deepEqual((await ReferenceStore.open(path)).references(ID2).map(familiarString), ['busybox:latest']);
  });

  it('refuses a digest reference as a tag', async () => {
    const store = await ReferenceStore.open(await freshPath());
    for (const ref of [`busybox@${DGST}`, `busybox:1@${DGST}`]) {
      await assert.rejects(store.add(p(ref), ID1), (err: unknown) => {
        assert.ok(err instanceof InvalidParameter);
        assert.equal(err.message, 'refusing to create a tag with a digest reference');
        return true;
      });
    }
  });

  it('refuses "sha256" as a repository name', async () => {
    const store = await ReferenceStore.open(await freshPath());
    await assert.rejects(store.add(p(`sha256:${'a'.repeat(64)}`), ID1), {
      name: 'InvalidParameter',
      message: 'refusing to create an ambiguous tag using digest algorithm as name',
    });
    await assert.rejects(store.add(p('sha256'), ID1), { message: 'refusing to create an ambiguous tag using digest algorithm as name' });
    // Another registry's "sha256" repository is not ambiguous.
    await store.add(p('localhost/sha256'), ID1);
  });

  it('refuses an image ID that is not a digest', async () => {
    const store = await ReferenceStore.open(await freshPath());
    await assert.rejects(store.add(p('busybox'), 'a'.repeat(64)), (err: unknown) => {
      assert.ok(err instanceof InvalidParameter);
      assert.match(err.message, /^invalid image ID "a{64}": invalid checksum digest format$/);
      return true;
    });
    assert.deepEqual(store.all(), []);
  });
});

describe('ReferenceStore: digests', () => {
  it('adds a digest reference and never overwrites it', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.addDigest(p(`busybox@${DGST}`), ID1);
    assert.equal(store.get(p(`busybox@${DGST}`)), ID1);
    for (const [target, force] of [[ID2, false], [ID2, true], [ID1, true]] as const) {
      await assert.rejects(store.addDigest(p(`busybox@${DGST}`), target, force), (err: unknown) => {
        assert.ok(err instanceof Conflict);
        assert.equal(err.message, `Cannot overwrite digest ${DGST}`);
        return true;
      });
    }
    assert.equal(store.get(p(`busybox@${DGST}`)), ID1);
  });

  it('stores only the digest of a tag+digest reference, and looks it up by digest', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.addDigest(p(`busybox:1@${DGST}`), ID1);
    assert.deepEqual(await readStoreFile(path), { Repositories: { busybox: { [`busybox@${DGST}`]: ID1 } } });
    assert.equal(store.get(p(`busybox@${DGST}`)), ID1);
    assert.equal(store.get(p(`busybox:whatever@${DGST}`)), ID1);
    assert.equal(store.get(p('busybox:1')), undefined);
  });

  it('refuses a reference without a digest', async () => {
    const store = await ReferenceStore.open(await freshPath());
    await assert.rejects(store.addDigest(p('busybox:1'), ID1), InvalidParameter);
  });
});

describe('ReferenceStore: delete', () => {
  it('deletes tags and digests, and drops an emptied repository', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('busybox'), ID1);
    await store.add(p('busybox:1'), ID1);
    await store.addDigest(p(`busybox@${DGST}`), ID1);

    assert.equal(await store.delete(p('busybox')), true, 'no tag means :latest');
    assert.equal(store.get(p('busybox')), undefined);
    assert.equal(await store.delete(p('busybox:latest')), false);
    assert.equal(await store.delete(p(`busybox:ignored@${DGST}`)), true, 'the digest counts');
    assert.deepEqual(await readStoreFile(path), { Repositories: { busybox: { 'busybox:1': ID1 } } });

    assert.equal(await store.delete(p('busybox:1')), true);
    assert.deepEqual(await readStoreFile(path), { Repositories: {} });
    assert.deepEqual(store.references(ID1), []);
    assert.deepEqual(store.referencesByName(p('busybox')), []);
    assert.equal(await store.delete(p('nothere')), false);
  });
});

describe('ReferenceStore: listing', () => {
  it('sorts references by full string, as dockerd does', async () => {
    const store = await ReferenceStore.open(await freshPath());
    await store.add(p('localhost:5000/x:1'), ID1);
    await store.add(p('busybox:2'), ID1);
    await store.add(p('foo/bar:1'), ID1);
    await store.add(p('busybox:10'), ID1);
    await store.addDigest(p(`busybox@${DGST}`), ID1);
    await store.add(p('other'), ID2);
    assert.deepEqual(store.references(ID1).map(referenceString), [
      'docker.io/foo/bar:1',
      'docker.io/library/busybox:10',
      'docker.io/library/busybox:2',
      `docker.io/library/busybox@${DGST}`,
      'localhost:5000/x:1',
    ]);
    assert.deepEqual(store.references(id(99)), []);
    assert.deepEqual(
      store.referencesByName(p('busybox:anything')).map((a) => [familiarString(a.ref), a.id]),
      [
        ['busybox:10', ID1],
        ['busybox:2', ID1],
        [`busybox@${DGST}`, ID1],
      ],
    );
    assert.deepEqual(
      store.all().map((a) => [familiarString(a.ref), a.id]),
      [
        ['foo/bar:1', ID1],
        ['busybox:10', ID1],
        ['busybox:2', ID1],
        [`busybox@${DGST}`, ID1],
        ['other:latest', ID2],
        ['localhost:5000/x:1', ID1],
      ],
    );
  });

  it('returns references that callers cannot change', async () => {
    const store = await ReferenceStore.open(await freshPath());
    await store.add(p('busybox'), ID1);
    const [ref] = store.references(ID1);
    assert.ok(ref !== undefined && Object.isFrozen(ref));
    store.references(ID1).pop();
    assert.equal(store.references(ID1).length, 1);
  });
});

describe('ReferenceStore: durability and concurrency', () => {
  it('persists across reopen', async () => {
    const path = await freshPath();
    const a = await ReferenceStore.open(path);
    await a.add(p('busybox'), ID1);
    await a.add(p('localhost:5000/x/y:2'), ID2);
    await a.addDigest(p(`busybox@${DGST}`), ID1);
    await a.delete(p('localhost:5000/x/y:2'));
    const b = await ReferenceStore.open(path);
    assert.deepEqual(b.all(), a.all());
    assert.equal(b.get(p('busybox')), ID1);
    assert.equal(b.get(p('localhost:5000/x/y:2')), undefined);
    assert.deepEqual(b.references(ID1).map(familiarString), ['busybox:latest', `busybox@${DGST}`]);
  });

  it('keeps all of 50 parallel adds', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0 ? store.add(p(`busybox:t${i}`), id(i)) : store.addDigest(p(`app${i}@${DGST2}`), id(i)),
      ),
    );
    const reopened = await ReferenceStore.open(path);
    assert.equal(reopened.all().length, 50);
    for (let i = 0; i < 50; i++) {
      const ref = i % 2 === 0 ? p(`busybox:t${i}`) : p(`app${i}@${DGST2}`);
      assert.equal(store.get(ref), id(i));
      assert.equal(reopened.get(ref), id(i));
    }
    // No temp files are left beside repositories.json.
    assert.deepEqual(await readdir(join(path, '..')), [REPOSITORIES_FILE]);
  });

  it('serialises racing changes to one tag: memory and file agree, failures do not block', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    const results = await Promise.allSettled([
      store.add(p('busybox'), ID1),
      store.add(p('busybox'), ID2), // conflict: the first one wins the race
      store.add(p('busybox'), ID2, true),
      store.delete(p('busybox')),
      store.add(p('busybox'), ID1),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.equal(store.get(p('busybox')), ID1);
    assert.deepEqual(await readStoreFile(path), { Repositories: { busybox: { 'busybox:latest': ID1 } } });
  });

  it('leaves memory unchanged when the write fails', async () => {
    const path = await freshPath();
    const store = await ReferenceStore.open(path);
    await store.add(p('busybox'), ID1);
    await rm(join(path, '..'), { recursive: true });
    await assert.rejects(store.add(p('busybox:2'), ID2), { code: 'ENOENT' });
    await assert.rejects(store.add(p('busybox'), ID2, true), { code: 'ENOENT' });
    await assert.rejects(store.delete(p('busybox')), { code: 'ENOENT' });
    assert.equal(store.get(p('busybox:2')), undefined);
    assert.equal(store.get(p('busybox')), ID1);
    assert.deepEqual(store.references(ID2), []);
    // The store keeps working once the directory is back.
    await mkdir(join(path, '..'));
    await store.add(p('busybox:2'), ID2);
    assert.deepEqual(await readStoreFile(path), { Repositories: { busybox: { 'busybox:2': ID2, 'busybox:latest': ID1 } } });
  });
});
