/**
 * `GET /containers/{id}/top`, as dockerd 20.10's ContainerTop: run the host's `ps` with the
 * caller's arguments (plus `-q <pids>` when ps accepts it) and keep the rows whose PID belongs to
 * the container.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemError } from '../lib/errors.js';

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** dockerd refuses a `key=PID...` column rename other than `pid=`. */
function validatePsArgs(psArgs: string): void {
  const re = /\s+(\S*)=\s*(PID\S*)/g;
  for (const m of psArgs.matchAll(re)) {
    if (m[1] !== 'pid') throw new SystemError(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
}

/** Splits on ASCII whitespace only, as dockerd's fieldsASCII. */
function fields(line: string): string[] {
  return line.split(/[ \t\n\v\f\r]+/).filter((f) => f !== '');
}

function runPs(args: string[]): Promise<{ ok: true; out: string } | { ok: false; err: string }> {
  return new Promise((resolve) => {
    execFile('ps', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, out: stdout });
      const first = String(stderr).split('\n')[0];
      resolve({ ok: false, err: first || err.message });
    });
  });
}

/** Parses ps output, keeping rows of `pids` (and the thread rows, PID "-", that follow them). */
export function parsePsOutput(output: string, pids: readonly number[]): TopResult {
  const lines = output.split('\n');
  const titles = fields(lines[0] ?? '');
  const pidIndex = titles.indexOf('PID');
  if (pidIndex === -1) throw new SystemError("Couldn't find PID field in ps output");
  const want = new Set(pids);
  const processes: string[][] = [];
  const append = (f: string[]) => {
    const row = f.slice(0, titles.length - 1);
    row.push(f.slice(titles.length - 1).join(' '));
    processes.push(row);
  };
  let prevContained = false;
  for (const line of lines.slice(1)) {
    if (line.length === 0) continue;
    const f = fields(line);
    if (f[pidIndex] === '-') {
      if (prevContained) append(f);
      continue;
    }
    const p = Number(f[pidIndex]);
    if (!/^-?\d+$/.test(f[pidIndex] ?? '')) {
      throw new SystemError(`Unexpected pid '${f[pidIndex]}': strconv.Atoi: parsing "${f[pidIndex]}": invalid syntax`);
    }
    prevContained = want.has(p);
    if (prevContained) append(f);
  }
  return { Titles: titles, Processes: processes };
}

/**
 * Runs ps for a container whose processes are `pids`. `psArgs` defaults to `-ef`. A ps failure
 * is a SystemError "ps: <first line of ps's stderr>" (status 500), as dockerd.
 */
export async function top(pids: readonly number[], psArgs = ''): Promise<TopResult> {
  if (psArgs === '') psArgs = '-ef';
  validatePsArgs(psArgs);
  const args = psArgs.split(' ');
  // the PID column is found through the header line
  for (const a of args) {
    if (/^--no-?head(?:er|ing)s?$/.test(a)) throw new SystemError(`option ${a} is not allowed`);
  }
  let res = await runPs([...args, `-q${pids.join(',')}`]);
  // some ps options (f, for one) refuse -q: run again without it and filter
  if (!res.ok) res = await runPs(args);
  if (!res.ok) throw new SystemError(`ps: ${res.err}`);
  return parsePsOutput(res.out, pids);
}

function procsUnder(dir: string, out: Set<number>): void {
  let text = '';
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return;
  }
  for (const l of text.split('\n')) if (l) out.add(Number(l));
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) procsUnder(join(dir, e.name), out);
}

/**
 * The pids in a container's cgroup (its cgroupsPath, e.g. "/berth/<id>") and its sub-cgroups:
 * cgroup v2 (unified at /sys/fs/cgroup) or v1 (the pids, else memory, else cpu hierarchy).
 */
export function cgroupPids(cgroupsPath: string, cgroupRoot = '/sys/fs/cgroup'): number[] {
  const dirs = existsSync(join(cgroupRoot, 'cgroup.controllers'))
    ? [join(cgroupRoot, cgroupsPath)]
    : ['pids', 'memory', 'cpu', 'cpuacct', 'systemd'].map((c) => join(cgroupRoot, c, cgroupsPath));
  const dir = dirs.find((d) => existsSync(join(d, 'cgroup.procs')));
  const out = new Set<number>();
  if (dir) procsUnder(dir, out);
  return [...out].sort((a, b) => a - b);
}
