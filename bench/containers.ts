import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, open, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Engine } from './engines.js';
import type { Context, Scenario } from './scenarios.js';
import { busyboxArchive } from './fixtures.js';

/**
 * Container scenarios of the containers issue: create, start, exec, `ps -a` with 1,000
 * containers and `logs` of 50 MB. Every container runs with `--network none` so that the
 * network set-up of either engine is not what is measured.
 */

function env(e: Engine, ctx: Context): Record<string, string> {
  return { DOCKER_HOST: e.host, DOCKER_CONFIG: ctx.dockerConfig };
}

export function cli(ctx: Context, e: Engine, args: string[], timeout = 60_000, extraEnv: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ctx.docker, args, { env: { ...process.env, ...env(e, ctx), ...extraEnv }, timeout, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`docker ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A JSON POST over the engine's socket (setup only: the CLI is what is measured). */
function post(e: Engine, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({
      socketPath: e.dirs.socket, method: 'POST', path,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      let out = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { out += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body: out }));
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`POST ${path} timed out`)));
    req.end(data);
  });
}

/**
 * The CLI with its stdout on a file, as `docker logs c > file`: the harness reading 50 MB
 * through a pipe would be measured too (it took longer than some engines' whole answer).
 * Resolves to the bytes written.
 */
async function cliToFile(ctx: Context, e: Engine, args: string[], path: string, timeout: number): Promise<number> {
  const file = await open(path, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(ctx.docker, args, { env: { ...process.env, ...env(e, ctx) }, stdio: ['ignore', file.fd, 'pipe'], timeout });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')}: exit ${code}\n${stderr}`))));
    });
  } finally {
    await file.close();
  }
  const { size } = await stat(path);
  await rm(path, { force: true });
  return size;
}

export async function loadBusybox(e: Engine, ctx: Context): Promise<void> {
  await cli(ctx, e, ['load', '-q', '-i', await busyboxArchive(ctx.scratch)], 120_000);
}

const NONE = { HostConfig: { NetworkMode: 'none' } };

/** 50 MB of log lines (76 bytes each), written once per run and copied into the container. */
async function logFixture(dir: string): Promise<string> {
  const path = join(dir, 'log-50mb.txt');
  if (await access(path).then(() => true, () => false)) return path;
  const out = createWriteStream(path);
  const line = `${'x'.repeat(70)} line\n`;
  const chunk = line.repeat(1000);
  for (let written = 0; written < 50 * 1024 * 1024; written += chunk.length) {
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return path;
}

export const containerScenarios: Scenario[] = [
  {
    name: 'create',
    group: 'containers',
    description: '`docker create --network none busybox true` (removed between samples)',
    unit: 'ms', mode: 'running', iterations: 15, warmup: 2,
    setup: loadBusybox,
    async sample(e, ctx) {
      const t0 = performance.now();
      const id = (await cli(ctx, e, ['create', '--network', 'none', 'busybox', 'true'])).trim();
      const value = performance.now() - t0;
      await cli(ctx, e, ['rm', '-f', id]);
      return { value };
    },
  },
  {
    name: 'start',
    group: 'containers',
    description: '`docker start` of a created container (`busybox true`, --network none)',
    unit: 'ms', mode: 'running', iterations: 15, warmup: 2,
    setup: loadBusybox,
    async sample(e, ctx) {
      const id = (await cli(ctx, e, ['create', '--network', 'none', 'busybox', 'true'])).trim();
      const t0 = performance.now();
      await cli(ctx, e, ['start', id]);
      const value = performance.now() - t0;
      await cli(ctx, e, ['rm', '-f', id]);
      return { value };
    },
  },
  {
    name: 'exec',
    group: 'containers',
    description: '`docker exec c true` in a running container',
    unit: 'ms', mode: 'running', iterations: 20, warmup: 3,
    async setup(e, ctx) {
      await loadBusybox(e, ctx);
      await cli(ctx, e, ['rm', '-f', 'bench-exec']).catch(() => {});
      await cli(ctx, e, ['run', '-d', '--name', 'bench-exec', '--network', 'none', 'busybox', 'sleep', '3600']);
    },
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx, e, ['exec', 'bench-exec', 'true']);
      return { value: performance.now() - t0 };
    },
  },
  {
    name: 'ps-1000',
    group: 'containers',
    description: '`docker ps -a` with 1,000 created containers',
    unit: 'ms', mode: 'running', iterations: 15, warmup: 2,
    async setup(e, ctx) {
      await loadBusybox(e, ctx);
      const have = (await cli(ctx, e, ['ps', '-aq'])).trim().split('\n').filter(Boolean).length;
      for (let i = have; i < 1000; i++) {
        const r = await post(e, '/v1.41/containers/create', { Image: 'busybox', Cmd: ['true'], Labels: { bench: 'ps' }, ...NONE });
        if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`);
      }
    },
    async sample(e, ctx) {
      const t0 = performance.now();
      await cli(ctx, e, ['ps', '-a']);
      return { value: performance.now() - t0 };
    },
  },
  {
    name: 'logs-50mb',
    group: 'containers',
    description: '`docker logs` of a container that wrote 50 MB (json-file), its output to a file',
    unit: 'ms', mode: 'running', iterations: 7, warmup: 1,
    async setup(e, ctx) {
      await loadBusybox(e, ctx);
      const fixture = await logFixture(ctx.scratch);
      await cli(ctx, e, ['rm', '-f', 'bench-logs']).catch(() => {});
      await cli(ctx, e, ['create', '--name', 'bench-logs', '--network', 'none', 'busybox', 'cat', '/log.txt']);
      await cli(ctx, e, ['cp', fixture, 'bench-logs:/log.txt'], 120_000);
      await cli(ctx, e, ['start', '-a', 'bench-logs'], 300_000);
    },
    async sample(e, ctx) {
      const t0 = performance.now();
      const size = await cliToFile(ctx, e, ['logs', 'bench-logs'], join(ctx.scratch, 'logs.out'), 300_000);
      const value = performance.now() - t0;
      if (size < 50 * 1024 * 1024) throw new Error(`logs returned ${size} bytes`);
      return { value };
    },
  },
];
