import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Engine } from './engines.js';
import { request } from './http.js';
import { sleep } from './proc.js';
import { bigImage, busyboxArchive, manyImages } from './fixtures.js';
import { distributionScenarios } from './distribution.js';
import { containerScenarios } from './containers.js';
import { networkScenarios } from './network.js';
import { buildScenarios } from './build.js';

/** One measurement: the value reported, and optionally its parts (e.g. RSS per process). */
export interface Sample {
  value: number;
  parts?: Record<string, number>;
}

/** What scenarios share, set from the command line. */
export interface Context {
  /** The docker CLI binary. */
  docker: string;
  /** DOCKER_CONFIG for the CLI, so no user configuration or context leaks in. */
  dockerConfig: string;
  /** How long a daemon sits idle before its RSS is read. */
  idleMs: number;
  /** A directory for fixtures (image archives) shared by the scenarios of one run. */
  scratch: string;
}

/**
 * A scenario measures one thing on one engine per call of `sample`. The runner calls it on
 * each engine in alternation (A, B, A, B, ...).
 *
 * - `running`: both daemons are up before the first sample and stay up.
 * - `cold`: both daemons are down before each sample; `sample` starts and stops its own.
 *
 * To add a scenario, append an entry to `scenarios`.
 */
export interface Scenario {
  name: string;
  /** `--only` matches a scenario's name or its group. */
  group: string;
  description: string;
  unit: 'ms' | 'MiB';
  mode: 'running' | 'cold';
  iterations: number;
  /** Unmeasured samples per engine before the measured ones. */
  warmup: number;
  /** Once per engine, before its warm-up samples (e.g. load the images a scenario lists). */
  setup?(e: Engine, ctx: Context): Promise<void>;
  /** Once per engine after the samples, while it still runs (e.g. remove networks it made). */
  teardown?(e: Engine, ctx: Context): Promise<void>;
  sample(e: Engine, ctx: Context): Promise<Sample>;
}

const MiB = 1024 * 1024;

export const scenarios: Scenario[] = [
  {
    name: 'version-cli',
    group: 'version',
    description: 'wall time of `docker version` (real CLI) against the daemon',
    unit: 'ms',
    mode: 'running',
    iterations: 15,
    warmup: 2,
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx.docker, ['version'], { DOCKER_HOST: e.host, DOCKER_CONFIG: ctx.dockerConfig });
      return { value: performance.now() - t0 };
    },
  },
  {
    name: 'version-http',
    group: 'version',
    description: 'raw GET /version round trip over the unix socket (new connection each)',
    unit: 'ms',
    mode: 'running',
    iterations: 200,
    warmup: 20,
    async sample(e) {
      const t0 = performance.now();
      const r = await request(e.dirs.socket, 'GET', '/version');
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`GET /version: ${r.status} ${r.body.trim()}`);
      return { value: ms };
    },
  },
  {
    name: 'startup',
    group: 'startup',
    description: 'spawn to first 200 on GET /_ping (polled every 10 ms), same data root each time',
    unit: 'ms',
    mode: 'cold',
    iterations: 5,
    warmup: 1,
    async sample(e) {
      try {
        return { value: await e.start() };
      } finally {
        await e.stop();
      }
    },
  },
  {
    name: 'idle-rss',
    group: 'idle-rss',
    description: 'RSS of the daemon plus its containerd and other children, after start and idle',
    unit: 'MiB',
    mode: 'cold',
    iterations: 5,
    warmup: 0,
    async sample(e, ctx) {
      try {
        await e.start();
        await sleep(ctx.idleMs);
        const bytes = await e.rss();
        const parts = Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, v / MiB]));
        return { value: Object.values(parts).reduce((a, b) => a + b, 0), parts };
      } finally {
        await e.stop();
      }
    },
  },
  {
    name: 'load-300mb',
    group: 'images',
    description: '`docker load` of a 300 MB, 10-layer image (removed again between samples)',
    unit: 'ms',
    mode: 'running',
    iterations: 3,
    warmup: 0,
    async setup(e, ctx) {
      await bigImage(ctx.scratch);
      await cli(ctx.docker, ['rmi', '-f', 'bench/big:300mb'], env(e, ctx)).catch(() => {});
    },
    async sample(e, ctx) {
      const path = await bigImage(ctx.scratch);
      const t0 = performance.now();
      await cli(ctx.docker, ['load', '-q', '-i', path], env(e, ctx), 600_000);
      const ms = performance.now() - t0;
      await cli(ctx.docker, ['rmi', 'bench/big:300mb'], env(e, ctx));
      return { value: ms };
    },
  },
  {
    name: 'images-1000',
    group: 'images',
    description: '`docker images` with 1,000 images',
    unit: 'ms',
    mode: 'running',
    iterations: 15,
    warmup: 2,
    async setup(e, ctx) {
      await cli(ctx.docker, ['load', '-q', '-i', await manyImages(ctx.scratch)], env(e, ctx), 600_000);
    },
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx.docker, ['images'], env(e, ctx));
      return { value: performance.now() - t0 };
    },
  },
  {
    name: 'run-rm',
    group: 'containers',
    description: '`docker run --rm --network none busybox true`',
    unit: 'ms',
    mode: 'running',
    iterations: 10,
    warmup: 2,
    async setup(e, ctx) {
      await cli(ctx.docker, ['load', '-q', '-i', await busyboxArchive(ctx.scratch)], env(e, ctx), 120_000);
    },
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx.docker, ['run', '--rm', '--network', 'none', 'busybox', 'true'], env(e, ctx), 60_000);
      return { value: performance.now() - t0 };
    },
  },
  ...containerScenarios,
  ...networkScenarios,
  ...buildScenarios,
  ...distributionScenarios,
];

function env(e: Engine, ctx: Context): Record<string, string> {
  return { DOCKER_HOST: e.host, DOCKER_CONFIG: ctx.dockerConfig };
}

function cli(file: string, args: string[], env: Record<string, string>, timeout = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}
