import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { parseArgs } from 'node:util';
import { berthdSpec, dockerdSpec, Engine, type EngineSpec } from './engines.js';
import type { EngineResult, Report, ScenarioResult } from './report.js';
import { table } from './report.js';
import { scenarios, type Context, type Sample, type Scenario } from './scenarios.js';
import { summarize } from './stats.js';

/**
 * berth-bench: compares berthd with a reference dockerd on this machine in one run. Each
 * engine gets its own socket, data root and exec root in a temp directory; samples
 * alternate between the engines; the report gives medians and their ratio.
 */
const USAGE = `Usage: node dist/bench/main.js [options]   (scripts/bench does the set-up, as root)

Options:
  --iterations N | NAME=N[,NAME=N]  samples per engine, for all scenarios or per scenario/group
  --only NAME[,NAME]                run only these scenarios (a name or a group: ${[...new Set(scenarios.flatMap((s) => [s.group, s.name]))].join(', ')})
  --engines LIST                    engines in alternation order (default berthd,dockerd)
  --idle-seconds S                  idle time before reading RSS (default 3)
  --docker PATH                     docker CLI (default /usr/local/bin/docker, else docker)
  --dockerd PATH                    reference daemon (default dockerd)
  --json                            print the report as JSON (samples included)
  --keep                            keep the temp directories (daemon logs) afterwards
  -h, --help
`;

interface Options {
  iterations: (s: Scenario) => number;
  only: string[];
  engines: string[];
  idleMs: number;
  docker: string;
  dockerd: string;
  json: boolean;
  keep: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: 'string' },
      only: { type: 'string', multiple: true },
      engines: { type: 'string' },
      'idle-seconds': { type: 'string' },
      docker: { type: 'string' },
      dockerd: { type: 'string' },
      json: { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const count = (v: string, what: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: want a positive integer, got "${v}"`);
    return n;
  };
  let iterations = (s: Scenario): number => s.iterations;
  const it = values.iterations;
  if (it !== undefined) {
    if (/^\d+$/.test(it)) {
      const n = count(it, '--iterations');
      iterations = () => n;
    } else {
      const per = new Map(it.split(',').map((kv) => {
        const [k, v] = kv.split('=');
        if (!k || v === undefined) throw new Error(`--iterations: want N or NAME=N, got "${kv}"`);
        return [k, count(v, `--iterations ${k}`)] as const;
      }));
      iterations = (s) => per.get(s.name) ?? per.get(s.group) ?? s.iterations;
    }
  }
  const only = (values.only ?? []).flatMap((o) => o.split(',')).filter(Boolean);
  for (const o of only) {
    if (!scenarios.some((s) => s.name === o || s.group === o)) throw new Error(`--only: no scenario "${o}"`);
  }
  const engines = (values.engines ?? 'berthd,dockerd').split(',').filter(Boolean);
  for (const e of engines) {
    if (e !== 'berthd' && e !== 'dockerd') throw new Error(`--engines: unknown engine "${e}"`);
  }
  const idle = Number(values['idle-seconds'] ?? 3);
  if (!(idle >= 0)) throw new Error(`--idle-seconds: want a number, got "${values['idle-seconds']}"`);
  return {
    iterations, only, engines, idleMs: idle * 1000,
    docker: values.docker ?? (existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : 'docker'),
    dockerd: values.dockerd ?? 'dockerd',
    json: values.json ?? false,
    keep: values.keep ?? false,
  };
}

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one scenario on all engines in alternation; a failure ends the scenario, not the run. */
async function runScenario(s: Scenario, n: number, engines: Engine[], ctx: Context, warnings: string[]):
  Promise<ScenarioResult> {
  const samples = new Map<string, Sample[]>(engines.map((e) => [e.name, []]));
  let error: string | undefined;
  let current = engines[0]!;
  try {
    for (const e of engines) {
      current = e;
      if (s.mode === 'running' && !e.running) await e.start();
      if (s.mode === 'cold') warnings.push(...(await e.stop()));
      if (s.setup) await s.setup(e, ctx);
    }
    for (let i = 0; i < s.warmup; i++) {
      for (const e of engines) { current = e; await s.sample(e, ctx); }
    }
    for (let i = 0; i < n; i++) {
      for (const e of engines) { current = e; samples.get(e.name)!.push(await s.sample(e, ctx)); }
      if (n >= 10 && (i + 1) % Math.ceil(n / 4) === 0) progress(`${s.name}: ${i + 1}/${n}`);
    }
  } catch (err) {
    error = `${current.name}: ${message(err)}`;
    progress(`${s.name} FAILED on ${error}`);
  }
  // What a scenario made outside the daemons' directories (networks are bridges on the host).
  for (const e of engines) {
    if (!s.teardown || !e.running) continue;
    try { await s.teardown(e, ctx); } catch (err) { warnings.push(`${s.name}: ${e.name}: teardown: ${message(err)}`); }
  }
  const results: Record<string, EngineResult> = {};
  for (const [name, list] of samples) {
    const partNames = [...new Set(list.flatMap((x) => Object.keys(x.parts ?? {})))];
    results[name] = {
      summary: summarize(list.map((x) => x.value)),
      samples: list.map((x) => x.value),
      parts: Object.fromEntries(partNames.map((p) => [p, summarize(list.map((x) => x.parts?.[p] ?? 0))])),
    };
  }
  const [a, b] = engines.map((e) => results[e.name]!.summary.median);
  const ratio = a !== undefined && b !== undefined && !Number.isNaN(a) && !Number.isNaN(b) && b > 0 ? a / b : null;
  return {
    name: s.name, description: s.description, unit: s.unit, iterations: n, results, ratio,
    ...(error ? { error } : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`bench: ${message(err)}\n${USAGE}`);
    return 2;
  }
  if (!opts) { process.stdout.write(USAGE); return 0; }
  if (process.getuid?.() !== 0) { process.stderr.write('bench: must run as root\n'); return 2; }
  if (opts.engines.includes('dockerd') && existsSync('/run/containerd/containerd.sock')) {
    // dockerd 20.10 dials a running system containerd instead of starting its own, which
    // would measure (and share) a different containerd than berthd's.
    process.stderr.write('bench: /run/containerd/containerd.sock exists: dockerd would use that containerd, not its own\n');
    return 2;
  }
  const selected = scenarios.filter((s) => opts.only.length === 0 || opts.only.includes(s.name) || opts.only.includes(s.group));
  // Scenarios that keep the daemons up run first, then those that start them afresh.
  selected.sort((x, y) => Number(x.mode === 'cold') - Number(y.mode === 'cold'));

  const specs: Record<string, EngineSpec> = { berthd: berthdSpec(), dockerd: dockerdSpec(opts.dockerd) };
  const engines: Engine[] = [];
  const warnings: string[] = [];
  const dockerConfig = await mkdtemp('/tmp/bb-cli-');
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaned ??= (async () => {
    for (const e of engines) {
      try { warnings.push(...(await e.dispose({ keep: opts.keep }))); }
      catch (err) { warnings.push(`${e.name}: cleanup: ${message(err)}`); }
    }
    await rm(dockerConfig, { recursive: true, force: true });
  })());
  const onSignal = (sig: NodeJS.Signals): void => {
    progress(`${sig}: stopping the daemons`);
    void cleanup().then(() => {
      for (const w of warnings) progress(w);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => { for (const e of engines) e.killNow(); });

  const report: Report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, kernel: release(), node: process.version },
    engines: {},
    order: opts.engines,
    scenarios: [],
    warnings,
  };
  let failed = false;
  try {
    for (const name of opts.engines) {
      const e = await Engine.create(specs[name]!);
      engines.push(e);
      const { file, args } = specs[name]!.command(e.dirs);
      progress(`${name}: ${file} ${args.join(' ')}`);
    }
    // A first start initialises each data root, so no measured start pays for that; a
    // daemon that cannot start at all ends the run here, with its log.
    for (const e of engines) {
      try {
        const ms = await e.start();
        report.engines[e.name] = { version: await e.version(), command: specs[e.name]!.command(e.dirs).file };
        progress(`${e.name} ${report.engines[e.name]!.version} ready in ${ms.toFixed(0)} ms (first start)`);
      } catch (err) {
        process.stderr.write(`bench: ${message(err)}\n`);
        await cleanup();
        for (const w of warnings) progress(w);
        return 1;
      }
    }
    const ctx: Context = { docker: opts.docker, dockerConfig, idleMs: opts.idleMs, scratch: dockerConfig };
    for (const s of selected) {
      const n = opts.iterations(s);
      progress(`${s.name}: ${n} iterations (${s.description})`);
      const r = await runScenario(s, n, engines, ctx, warnings);
      if (r.error) failed = true;
      report.scenarios.push(r);
    }
  } finally {
    await cleanup();
  }
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  if (opts.keep) progress(`kept ${engines.map((e) => e.dirs.dir).join(' ')}`);
  return failed ? 1 : 0;
}

// Exit now: helpers a scenario started for the whole run (the shared registry) end with the process.
process.exit(await main(process.argv.slice(2)));
