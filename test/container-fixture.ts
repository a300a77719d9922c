import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TestDaemon, ROOT, run, settled, tasksLeft, type StartOptions } from './harness.js';

/**
 * What the container test files share: a daemon with the built-in busybox loaded, the leak
 * check they end with, and a pty for the CLI's interactive modes.
 */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startWithBusybox(opts: StartOptions = {}): Promise<TestDaemon> {
  const d = await TestDaemon.start(opts);
  const r = await run(process.execPath, [join(ROOT, 'dist', 'src', 'cmd', 'load-builtin.js'), d.socket]);
  assert.equal(r.code, 0, r.stderr);
  return d;
}

/** Removes every container (forced) and user-defined network; returns the networks that would not go. */
export async function removeNetworks(d: TestDaemon): Promise<string[]> {
  const leaks: string[] = [];
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  for (const id of ids) await d.docker(['rm', '-f', id]);
  const nets = (await d.docker(['network', 'ls', '--filter', 'type=custom', '-q'])).stdout.trim().split('\n').filter(Boolean);
  for (const n of nets) {
    const r = await d.docker(['network', 'rm', n]);
    if (r.code !== 0) leaks.push(`network rm ${n}: ${r.stderr}`);
  }
  return leaks;
}

/** Runs the docker CLI against `d` and asserts it exits 0; returns its stdout. */
export async function dockerOk(d: TestDaemon, args: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await d.docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A test file's daemon: started with busybox before its tests (handed to `set`), every
 * container removed and nothing leaked after them.
 */
export function useBusyboxDaemon(set: (d: TestDaemon) => void): void {
  const started = new Date();
  let d: TestDaemon;
  before(async () => {
    d = await startWithBusybox();
    set(d);
  });
  after(async () => {
    assert.deepEqual(await removeAllAndFindLeaks(d, started), []);
  });
}

/**
 * Removes every container, stops the daemon, and returns what was left behind: containerd
 * tasks, FIFOs, cgroups of any container the daemon had since `since` (removed ones
 * included, found through its events), and the harness's own findings.
 */
export async function removeAllAndFindLeaks(d: TestDaemon, since: Date): Promise<string[]> {
  const ev = await d.docker(['events', '--since', String(Math.floor(since.getTime() / 1000)), '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'type=container', '--format', '{{.ID}}']);
  const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  const known = [...new Set([...ids, ...ev.stdout.trim().split('\n').filter(Boolean)])];
  const problems: string[] = [];
  for (const id of ids) {
    const r = await d.docker(['rm', '-f', id]);
    if (r.code !== 0) problems.push(`docker rm -f ${id}: ${r.stderr}`);
  }
  const tasks = await tasksLeft(d);
  if (tasks) problems.push(`containerd tasks left: ${tasks}`);
  const fifos = await settled(async () => (await run('find', [d.dir, '(', '-type', 'p', '-o', '-path', '*fifo*', ')'])).stdout
    .split('\n').filter((f) => known.some((id) => f.includes(id))));
  for (const f of fifos) problems.push(`FIFO left: ${f}`);
  problems.push(...await d.cleanup());
  for (const ctl of ['memory', 'pids', 'cpu']) {
    const left = await readdir(`/sys/fs/cgroup/${ctl}/berth`).catch(() => [] as string[]);
    for (const n of left.filter((n) => known.some((id) => n.startsWith(id)))) problems.push(`${ctl} cgroup left: ${n}`);
  }
  return problems;
}

/**
 * Runs `cmd` under `script` so the docker CLI sees a terminal; `writes` are sent to its stdin
 * after their delays, then stdin stays open `holdMs` more before it is closed.
 */
export function underPty(d: TestDaemon, cmd: string, writes: Array<[number, string | Buffer]>, holdMs = 0, timeoutMs = 30_000):
  Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    child.stdin.on('error', () => {});
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(kill); resolve({ code, out }); });
    void (async () => {
      for (const [ms, data] of writes) {
        await sleep(ms);
        if (child.exitCode !== null) return;
        child.stdin.write(data);
      }
      await sleep(holdMs);
      child.stdin.end();
    })();
  });
}
