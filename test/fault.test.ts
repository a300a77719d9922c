import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import http from 'node:http';
import { TestDaemon, ROOT, deleteRule, run, shimsOf, settled, tasksLeft } from './harness.js';
import { TestRegistry } from './registry.js';
import { archive, image, layerTar, toBuffer } from './image-fixtures.js';

/**
 * Fault injection (issue 8): rounds of a mixed workload (containers, volumes, networks, image
 * load and pull from the test's registry) with
 * berthd SIGKILLed at a random moment of each, then started again on the same roots. After
 * every restart each listed container, image, volume and network must inspect; at the end
 * all must remove and nothing of the test may be left: no layer or volume directory beyond
 * the base image's, no mount, task, cgroup, FIFO, namespace, bridge or iptables rule.
 * Seeded, so a failing round can be replayed (BERTH_FAULT_SEED); bounded in rounds and time.
 */
const ROUNDS = Number(process.env.BERTH_FAULT_ROUNDS ?? 12);
const TIME_CAP_MS = Number(process.env.BERTH_FAULT_SECONDS ?? 90) * 1000;
const SEED = Number(process.env.BERTH_FAULT_SEED ?? 20261123);

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: () => any }>;

/** POST /images/load of a small image of its own content: layers are written on every call. */
async function loadImage(socket: string, n: number): Promise<void> {
  const layer = await layerTar([{ name: `etc/fault-${n}`, type: 'file', content: `round ${n}\n`.repeat(1 + (n % 500)) }]);
  const tar = await toBuffer(archive([{ img: image([layer]), tags: [`loaded:${n}`] }]));
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: '/v1.41/images/load?quiet=1', headers: { 'Content-Type': 'application/x-tar' } },
      (res) => { res.resume(); res.on('end', resolve); res.on('error', reject); });
    req.on('error', reject);
    req.end(tar);
  });
}

/** One random operation; errors are expected (the daemon may die under it) and ignored. */
async function randomOp(api: Api, rnd: () => number, n: number, ctx: { socket: string; pullRef: string }): Promise<void> {
  const list = await api('GET', '/containers/json?all=1');
  const ids: string[] = list.status === 200 ? list.json().map((c: { Id: string }) => c.Id) : [];
  const any = () => ids[Math.floor(rnd() * ids.length)];
  const choice = Math.floor(rnd() * 14);
  if (choice === 12) return loadImage(ctx.socket, n);
  if (choice === 13) {
    await api('POST', `/images/create?fromImage=${encodeURIComponent(ctx.pullRef)}&tag=latest`);
    if (rnd() < 0.5) await api('DELETE', `/images/${encodeURIComponent(`${ctx.pullRef}:latest`)}`);
    return;
  }
  if (choice <= 1 || ids.length === 0) {
    const r = await api('POST', `/containers/create?name=f${n}`, {
      Image: 'busybox', Cmd: ['sh', '-c', rnd() < 0.5 ? 'echo x > /f; sleep 30' : 'echo out; exit 3'],
      HostConfig: { NetworkMode: 'none', ...(rnd() < 0.3 ? { RestartPolicy: { Name: 'always' } } : {}), ...(rnd() < 0.2 ? { AutoRemove: true } : {}) },
    });
    if (r.status === 201 && rnd() < 0.8) await api('POST', `/containers/${r.json().Id}/start`);
    return;
  }
  if (choice >= 8) {
    const vols = list.status === 200 ? ((await api('GET', '/volumes')).json().Volumes ?? []).map((v: { Name: string }) => v.Name) : [];
    const nets = ((await api('GET', '/networks')).json() as Array<{ Name: string }> ?? []).map((x) => x.Name).filter((x) => x.startsWith('fn'));
    switch (choice) {
      case 8: {
        // A container with a named volume (made first) and an anonymous one, its data written.
        const vol = vols.length && rnd() < 0.5 ? vols[Math.floor(rnd() * vols.length)] : `fv${n}`;
        if (!vols.includes(vol)) await api('POST', '/volumes/create', { Name: vol, Labels: { fault: '1' } });
        const r = await api('POST', `/containers/create?name=fvc${n}`, {
          Image: 'busybox', Cmd: ['sh', '-c', 'echo x > /data/f; echo y > /anon/g; sleep 30'], Volumes: { '/anon': {} },
          HostConfig: { NetworkMode: 'none', Binds: [`${vol}:/data`] },
        });
        if (r.status === 201) await api('POST', `/containers/${r.json().Id}/start`);
        break;
      }
      case 9: if (vols.length) await api('DELETE', `/volumes/${vols[Math.floor(rnd() * vols.length)]}`); break;
      case 10: {
        if (nets.length >= 3) { await api('DELETE', `/networks/${nets[0]}`); break; }
        await api('POST', '/networks/create', {
          Name: `fn${n}`, CheckDuplicate: true, IPAM: { Config: [{ Subnet: `10.216.${Math.floor(rnd() * 250)}.0/24` }] },
        });
        break;
      }
      default: {
        if (!nets.length || !ids.length) break;
        const net = nets[Math.floor(rnd() * nets.length)];
        await api('POST', `/networks/${net}/${rnd() < 0.6 ? 'connect' : 'disconnect'}`, { Container: any(), Force: true });
      }
    }
    return;
  }
  const id = any()!;
  switch (choice) {
    case 2: await api('POST', `/containers/${id}/start`); break;
    case 3: await api('POST', `/containers/${id}/stop?t=0`); break;
    case 4: await api('DELETE', `/containers/${id}?force=1`); break;
    case 5: {
      const e = await api('POST', `/containers/${id}/exec`, { Cmd: ['true'] });
      if (e.status === 201) await api('POST', `/exec/${e.json().Id}/start`, { Detach: true });
      break;
    }
    case 6: await api('POST', `/commit?container=${id}&repo=fault&tag=t${n}`); break;
    default: await api('POST', `/containers/${id}/rename?name=r${n}`); break;
  }
}

/** Removes every bridge addressed in the test's 10.216.0.0/16 and every iptables rule naming it. */
async function sweepTestNetworks(): Promise<void> {
  const addrs = (await run('ip', ['-o', '-4', 'addr', 'show'])).stdout.split('\n').filter((l) => l.includes(' 10.216.'));
  for (const l of addrs) await run('ip', ['link', 'del', l.split(/\s+/)[1]!]);
  for (const table of ['nat', 'filter']) {
    const rules = (await run('iptables', ['-w', '-t', table, '-S'])).stdout.split('\n').filter((l) => l.startsWith('-A ') && l.includes('10.216.'));
    for (const rule of rules) await deleteRule('iptables', table, rule);
  }
}

test('SIGKILL at random moments never leaves the daemon unable to inspect or remove, nor leaks', { timeout: TIME_CAP_MS + 120_000 }, async () => {
  const rnd = prng(SEED);
  let d = await TestDaemon.start();
  const dir = d.dir;
  const load = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), d.socket]);
  assert.equal(load.code, 0, load.stderr);
  const baseLayers = new Set(await readdir(join(d.dataRoot, 'overlay2')));
  // A registry holding busybox under another name, for pulls to be killed in the middle of.
  const reg = await TestRegistry.start();
  const pullRef = `${reg.host}/fault/bb`;
  assert.equal((await d.docker(['tag', 'busybox', `${pullRef}:latest`])).code, 0);
  const pushed = await d.docker(['push', `${pullRef}:latest`]);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.equal((await d.docker(['rmi', `${pullRef}:latest`])).code, 0);
  const started = Date.now();
  let rounds = 0;
  let failure: unknown;
  const seen = new Set<string>();
  try {
    for (; rounds < ROUNDS && Date.now() - started < TIME_CAP_MS; rounds++) {
      const api: Api = (method, path, body) => d.request(method, `/v1.41${path}`, body === undefined ? {} : { body });
      const killAt = Date.now() + 100 + Math.floor(rnd() * 1200);
      const work = (async () => {
        for (let n = 0; Date.now() < killAt; n++) await randomOp(api, rnd, rounds * 1000 + n, { socket: d.socket, pullRef }).catch(() => {});
      })();
      await new Promise((r) => setTimeout(r, Math.max(0, killAt - Date.now())));
      await d.stop('SIGKILL');
      await work;
      // With debug logs, so a start that hangs shows where (the error carries the log's end).
      d = await TestDaemon.start({ dir, args: ['-D'] });
      // Everything listed can be inspected.
      const containers = (await d.request('GET', '/v1.41/containers/json?all=1')).json() as Array<{ Id: string }>;
      for (const c of containers) {
        seen.add(c.Id);
        const r = await d.request('GET', `/v1.41/containers/${c.Id}/json`);
        assert.equal(r.status, 200, `round ${rounds}: inspect ${c.Id}: ${r.body}`);
      }
      const images = (await d.request('GET', '/v1.41/images/json?all=1')).json() as Array<{ Id: string }>;
      for (const i of images) {
        const r = await d.request('GET', `/v1.41/images/${i.Id}/json`);
        assert.equal(r.status, 200, `round ${rounds}: inspect image ${i.Id}: ${r.body}`);
      }
      const volumes = ((await d.request('GET', '/v1.41/volumes')).json().Volumes ?? []) as Array<{ Name: string }>;
      for (const v of volumes) {
        const r = await d.request('GET', `/v1.41/volumes/${v.Name}`);
        assert.equal(r.status, 200, `round ${rounds}: inspect volume ${v.Name}: ${r.body}`);
      }
      const networks = (await d.request('GET', '/v1.41/networks')).json() as Array<{ Id: string; Name: string }>;
      for (const x of networks) {
        const r = await d.request('GET', `/v1.41/networks/${x.Id}`);
        assert.equal(r.status, 200, `round ${rounds}: inspect network ${x.Name}: ${r.body}`);
      }
      // Some rounds remove everything again, so removal after a crash is exercised throughout.
      if (rnd() < 0.3) {
        for (const c of containers) {
          const r = await d.request('DELETE', `/v1.41/containers/${c.Id}?force=1`);
          assert.ok(r.status === 204 || r.status === 404, `round ${rounds}: rm ${c.Id}: ${r.status} ${r.body}`);
        }
      }
    }
    // The end: every container and committed image removed, then nothing of them left.
    const containers = (await d.request('GET', '/v1.41/containers/json?all=1')).json() as Array<{ Id: string }>;
    for (const c of containers) {
      const r = await d.request('DELETE', `/v1.41/containers/${c.Id}?force=1`);
      assert.ok(r.status === 204 || r.status === 404, `rm ${c.Id}: ${r.status} ${r.body}`);
    }
    const images = (await d.request('GET', '/v1.41/images/json')).json() as Array<{ Id: string; RepoTags: string[] }>;
    const tags = images.flatMap((i) => i.RepoTags);
    console.log(`after ${rounds} rounds: ${tags.filter((t) => t.startsWith('loaded:')).length} loaded images, pulled image ${tags.includes(`${pullRef}:latest`) ? '' : 'not '}present`);
    for (const i of images.filter((x) => !x.RepoTags.includes('busybox:latest'))) {
      const r = await d.request('DELETE', `/v1.41/images/${i.Id}?force=1`);
      assert.equal(r.status, 200, `rmi ${i.Id}: ${r.body}`);
    }
    assert.deepEqual((await d.request('GET', '/v1.41/containers/json?all=1')).json(), []);
    for (const v of ((await d.request('GET', '/v1.41/volumes')).json().Volumes ?? []) as Array<{ Name: string }>) {
      const r = await d.request('DELETE', `/v1.41/volumes/${v.Name}`);
      assert.equal(r.status, 204, `volume rm ${v.Name}: ${r.body}`);
    }
    for (const x of (await d.request('GET', '/v1.41/networks')).json() as Array<{ Name: string }>) {
      if (['bridge', 'host', 'none'].includes(x.Name)) continue;
      const r = await d.request('DELETE', `/v1.41/networks/${x.Name}`);
      assert.equal(r.status, 204, `network rm ${x.Name}: ${r.body}`);
    }
    const volumeDirs = await readdir(join(d.dataRoot, 'volumes')).catch(() => [] as string[]);
    assert.deepEqual(volumeDirs.filter((n) => !n.endsWith('.db') && !n.endsWith('.json')), [], 'volume directories left');
    const netns = await readdir(join(d.execRoot, 'netns')).catch(() => [] as string[]);
    assert.deepEqual(netns, [], 'network namespaces left');
    const bridges = (await run('ip', ['-o', 'link', 'show', 'type', 'bridge'])).stdout;
    const subnets = (await run('ip', ['-o', '-4', 'addr', 'show'])).stdout.split('\n').filter((l) => l.includes(' 10.216.'));
    assert.deepEqual(subnets, [], `bridges of the test's networks left:\n${bridges}`);
    const rules = (await run('iptables-save', [])).stdout.split('\n').filter((l) => l.includes('10.216.'));
    assert.deepEqual(rules, [], 'iptables rules of the test\'s networks left');
    const layers = (await readdir(join(d.dataRoot, 'overlay2'))).filter((n) => !baseLayers.has(n));
    assert.deepEqual(layers, [], 'layer directories left');
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(join(d.dataRoot, 'overlay2')));
    assert.deepEqual(mounts, [], 'overlay mounts left');
    const leftTasks = await tasksLeft(d);
    assert.equal(leftTasks, '', `containerd tasks left; the daemon said of them:\n${d.logs.split('\n').filter((l) => leftTasks && l.includes(leftTasks.slice(0, 12))).join('\n')}`);
    const fifos = await settled(() => readdir(join(d.execRoot, 'fifo')).catch(() => [] as string[]));
    assert.deepEqual(fifos, [], 'FIFO directories left');
    const cgroups = await readdir('/sys/fs/cgroup/memory/berth').catch(() => [] as string[]);
    for (const c of containers) seen.add(c.Id);
    assert.deepEqual(cgroups.filter((n) => seen.has(n)), [], 'cgroups left');
    assert.ok(rounds >= 3, `only ${rounds} rounds ran`);
    let shims = await shimsOf(d.execRoot);
    for (let i = 0; i < 150 && shims.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      shims = await shimsOf(d.execRoot);
    }
    const ctrs = await run('ctr', ['-a', join(d.execRoot, 'containerd', 'containerd.sock'), '-n', 'berth', 'containers', 'ls', '-q']);
    assert.deepEqual(shims, [], `shims left; containerd containers: ${ctrs.stdout}; daemon said: ${d.logs.split('\n').filter((l) => shims.some((s) => l.includes(s.id.slice(0, 12)))).join('\n')}`);
  } catch (err) {
    failure = err;
  } finally {
    const leaks = await d.cleanup({ keepDir: !!process.env.BERTH_FAULT_KEEP });
    await reg.stop();
    // A failed round can leave a daemon killed with the test's networks up: their bridges and
    // rules go here, so the next run's leak check starts clean.
    if (failure) await sweepTestNetworks();
    if (process.env.BERTH_FAULT_KEEP) await writeFile(join(d.dir, 'berthd.log'), d.logs);
    if (process.env.BERTH_FAULT_KEEP) console.log('kept', d.dir);
    // The first failure is the one to read; what it left behind is cleaned up either way.
    if (failure) throw failure;
    const ids = leaks.map((l) => /container ([0-9a-f]{12})/.exec(l)?.[1]).filter((x): x is string => !!x);
    assert.deepEqual(leaks, [], `the daemon said of them:\n${d.logs.split('\n').filter((l) => ids.some((id) => l.includes(id))).join('\n')}`);
  }
});
