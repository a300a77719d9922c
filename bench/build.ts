import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Engine } from './engines.js';
import type { Context, Scenario } from './scenarios.js';
import { cli, loadBusybox } from './containers.js';

/**
 * Build scenarios of the build issue: a 10-step Dockerfile through the classic builder
 * (DOCKER_BUILDKIT=0), uncached (`--no-cache`) and fully cached. RUN steps use no network.
 */

const DOCKERFILE = `FROM busybox
ENV APP=/app MODE=bench
WORKDIR /app
COPY data/ /app/data/
RUN cat /app/data/* | wc -c > /app/size
ARG LEVEL=3
RUN echo "level $LEVEL" > /app/level && mkdir -p /app/out
COPY main.sh /app/main.sh
LABEL bench=build
CMD ["sh", "/app/main.sh"]
`;

async function context(dir: string): Promise<string> {
  const root = join(dir, 'build-context');
  await mkdir(join(root, 'data'), { recursive: true });
  await writeFile(join(root, 'Dockerfile'), DOCKERFILE);
  await writeFile(join(root, 'main.sh'), 'cat /app/size /app/level\n');
  for (let i = 0; i < 50; i++) await writeFile(join(root, 'data', `f${i}.txt`), `file ${i}\n`.repeat(200));
  return root;
}

const BUILD_ENV = { DOCKER_BUILDKIT: '0' };

async function build(e: Engine, ctx: Context, extra: string[]): Promise<number> {
  const root = await context(ctx.scratch);
  const t0 = performance.now();
  await cli(ctx, e, ['build', '-q', ...extra, '--network', 'none', '-t', 'bench-build:latest', root], 300_000, BUILD_ENV);
  return performance.now() - t0;
}

export const buildScenarios: Scenario[] = [
  {
    name: 'build-uncached',
    group: 'build',
    description: '`docker build --no-cache` of a 10-step Dockerfile (2 RUN, 2 COPY), classic builder',
    unit: 'ms', mode: 'running', iterations: 5, warmup: 1,
    setup: loadBusybox,
    teardown: async (e, ctx) => { await cli(ctx, e, ['image', 'prune', '-f']).catch(() => ''); },
    async sample(e, ctx) {
      return { value: await build(e, ctx, ['--no-cache']) };
    },
  },
  {
    name: 'build-cached',
    group: 'build',
    description: 'the same build again, every step a cache hit',
    unit: 'ms', mode: 'running', iterations: 10, warmup: 1,
    async setup(e, ctx) {
      await loadBusybox(e, ctx);
      await build(e, ctx, []);
    },
    async sample(e, ctx) {
      return { value: await build(e, ctx, []) };
    },
  },
];
