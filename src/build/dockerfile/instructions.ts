/**
 * Typed Dockerfile instructions, as dockerd 20.10's classic builder reads them from the parsed
 * nodes (buildkit v0.8 frontend/dockerfile/instructions). An "instruction" holds its arguments
 * unexpanded; expandInstruction applies variable substitution to the ones the builder expands.
 * A "stage" starts at each FROM and holds the instructions up to the next FROM; ARGs before
 * the first FROM are the "meta args", usable in FROM lines only.
 */
import { InvalidParameter } from '../../lib/errors.js';
import { DockerfileParseError, type Node, type ParseResult } from './parser.js';
import type { ShellLex } from './shell-lex.js';

export interface Source {
  /** The logical line as written (continuations joined). */
  original: string;
  startLine: number;
  endLine: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

/** One name of an ARG instruction, with its default when it has one. */
export interface ArgDefinition {
  key: string;
  value?: string;
}

/** RUN, CMD and ENTRYPOINT: a JSON array is run as is, anything else through the SHELL. */
export interface CommandLine {
  cmdLine: string[];
  prependShell: boolean;
}

/** Durations are in nanoseconds, as the Engine API's HealthConfig has them; 0 means unset. */
export interface HealthConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

export type Instruction = Source &
  (
    | { kind: 'ENV'; env: KeyValue[] }
    | { kind: 'LABEL'; labels: KeyValue[] }
    | { kind: 'MAINTAINER'; maintainer: string }
    | ({ kind: 'RUN'; flagsUsed?: string[] } & CommandLine)
    | ({ kind: 'CMD' } & CommandLine)
    | ({ kind: 'ENTRYPOINT' } & CommandLine)
    | { kind: 'ARG'; args: ArgDefinition[] }
    | { kind: 'EXPOSE'; ports: string[] }
    | { kind: 'USER'; user: string }
    | { kind: 'WORKDIR'; path: string }
    | { kind: 'VOLUME'; volumes: string[] }
    | { kind: 'COPY'; sources: string[]; dest: string; from: string; chown: string; chmod: string }
    | { kind: 'ADD'; sources: string[]; dest: string; chown: string; chmod: string }
    | { kind: 'ONBUILD'; expression: string }
    | { kind: 'STOPSIGNAL'; signal: string }
    | { kind: 'HEALTHCHECK'; health: HealthConfig }
    | { kind: 'SHELL'; shell: string[] }
  );

export type InstructionOf<K extends Instruction['kind']> = Extract<Instruction, { kind: K }>;

/** One FROM and what follows it. `name` is the lower-cased `AS` name, or ''. */
export interface Stage extends Source {
  index: number;
  name: string;
  baseName: string;
  platform: string;
  commands: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
  /** ARG instructions before the first FROM. */
  metaArgs: InstructionOf<'ARG'>[];
}

/** The `--name=value` flags an instruction accepts, parsed as dockerd's BFlags. */
class Flags {
  readonly #args: string[];
  readonly #kinds = new Map<string, 'string' | 'bool'>();
  readonly #values = new Map<string, string>();

  constructor(args: string[]) {
    this.#args = args;
  }
  string(name: string): this {
    this.#kinds.set(name, 'string');
    return this;
  }
  bool(name: string): this {
    this.#kinds.set(name, 'bool');
    return this;
  }
  /** The flags given, in the order seen. */
  used(): string[] {
    return [...this.#values.keys()];
  }
  get(name: string): string {
    return this.#values.get(name) ?? (this.#kinds.get(name) === 'bool' ? 'false' : '');
  }
  parse(): this {
    for (const raw of this.#args) {
      if (!raw.startsWith('--')) throw new Error(`Arg should start with -- : ${raw}`);
      if (raw === '--') break;
      let arg = raw.slice(2);
      let value = '';
      const eq = arg.indexOf('=');
      if (eq >= 0) {
        value = arg.slice(eq + 1);
        arg = arg.slice(0, eq);
      }
      const kind = this.#kinds.get(arg);
      if (!kind) throw new Error(`Unknown flag: ${arg}`);
      if (this.#values.has(arg)) throw new Error(`Duplicate flag specified: ${arg}`);
      if (kind === 'bool') {
        const v = value.toLowerCase();
        if (v === '') this.#values.set(arg, 'true');
        else if (v === 'true' || v === 'false') this.#values.set(arg, v);
        else throw new Error(`Expecting boolean value for flag ${arg}, not: ${v}`);
      } else {
        if (eq < 0) throw new Error(`Missing a value on flag: ${arg}`);
        this.#values.set(arg, value);
      }
    }
    return this;
  }
}

const atLeastOne = (c: string) => new Error(`${c} requires at least one argument`);
const exactlyOne = (c: string) => new Error(`${c} requires exactly one argument`);
const noDestination = (c: string) =>
  new Error(`${c} requires at least two arguments, but only one was provided. Destination could not be determined.`);

function keyValues(args: string[], cmd: string): KeyValue[] {
  if (args.length === 0) throw atLeastOne(cmd);
  if (args.length % 2 !== 0) throw new Error(`Bad input to ${cmd}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '') throw new Error(`${cmd} names can not be blank`);
    out.push({ key: args[i] as string, value: args[i + 1] as string });
  }
  return out;
}

function commandLine(node: Node): CommandLine {
  const args = node.json ? node.args : node.args.length === 0 ? [] : [node.args.join(' ')];
  return { cmdLine: args, prependShell: !node.json };
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(input: string): number {
  const invalid = () => new Error(`time: invalid duration "${input}"`);
  let s = input;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s) as RegExpExecArray;
    const intPart = m[1] ?? '';
    const fracPart = m[2];
    if (intPart === '' && (fracPart === undefined || fracPart === '')) throw invalid();
    s = s.slice(m[0].length);
    const u = /^[^\d.]*/.exec(s)?.[0] ?? '';
    if (u === '') throw new Error(`time: missing unit in duration "${input}"`);
    const unit = DURATION_UNITS[u];
    if (unit === undefined) throw new Error(`time: unknown unit "${u}" in duration "${input}"`);
    s = s.slice(u.length);
    total += Number(intPart || '0') * unit + (fracPart ? Math.floor(Number(`0.${fracPart}`) * unit) : 0);
  }
  return neg ? -total : total;
}

function interval(flags: Flags, name: string): number {
  const v = flags.get(name);
  if (v === '') return 0;
  const d = parseGoDuration(v);
  if (d < 1e6) throw new Error(`Interval "${name}" cannot be less than 1ms`);
  return d;
}

function healthcheck(node: Node): HealthConfig {
  if (node.args.length === 0) throw atLeastOne('HEALTHCHECK');
  const type = (node.args[0] as string).toUpperCase();
  const args = node.args.slice(1);
  if (type === 'NONE') {
    if (args.length !== 0) throw new Error('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  const flags = new Flags(node.flags).string('interval').string('timeout').string('start-period').string('retries').parse();
  if (type !== 'CMD') throw new Error(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const cmd = node.json ? args : args.length === 0 ? [] : [args.join(' ')];
  if (cmd.length === 0) throw new Error('Missing command after HEALTHCHECK CMD');
  const health: HealthConfig = { Test: [node.json ? 'CMD' : 'CMD-SHELL', ...cmd] };
  health.Interval = interval(flags, 'interval');
  health.Timeout = interval(flags, 'timeout');
  health.StartPeriod = interval(flags, 'start-period');
  const retries = flags.get('retries');
  health.Retries = 0;
  if (retries !== '') {
    const n = /^[+-]?\d+$/.test(retries) ? Number(retries) : NaN;
    if (Number.isNaN(n)) throw new Error(`strconv.ParseInt: parsing "${retries}": invalid syntax`);
    if (n > 2147483647 || n < -2147483648) throw new Error(`strconv.ParseInt: parsing "${retries}": value out of range`);
    if (n < 1) throw new Error(`--retries must be at least 1 (not ${n})`);
    health.Retries = n;
  }
  return health;
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function fromStage(node: Node, src: Source, index: number): Stage {
  const args = node.args;
  let name = '';
  if (args.length === 3 && (args[1] as string).toLowerCase() === 'as') {
    name = (args[2] as string).toLowerCase();
    if (!STAGE_NAME.test(name)) {
      throw new Error(`invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`);
    }
  } else if (args.length !== 1) {
    throw new Error('FROM requires either one or three arguments');
  }
  const flags = new Flags(node.flags).string('platform').parse();
  return { ...src, index, name, baseName: args[0] as string, platform: flags.get('platform'), commands: [] };
}

/** One node as an instruction; FROM is returned as a stage (with index -1, set by the caller). */
export function parseInstruction(node: Node): Instruction | Stage {
  const src: Source = { original: node.original, startLine: node.startLine, endLine: node.endLine };
  const a = node.args;
  const plain = () => new Flags(node.flags).parse();
  switch (node.cmd) {
    case 'env':
      plain();
      return { ...src, kind: 'ENV', env: keyValues(a, 'ENV') };
    case 'maintainer':
      if (a.length !== 1) throw exactlyOne('MAINTAINER');
      plain();
      return { ...src, kind: 'MAINTAINER', maintainer: a[0] as string };
    case 'label':
      plain();
      return { ...src, kind: 'LABEL', labels: keyValues(a, 'LABEL') };
    case 'add': {
      if (a.length < 2) throw noDestination('ADD');
      const f = new Flags(node.flags).string('chown').string('chmod').parse();
      return { ...src, kind: 'ADD', sources: a.slice(0, -1), dest: a[a.length - 1] as string, chown: f.get('chown'), chmod: f.get('chmod') };
    }
    case 'copy': {
      if (a.length < 2) throw noDestination('COPY');
      const f = new Flags(node.flags).string('chown').string('from').string('chmod').parse();
      return {
        ...src, kind: 'COPY', sources: a.slice(0, -1), dest: a[a.length - 1] as string,
        from: f.get('from'), chown: f.get('chown'), chmod: f.get('chmod'),
      };
    }
    case 'from':
      return fromStage(node, src, -1);
    case 'onbuild': {
      if (a.length === 0) throw atLeastOne('ONBUILD');
      plain();
      const trigger = (a[0] as string).trim().toUpperCase();
      if (trigger === 'ONBUILD') throw new Error('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new Error(`${trigger} isn't allowed as an ONBUILD trigger`);
      return { ...src, kind: 'ONBUILD', expression: node.original.replace(/^\s*ONBUILD\s*/i, '') };
    }
    case 'workdir':
      if (a.length !== 1) throw exactlyOne('WORKDIR');
      plain();
      return { ...src, kind: 'WORKDIR', path: a[0] as string };
    case 'run': {
      // --mount is parsed (as buildkit v0.8 does) so that the classic builder can refuse it at its step.
      const used = new Flags(node.flags).string('mount').parse().used();
      return { ...src, kind: 'RUN', ...commandLine(node), ...(used.length ? { flagsUsed: used } : {}) };
    }
    case 'cmd':
      plain();
      return { ...src, kind: 'CMD', ...commandLine(node) };
    case 'entrypoint':
      plain();
      return { ...src, kind: 'ENTRYPOINT', ...commandLine(node) };
    case 'healthcheck':
      return { ...src, kind: 'HEALTHCHECK', health: healthcheck(node) };
    case 'expose':
      if (a.length === 0) throw atLeastOne('EXPOSE');
      plain();
      return { ...src, kind: 'EXPOSE', ports: [...a].sort() };
    case 'user':
      if (a.length !== 1) throw exactlyOne('USER');
      plain();
      return { ...src, kind: 'USER', user: a[0] as string };
    case 'volume': {
      if (a.length === 0) throw atLeastOne('VOLUME');
      plain();
      const volumes = a.map((v) => v.trim());
      if (volumes.includes('')) throw new Error('VOLUME specified can not be an empty string');
      return { ...src, kind: 'VOLUME', volumes };
    }
    case 'stopsignal':
      if (a.length !== 1) throw exactlyOne('STOPSIGNAL');
      return { ...src, kind: 'STOPSIGNAL', signal: a[0] as string };
    case 'arg': {
      if (a.length === 0) throw atLeastOne('ARG');
      const args = a.map((arg): ArgDefinition => {
        const eq = arg.indexOf('=');
        if (eq < 0) return { key: arg };
        if (eq === 0) throw new Error('ARG names can not be blank');
        return { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
      });
      return { ...src, kind: 'ARG', args };
    }
    case 'shell': {
      plain();
      if (a.length === 0) throw atLeastOne('SHELL');
      if (!node.json) throw new Error('SHELL requires the arguments to be in JSON form');
      return { ...src, kind: 'SHELL', shell: a };
    }
    default:
      throw new Error(`unknown instruction: ${node.cmd.toUpperCase()}`);
  }
}

/**
 * The whole Dockerfile as stages. Throws InvalidParameter as dockerd:
 * `dockerfile parse error line N: <reason>` for a bad instruction (unknown ones included),
 * `no build stage in current context` for an instruction other than ARG before the first FROM.
 */
export function parseStages(parsed: ParseResult): Dockerfile {
  const stages: Stage[] = [];
  const metaArgs: InstructionOf<'ARG'>[] = [];
  for (const node of parsed.nodes) {
    let instr: Instruction | Stage;
    try {
      instr = parseInstruction(node);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new DockerfileParseError(`dockerfile parse error line ${node.startLine}: ${msg}`, node.startLine);
    }
    if ('commands' in instr) {
      instr.index = stages.length;
      stages.push(instr);
      continue;
    }
    if (stages.length === 0) {
      if (instr.kind === 'ARG') {
        metaArgs.push(instr);
        continue;
      }
      throw new DockerfileParseError('no build stage in current context', node.startLine);
    }
    (stages[stages.length - 1] as Stage).commands.push(instr);
  }
  return { stages, metaArgs };
}

/** The stages to build for `--target`: up to and including the named one (names ignore case). */
export function selectTarget(stages: Stage[], target: string): Stage[] {
  if (target === '') return stages;
  const i = stages.findIndex((s) => s.name !== '' && s.name === target.toLowerCase());
  if (i < 0) throw new InvalidParameter(`failed to reach build target ${target} in Dockerfile`);
  return stages.slice(0, i + 1);
}

/** The environment variables are expanded with: `KEY=value` strings, later ones winning. */
export type Env = Iterable<string> | ReadonlyMap<string, string>;

/**
 * The instruction with variables substituted where the classic builder substitutes them:
 * ENV and LABEL keys and values, ARG names and defaults, ADD/COPY sources, destination and
 * --chown, WORKDIR, VOLUME, USER and STOPSIGNAL word by word; EXPOSE word to words (`EXPOSE
 * $PORTS` with PORTS="80 443" gives two ports). Other instructions come back unchanged.
 * Throws InvalidParameter (`failed to process "...": ...`) on a bad substitution.
 */
export function expandInstruction<T extends Instruction>(instr: T, lex: ShellLex, env: Env): T {
  const x = (w: string) => lex.processWord(w, env);
  const kv = (pairs: KeyValue[]) => pairs.map((p) => ({ key: x(p.key), value: x(p.value) }));
  const i = instr as Instruction;
  switch (i.kind) {
    case 'ENV':
      return { ...i, env: kv(i.env) } as T;
    case 'LABEL':
      return { ...i, labels: kv(i.labels) } as T;
    case 'ARG':
      return {
        ...i,
        args: i.args.map((d) => (d.value === undefined ? { key: x(d.key) } : { key: x(d.key), value: x(d.value) })),
      } as T;
    case 'ADD':
    case 'COPY':
      return { ...i, chown: x(i.chown), sources: i.sources.map(x), dest: x(i.dest) } as T;
    case 'WORKDIR':
      return { ...i, path: x(i.path) } as T;
    case 'EXPOSE':
      return { ...i, ports: i.ports.flatMap((p) => lex.processWords(p, env)) } as T;
    case 'VOLUME':
      return { ...i, volumes: i.volumes.map(x) } as T;
    case 'USER':
      return { ...i, user: x(i.user) } as T;
    case 'STOPSIGNAL':
      return { ...i, signal: x(i.signal) } as T;
    default:
      return instr;
  }
}

/**
 * FROM's image name and platform, expanded with the meta args only (the ARGs declared
 * before the first FROM, with their build-arg values). An empty name is refused as dockerd does.
 */
export function expandFrom(stage: Stage, lex: ShellLex, metaEnv: Env): { baseName: string; platform: string } {
  const platform = stage.platform === '' ? '' : lex.processWord(stage.platform, metaEnv);
  const baseName = lex.processWord(stage.baseName, metaEnv);
  if (baseName === '') throw new InvalidParameter(`base name (${stage.baseName}) should not be blank`);
  return { baseName, platform };
}
