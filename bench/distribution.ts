import { createWriteStream, rmSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { TarWriter, tarStream } from '../src/archive/writer.js';
import { TestRegistry } from '../test/registry.js';
import type { Scenario } from './scenarios.js';
import { noise, sha } from './fixtures.js';
import { cli } from './containers.js';

/**
 * Pull and push of a ~100 MB, 5-layer image (pseudo-random content: gzip cannot shrink it)
 * against Debian's docker-registry on 127.0.0.1, started once for the run and stopped by pid
 * when the bench exits. Both engines use the same registry, each its own repository for
 * pushes; between push samples the repository's blobs are deleted so each sample uploads.
 */
const TAG = 'bench/dist:100mb';
/** The push scenario's image: other content, so no layer of it is in the pull scenario's repository to mount from. */
const PUSH_TAG = 'bench/dist-push:100mb';

class Shared {
  #reg: Promise<TestRegistry> | undefined;

  registry(): Promise<TestRegistry> {
    this.#reg ??= TestRegistry.start().then((r) => {
      process.once('exit', () => {
        try { process.kill(r.pid, 'SIGKILL'); } catch { /* gone */ }
        rmSync(r.dir, { recursive: true, force: true });
      });
      return r;
    });
    return this.#reg;
  }
}
const shared = new Shared();



/** docker-archive of a 5-layer image, each layer two 10 MB files; `tag` also picks the content. */
async function distImage(dir: string, tag = TAG): Promise<string> {
  const variant = tag === TAG ? 0 : 1;
  const path = join(dir, `dist-100mb-${variant}.tar`);
  if (await access(path).then(() => true, () => false)) return path;
  const layers: Buffer[] = [];
  for (let i = 0; i < 5; i++) {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new TarWriter(out);
    for (let j = 0; j < 2; j++) {
      await w.addEntry({ name: `data/l${i}/f${j}`, type: 'file', mode: 0o644, mtime: new Date(1_600_000_000_000) }, noise(1000 + variant * 500 + i * 10 + j, 10 << 20));
    }
    await w.finish();
    layers.push(Buffer.concat(chunks));
  }
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2020-09-13T12:26:40Z',
    config: { Cmd: ['sh'], Labels: { bench: 'dist' } }, rootfs: { type: 'layers', diff_ids: layers.map(sha) },
  }));
  await pipeline(tarStream(async (w) => {
    const paths: string[] = [];
    for (const l of layers) {
      const d = sha(l).slice(7);
      paths.push(`${d}/layer.tar`);
      await w.addEntry({ name: `${d}/layer.tar`, type: 'file', mode: 0o644 }, l);
    }
    const c = sha(config).slice(7);
    await w.addEntry({ name: `${c}.json`, type: 'file', mode: 0o644 }, config);
    await w.addEntry({ name: 'manifest.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify([{ Config: `${c}.json`, RepoTags: [tag], Layers: paths }])));
  }), createWriteStream(path));
  return path;
}

/** Unlinks every blob of a repository's tag and the manifest, so the next push uploads again. */
async function emptyRepository(reg: TestRegistry, repo: string): Promise<void> {
  const m = await fetch(`${reg.url}/v2/${repo}/manifests/latest`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  if (m.status !== 200) return;
  const digest = m.headers.get('docker-content-digest')!;
  const body = (await m.json()) as { config: { digest: string }; layers: Array<{ digest: string }> };
  for (const d of [body.config.digest, ...body.layers.map((l) => l.digest)]) {
    await fetch(`${reg.url}/v2/${repo}/blobs/${d}`, { method: 'DELETE' });
  }
  await fetch(`${reg.url}/v2/${repo}/manifests/${digest}`, { method: 'DELETE' });
}

export const distributionScenarios: Scenario[] = [
  {
    name: 'pull-100mb',
    group: 'distribution',
    description: '`docker pull` of a 100 MB, 5-layer image from a local docker-registry (image removed between samples)',
    unit: 'ms',
    mode: 'running',
    iterations: 5,
    warmup: 1,
    async setup(e, ctx) {
      const reg = await shared.registry();
      const name = `${reg.host}/bench/pull:latest`;
      await cli(ctx, e, ['load', '-q', '-i', await distImage(ctx.scratch)], 600_000);
      await cli(ctx, e, ['tag', TAG, name]);
      await cli(ctx, e, ['push', name], 600_000);
      await cli(ctx, e, ['rmi', TAG, name]);
    },
    async sample(e, ctx) {
      const reg = await shared.registry();
      const name = `${reg.host}/bench/pull:latest`;
      const t0 = performance.now();
      await cli(ctx, e, ['pull', '-q', name], 600_000);
      const ms = performance.now() - t0;
      await cli(ctx, e, ['rmi', name]);
      return { value: ms };
    },
  },
  {
    name: 'push-100mb',
    group: 'distribution',
    description: '`docker push` of a 100 MB, 5-layer image to a local docker-registry (its blobs deleted there between samples, none in another repository)',
    unit: 'ms',
    mode: 'running',
    iterations: 5,
    warmup: 1,
    async setup(e, ctx) {
      const reg = await shared.registry();
      await cli(ctx, e, ['load', '-q', '-i', await distImage(ctx.scratch, PUSH_TAG)], 600_000);
      await cli(ctx, e, ['tag', PUSH_TAG, `${reg.host}/bench/push-${e.name}:latest`]);
    },
    async sample(e, ctx) {
      const reg = await shared.registry();
      const repo = `bench/push-${e.name}`;
      await emptyRepository(reg, repo);
      const t0 = performance.now();
      await cli(ctx, e, ['push', `${reg.host}/${repo}:latest`], 600_000);
      return { value: performance.now() - t0 };
    },
  },
];
