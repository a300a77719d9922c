import { test } from 'node:test';
import assert from 'node:assert/strict';
import { removeAllAndFindLeaks, startWithBusybox } from './container-fixture.js';

/**
 * GET /system/df (`docker system df`): images with their container counts and shared sizes,
 * containers with their sizes, local volumes with their usage, the size of all layers.
 */
test('system df: layers, images with containers and shared size, container sizes, volume usage', async () => {
  const since = new Date();
  const d = await startWithBusybox();
  let problems: string[] = [];
  try {
    const ok = async (args: string[]) => {
      const r = await d.docker(args);
      assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    await ok(['volume', 'create', 'dfvol']);
    // A container that writes 200 kB into its own layer and 100 kB into the volume.
    await ok(['run', '--name', 'writer', '--network', 'none', '-v', 'dfvol:/data', 'busybox', 'sh', '-c',
      'head -c 200000 /dev/zero > /big; head -c 100000 /dev/zero > /data/f']);
    // An image on top of busybox: the two share busybox's layer.
    await ok(['commit', 'writer', 'derived:1']);
    await ok(['create', '--name', 'user', '--network', 'none', 'derived:1', 'true']);

    const r = await d.request('GET', '/v1.41/system/df');
    assert.equal(r.status, 200, r.body);
    const df = r.json() as {
      LayersSize: number; BuildCache: unknown[];
      Images: Array<{ Id: string; RepoTags: string[]; Size: number; SharedSize: number; Containers: number }>;
      Containers: Array<{ Names: string[]; SizeRw: number; SizeRootFs: number; ImageID: string }>;
      Volumes: Array<{ Name: string; UsageData: { Size: number; RefCount: number } }>;
    };
    const busybox = df.Images.find((i) => i.RepoTags.includes('busybox:latest'))!;
    const derived = df.Images.find((i) => i.RepoTags.includes('derived:1'))!;
    assert.ok(busybox && derived, JSON.stringify(df.Images));
    assert.equal(busybox.Containers, 1);
    assert.equal(derived.Containers, 1);
    // busybox's one layer is all it has and all the two share.
    assert.equal(busybox.SharedSize, busybox.Size);
    assert.equal(derived.SharedSize, busybox.Size);
    assert.ok(derived.Size >= busybox.Size + 200_000, `derived ${derived.Size} vs busybox ${busybox.Size}`);
    assert.equal(df.LayersSize, derived.Size, 'every layer is in derived\'s chain');

    const writer = df.Containers.find((c) => c.Names.includes('/writer'))!;
    assert.ok(writer.SizeRw >= 200_000, `SizeRw ${writer.SizeRw}`);
    assert.equal(writer.SizeRootFs, writer.SizeRw + busybox.Size);
    assert.equal(df.Containers.find((c) => c.Names.includes('/user'))!.ImageID, derived.Id);

    const vol = df.Volumes.find((v) => v.Name === 'dfvol')!;
    assert.deepEqual(vol.UsageData, { Size: 100_000, RefCount: 1 });
    assert.deepEqual(df.BuildCache, []);

    const table = await ok(['system', 'df']);
    assert.match(table, /^Images\s+2\s+2\s/m);
    assert.match(table, /^Containers\s+2\s+0\s/m);
    assert.match(table, /^Local Volumes\s+1\s+1\s+100kB/m);
    assert.match(table, /^Build Cache\s+0\s+0\s+0B/m);

    // Once the containers go, the volume is unused and the images have no containers.
    await ok(['rm', 'writer', 'user']);
    const after = (await d.request('GET', '/v1.41/system/df')).json() as typeof df;
    assert.deepEqual(after.Containers, []);
    assert.ok(after.Images.every((i) => i.Containers === 0));
    assert.equal(after.Volumes.find((v) => v.Name === 'dfvol')!.UsageData.RefCount, 0);
    await ok(['volume', 'rm', 'dfvol']);
    await ok(['rmi', 'derived:1']);
  } finally {
    problems = await removeAllAndFindLeaks(d, since);
  }
  assert.deepEqual(problems, []);
});
